// The parts the value caches (S3FifoCache, LruCache) share: the entry node that holds one
// cached value, the intrusive queue that orders entries, the index that finds them by key, and
// what an entry is charged against a byte budget. Internal to engine/cache/.
//
// One allocation per entry: the key bytes live right after the node (no separate key string),
// and the value string is moved in from the caller. The queues are intrusive, so moving an
// entry between or within queues allocates nothing.
//
// Thread contract: like the caches, owned by the shard's engine thread; no locking.
#ifndef BEYONDKV_ENGINE_CACHE_CACHE_ENTRY_H_
#define BEYONDKV_ENGINE_CACHE_CACHE_ENTRY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "engine/hash_probe.h"

namespace beyondkv::engine::cache_internal {

// Bytes charged for one cached entry on top of its key and value bytes: what the entry costs in
// memory besides the bytes themselves, on LP64 with glibc malloc (docs/cache.md, "Per-entry
// overhead"): the node (sizeof(CacheEntry), 72 bytes), the malloc header and rounding of the
// node block (~16) and of the value's heap block (~16), and the index slot (an 8-byte pointer
// plus a control byte, at a load factor between 7/16 and 7/8: ~16). 72 + 16 + 16 + 16 = 120,
// rounded up to 128.
inline constexpr uint64_t kEntryOverheadBytes = 128;

// What an entry of `key_bytes` + `value_bytes` costs against a cache's byte budget.
inline uint64_t EntryCharge(size_t key_bytes, size_t value_bytes) {
  return static_cast<uint64_t>(key_bytes) + value_bytes + kEntryOverheadBytes;
}

// 64-bit hash of a key (XXH3, seeded once per process with ProcessRandomSeed()); computed once
// per operation and kept in the entry.
uint64_t HashKey(std::string_view key);

// Links of an intrusive, circular, doubly linked list. A CacheQueue's sentinel is a bare
// CacheLinks; every other node is a CacheEntry.
struct CacheLinks {
  CacheLinks* prev = nullptr;
  CacheLinks* next = nullptr;
};

// One cached value. Allocated by New() with the key stored after the node; freed by Delete().
struct CacheEntry : CacheLinks {
  uint64_t hash = 0;      // HashKey(key())
  uint64_t revision = 0;  // the key's revision the value belongs to
  std::string value;
  uint32_t key_size = 0;
  uint8_t freq = 0;   // S3-FIFO: capped access counter, 0..3
  uint8_t queue = 0;  // S3-FIFO: which queue holds the entry

  std::string_view key() const {
    return std::string_view(reinterpret_cast<const char*>(this + 1), key_size);
  }
  uint64_t charge() const { return EntryCharge(key_size, value.size()); }

  // A new entry, linked nowhere. `key` must be shorter than 4 GiB.
  static CacheEntry* New(std::string_view key, uint64_t hash, uint64_t revision,
                         std::string value);
  static void Delete(CacheEntry* entry);
};

// An intrusive FIFO/LRU list of entries with their total charge. The front is the newest end
// (the paper's "head"), the back the oldest ("tail"), where eviction looks. Does not own the
// entries.
class CacheQueue {
 public:
  CacheQueue() { sentinel_.prev = sentinel_.next = &sentinel_; }
  CacheQueue(const CacheQueue&) = delete;
  CacheQueue& operator=(const CacheQueue&) = delete;

  bool empty() const { return sentinel_.next == &sentinel_; }
  size_t size() const { return size_; }
  uint64_t bytes() const { return bytes_; }

  // The oldest entry; the queue must not be empty.
  CacheEntry* back() const { return static_cast<CacheEntry*>(sentinel_.prev); }

  // Links `entry`, which must be in no queue, at the front.
  void PushFront(CacheEntry* entry);
  // Unlinks `entry`, which must be in this queue.
  void Remove(CacheEntry* entry);
  // An entry of this queue, left where it is, now charges `new_charge` instead of
  // `old_charge` (its value was replaced).
  void Recharge(uint64_t old_charge, uint64_t new_charge) { bytes_ += new_charge - old_charge; }

  // Unlinks and returns every entry, oldest first, through `fn(CacheEntry*)`.
  template <typename Fn>
  void Drain(Fn fn) {
    while (!empty()) {
      CacheEntry* entry = back();
      Remove(entry);
      fn(entry);
    }
  }

 private:
  CacheLinks sentinel_;
  size_t size_ = 0;
  uint64_t bytes_ = 0;
};

// Finds entries by key without allocating: looked up by (key, precomputed hash). Does not own
// the entries.
class CacheIndex {
 public:
  // The entry for `key` (whose hash is `hash`), or nullptr.
  CacheEntry* Find(std::string_view key, uint64_t hash) const {
    auto it = set_.find(HashProbe{key, hash});
    return it == set_.end() ? nullptr : *it;
  }
  // Start loading what Find(key, hash) will read into the CPU cache, and return without
  // waiting (see KeyIndex::PrefetchProbe), each once the previous one's data has arrived:
  // the probe's control bytes, the slot they point to, the entry the slot points to.
  void PrefetchProbe(uint64_t hash) const { engine::PrefetchProbe(set_, hash); }
  void PrefetchSlot(uint64_t hash) const { engine::PrefetchSlot(set_, hash); }
  void PrefetchEntry(uint64_t hash) const;
  // Adds `entry`, whose key must not be present.
  void Insert(CacheEntry* entry) { set_.insert(entry); }
  // Removes `entry`, which must be present.
  void Erase(CacheEntry* entry) { set_.erase(entry); }
  size_t size() const { return set_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(const CacheEntry* e) const { return e->hash; }
    size_t operator()(const HashProbe& p) const { return p.hash; }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(const CacheEntry* a, const CacheEntry* b) const { return a == b; }
    bool operator()(const CacheEntry* a, const HashProbe& b) const {
      return b.match == ProbeMatch::kControlByte || (a->hash == b.hash && a->key() == b.key);
    }
    bool operator()(const HashProbe& a, const CacheEntry* b) const { return (*this)(b, a); }
  };
  absl::flat_hash_set<CacheEntry*, Hash, Eq> set_;
};

}  // namespace beyondkv::engine::cache_internal

#endif  // BEYONDKV_ENGINE_CACHE_CACHE_ENTRY_H_
