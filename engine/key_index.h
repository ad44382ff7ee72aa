// The keydir of one namespace: every key's newest record, in key order (architecture §4, §7).
// Two structures over the same entries:
//   - an absl::flat_hash_set of node pointers, for point lookups: a hash, a probe and one key
//     comparison (GET, SET, MGET: the hot path);
//   - an absl::btree_set of pointers to the same nodes ordered by key, for prefix queries
//     (KEYS p*, SCAN MATCH, HTTP ?prefix=) in O(log n + k) and ordered walks.
// Nodes are heap-allocated and never move, so the ordered set's pointers stay valid until
// their key is erased. (A B-tree alone made each lookup ~16 key comparisons, each a cache
// miss on a key stored out of line: two thirds of a shard's CPU under MGET;
// docs/benchmarks.md.) Lookups take a string_view without allocating.
//
// A lookup is a chain of dependent cache misses: the slot, then the node, then the key's
// bytes when they are too long for std::string's inline buffer. A batch of lookups overlaps
// them with the Prefetch* calls, one stage per miss, a few keys apart (LogEngine::ReadAhead).
//
// Hashes are XXH3 with a seed drawn per index, so that keys chosen to collide on one server
// do not collide on another.
//
// It also keeps running totals (keys with an expiry, live record bytes overall and per
// segment, key bytes) so statistics and the reclaim policy never walk the map.
//
// Thread contract: owned by the shard's engine thread; no locking.
#ifndef BEYONDKV_ENGINE_KEY_INDEX_H_
#define BEYONDKV_ENGINE_KEY_INDEX_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <cstddef>
#include <iterator>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "engine/hash_probe.h"

namespace beyondkv::engine {

// Where a key's newest put record lives, and what readers need without reading it.
struct IndexEntry {
  uint64_t segment = 0;        // sequence of the segment file holding the put record
  uint64_t record_offset = 0;  // of the record in that file (may lie in the staging buffer)
  uint32_t record_size = 0;    // bytes of the whole record
  uint32_t value_len = 0;
  uint32_t meta_len = 0;  // bytes of metadata in the record; 0 = none
  // Of the key's last mutation: the put, or a later expire-only record (so it may exceed
  // the revision stored in the put record).
  uint64_t revision = 0;
  int64_t expire_at_ms = 0;  // absolute Unix ms; 0 = no expiry

  // Whether the entry is live at `now_ms` (not expired).
  bool LiveAt(int64_t now_ms) const { return expire_at_ms == 0 || expire_at_ms > now_ms; }

  friend bool operator==(const IndexEntry& a, const IndexEntry& b) {
    return a.segment == b.segment && a.record_offset == b.record_offset &&
           a.record_size == b.record_size && a.value_len == b.value_len &&
           a.meta_len == b.meta_len && a.revision == b.revision && a.expire_at_ms == b.expire_at_ms;
  }
};

class KeyIndex {
 public:
  using value_type = std::pair<const std::string, IndexEntry>;

 private:
  // A slot is a node's address; lookups are HashProbes (engine/hash_probe.h).
  using Slot = value_type*;
  // Hashes a probe by its precomputed hash and a slot by its node's key, with the index's
  // seed (rehashing reads every node, as a node-based map does).
  struct SlotHash {
    using is_transparent = void;
    uint64_t seed = 0;
    size_t operator()(const Slot& s) const { return HashKey(s->first, seed); }
    size_t operator()(const HashProbe& p) const { return p.hash; }
  };
  struct SlotEq {
    using is_transparent = void;
    bool operator()(const Slot& a, const Slot& b) const { return a == b; }
    bool operator()(const Slot& a, const HashProbe& b) const {
      return b.match == ProbeMatch::kControlByte || a->first == b.key;
    }
    bool operator()(const HashProbe& a, const Slot& b) const { return (*this)(b, a); }
  };
  static size_t HashKey(std::string_view key, uint64_t seed);
  // Orders node pointers by their key; transparent, so bounds are found by string_view.
  struct ByKey {
    using is_transparent = void;
    static std::string_view Key(const value_type* v) { return v->first; }
    static std::string_view Key(std::string_view k) { return k; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const { return Key(a) < Key(b); }
  };
  using Entries = absl::flat_hash_set<Slot, SlotHash, SlotEq>;
  using Order = absl::btree_set<const value_type*, ByKey>;

 public:
  // An ordered position: dereferences to the (key, entry) pair. Bidirectional.
  class const_iterator {
   public:
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = KeyIndex::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;

    const_iterator() = default;
    reference operator*() const { return **it_; }
    pointer operator->() const { return *it_; }
    const_iterator& operator++() {
      ++it_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++it_;
      return old;
    }
    const_iterator& operator--() {
      --it_;
      return *this;
    }
    const_iterator operator--(int) {
      const_iterator old = *this;
      --it_;
      return old;
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) {
      return a.it_ == b.it_;
    }
    friend bool operator!=(const const_iterator& a, const const_iterator& b) {
      return a.it_ != b.it_;
    }

   private:
    friend class KeyIndex;
    explicit const_iterator(Order::const_iterator it) : it_(it) {}
    Order::const_iterator it_;
  };

  KeyIndex();
  ~KeyIndex();
  KeyIndex(KeyIndex&& other) noexcept;
  KeyIndex& operator=(KeyIndex&& other) noexcept;
  KeyIndex(const KeyIndex&) = delete;
  KeyIndex& operator=(const KeyIndex&) = delete;

  // The entry for `key`, or nullptr. The pointer is valid until the next mutation.
  const IndexEntry* Find(std::string_view key) const { return Find(key, Hash(key)); }
  // The same with `hash` = Hash(key) computed already.
  const IndexEntry* Find(std::string_view key, size_t hash) const;

  // The hash this index files `key` under (seeded per index; not stable across indexes).
  size_t Hash(std::string_view key) const;

  // Batched lookups. Each call starts loading one level of what Find(key, hash) will read
  // into the CPU cache and returns without waiting; none changes anything. In order, each
  // a few keys after the previous one for the same key, so that what it reads has arrived:
  //   PrefetchProbe: the control bytes of the key's probe (and the first slots);
  //   PrefetchSlot: the slot whose control byte matches (reads only control bytes);
  //   PrefetchNode: the node the slot points to (reads the slot);
  //   PrefetchKeyBytes: a long key's bytes, stored outside the node (reads the node).
  // A batch that runs the stages a few keys apart pays its cache misses in parallel instead of
  // one after the other (LogEngine::ReadAhead).
  void PrefetchProbe(size_t hash) const { engine::PrefetchProbe(entries_, hash); }
  void PrefetchSlot(size_t hash) const { engine::PrefetchSlot(entries_, hash); }
  void PrefetchNode(size_t hash) const;
  void PrefetchKeyBytes(size_t hash) const;

  // Inserts or replaces `key`'s entry; returns the entry it replaced, if any.
  std::optional<IndexEntry> Upsert(std::string_view key, const IndexEntry& entry) {
    return Upsert(key, Hash(key), entry);
  }
  // The same with `hash` = Hash(key) computed already.
  std::optional<IndexEntry> Upsert(std::string_view key, size_t hash, const IndexEntry& entry);
  // Upsert without the lookup: replaces the entry `at`, which Find(key) returned and which is
  // still `key`'s (the key was not erased since), with `entry`; returns the entry replaced.
  IndexEntry Replace(const IndexEntry* at, std::string_view key, const IndexEntry& entry);

  // The seed Hash() uses. It changes only when the index is moved from or assigned to, so a
  // hash taken earlier is still Hash(key) while hash_seed() reads the same.
  uint64_t hash_seed() const { return entries_.hash_function().seed; }

  // Removes `key`; returns the removed entry, if any.
  std::optional<IndexEntry> Erase(std::string_view key);

  // Removes the entry at `it`; returns the iterator following it. Other iterators are
  // invalidated.
  const_iterator Erase(const_iterator it);

  // Removes every entry.
  void Clear();

  // Ordered walks. Iterators are invalidated by any mutation.
  const_iterator begin() const { return const_iterator(order_.begin()); }
  const_iterator end() const { return const_iterator(order_.end()); }
  const_iterator LowerBound(std::string_view key) const {
    return const_iterator(order_.lower_bound(key));
  }
  const_iterator UpperBound(std::string_view key) const {
    return const_iterator(order_.upper_bound(key));
  }

  // Changes whenever a key is added or removed (or the index is moved), but not when an
  // existing key's entry is replaced: a pointer from Find() stays valid, and reads the key's
  // current entry, while version() reads the same; a Find() that returned nullptr would
  // still return it. (LogEngine's read-ahead memo relies on both.)
  uint64_t version() const { return version_; }

  // Number of keys, expired ones included until they are erased.
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Keys whose entry has an expiry.
  uint64_t expires() const { return expires_; }
  // Sum of record_size over all entries.
  uint64_t live_bytes() const { return live_bytes_; }
  // Sum of record_size over the entries whose record is in segment `sequence`.
  uint64_t SegmentLiveBytes(uint64_t sequence) const;
  // An estimate of the memory the index uses: hash nodes and buckets, ordered-set nodes and
  // key bytes on the heap.
  uint64_t EstimatedMemoryBytes() const;

 private:
  void Account(std::string_view key, const IndexEntry& entry, int sign);
  void DeleteNodes();

  Entries entries_;
  Order order_;
  uint64_t expires_ = 0;
  uint64_t live_bytes_ = 0;
  uint64_t key_heap_bytes_ = 0;  // bytes of keys too long for std::string's inline buffer
  absl::flat_hash_map<uint64_t, uint64_t> segment_live_bytes_;
  uint64_t version_ = 0;  // version()
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_KEY_INDEX_H_
