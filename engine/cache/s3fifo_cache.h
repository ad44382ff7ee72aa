// The shard's value cache (architecture §5): S3-FIFO, from Yang et al., "FIFO queues are all
// you need for cache eviction", SOSP 2023 (below "the paper"). Three FIFO queues: a small queue
// S (about 10% of the budget) that every new key enters, a main queue M for keys that proved
// themselves in S, and a ghost queue G that remembers only the keys recently evicted from S.
// One-hit wonders leave through S quickly without touching M ("quick demotion"); M is FIFO with
// reinsertion driven by a 2-bit access counter ("lazy promotion"). The algorithm as built, its
// deviations from the paper and measurements: docs/cache.md.
//
// Budgeted in bytes: each entry costs key + value + kEntryOverheadBytes (cache_entry.h), and
// bytes() <= budget_bytes() always holds. The ghost queue stores 4-byte key fingerprints, not
// keys, and is not charged to the budget (about 20 bytes per ghost key; docs/cache.md).
//
// Values are tagged with the key's revision, so a value written over in the log is never served:
// a lookup with another revision is a miss.
//
// Thread contract: owned by the shard's engine thread; no locking. Not copyable or movable.
#ifndef BEYONDKV_ENGINE_CACHE_S3FIFO_CACHE_H_
#define BEYONDKV_ENGINE_CACHE_S3FIFO_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "engine/cache/cache_entry.h"

namespace beyondkv::engine {

class S3FifoCache {
 public:
  // A cache of at most `budget_bytes`. S gets round(budget_bytes * small_fraction) of it
  // (clamped to [0, 1]; the paper's 10% by default), M the rest.
  explicit S3FifoCache(uint64_t budget_bytes, double small_fraction = 0.1);
  ~S3FifoCache();
  S3FifoCache(const S3FifoCache&) = delete;
  S3FifoCache& operator=(const S3FifoCache&) = delete;

  // The cached value of `key` if it is present and was stored with `revision`; counts a hit and
  // bumps the key's access counter (capped at 3). nullptr if absent, or if present with another
  // revision, in which case the stale entry is dropped; either counts a miss. The pointer is
  // valid until the next non-const call.
  const std::string* Get(std::string_view key, uint64_t revision) {
    return Get(key, Hash(key), revision);
  }
  // The same with `hash` = Hash(key) computed already.
  const std::string* Get(std::string_view key, uint64_t hash, uint64_t revision);

  // Whether Get(key, revision) would hit, without counting a hit or miss or touching the
  // access counter (the engine asks before reading a record ahead).
  bool Contains(std::string_view key, uint64_t revision) const {
    return Contains(key, Hash(key), revision);
  }
  // The same with `hash` = Hash(key) computed already.
  bool Contains(std::string_view key, uint64_t hash, uint64_t revision) const {
    return Find(key, hash, revision) != nullptr;
  }

  // Lookups split in two, for a caller that looks a batch of keys up ahead of reading them
  // (LogEngine's read-ahead memo): Find() is Contains() returning the entry, Hit() is what
  // Get() does on a hit. A handle stays valid while version() reads the same; the entry's
  // value may still be replaced meanwhile (Insert of the same key), which Hit() detects by
  // the revision.
  using Handle = const cache_internal::CacheEntry*;
  // The entry of `key` if it is cached with `revision`, else nullptr; counts nothing.
  Handle Find(std::string_view key, uint64_t hash, uint64_t revision) const;
  // The entry of `key` whatever its revision, else nullptr; counts nothing (for a write that
  // will replace the value: Insert takes it).
  Handle FindAny(std::string_view key, uint64_t hash) const;
  // Get()'s hit for a handle from Find(): counts a hit, bumps the access counter, returns the
  // value (valid until the next non-const call). nullptr, counting nothing, if the entry now
  // holds a value of another revision than `revision`.
  const std::string* Hit(Handle handle, uint64_t revision);
  // Changes whenever an entry is freed (evicted, dropped, erased): handles from Find() are
  // valid exactly while it reads the same.
  uint64_t version() const { return version_; }
  // Starts loading the first kPrefetchValueBytes of the handle's value into the CPU cache
  // (a read-ahead that will copy the value soon: the copy then does not stall on memory).
  static void PrefetchValue(Handle handle);
  static constexpr size_t kPrefetchValueBytes = 1024;

  // Batched lookups (see KeyIndex::PrefetchProbe): Hash(key), then PrefetchProbe,
  // PrefetchSlot and PrefetchEntry, each a few keys after the one before, start loading what
  // Get/Contains(key) will read into the CPU cache without waiting. They change nothing.
  static uint64_t Hash(std::string_view key) { return cache_internal::HashKey(key); }
  void PrefetchProbe(uint64_t hash) const { index_.PrefetchProbe(hash); }
  void PrefetchSlot(uint64_t hash) const { index_.PrefetchSlot(hash); }
  void PrefetchEntry(uint64_t hash) const { index_.PrefetchEntry(hash); }

  // Caches `value` as `key`'s value at `revision`, evicting as needed. A key in G (evicted from
  // S not long ago) enters M, any other key enters S. If `key` is already cached, its value and
  // revision are replaced and it keeps its place in its queue and its counter (a write is not
  // a read), unless the new value needs evictions: then it re-enters the front of its queue. Returns false, caching nothing and dropping any entry of `key`, if the entry's charge
  // (key + value + kEntryOverheadBytes) exceeds S's budget: such a value would flush S alone.
  // A replaced value's string is reused (no allocation) unless it is much larger than the new
  // one: capacity beyond the value is memory the charge does not count.
  bool Insert(std::string_view key, uint64_t revision, std::string_view value) {
    return Insert(key, Hash(key), revision, value);
  }
  // The same with `hash` = Hash(key) computed already, and optionally `entry` = FindAny()'s
  // answer for the key, still valid (version() unchanged), to skip the lookup.
  bool Insert(std::string_view key, uint64_t hash, uint64_t revision, std::string_view value,
              Handle entry = nullptr);

  // Drops `key` from the cache and from G, if there.
  void Erase(std::string_view key);

  uint64_t bytes() const { return small_.bytes() + main_.bytes(); }  // charged bytes held
  uint64_t budget_bytes() const { return budget_bytes_; }
  uint64_t small_budget_bytes() const { return small_budget_bytes_; }
  uint64_t hits() const { return hits_; }      // Get calls that returned a value
  uint64_t misses() const { return misses_; }  // Get calls that returned nullptr
  size_t entries() const { return index_.size(); }
  size_t small_entries() const { return small_.size(); }
  size_t main_entries() const { return main_.size(); }
  size_t ghost_entries() const { return ghost_index_.size(); }

 private:
  friend class S3FifoCachePeer;  // tests read entries' queues and counters

  using Entry = cache_internal::CacheEntry;
  enum Queue : uint8_t { kSmall = 0, kMain = 1 };

  // Evicts one entry (paper, Algorithm 1, EVICT): from S while S holds at least its share of
  // the budget, else from M.
  void EvictOne();
  void EvictSmall();  // Algorithm 1, EVICTS
  void EvictMain();   // Algorithm 1, EVICTM
  // Unlinks `entry` from its queue and index and frees it.
  void Drop(Entry* entry);
  void Link(Entry* entry);

  // G: fingerprints (the top 32 bits of the key hash) of the keys most recently evicted from
  // S, oldest first, and for each live one its position in that sequence (mod 2^32). A
  // position whose key was since taken out of G (on a ghost hit or Erase) stays in the deque as
  // a dead slot until it reaches the front. Two keys sharing a fingerprint (odds about
  // ghost_entries() / 2^32 per insert) only send a new key to M instead of S.
  void GhostPush(uint64_t hash, uint64_t victim_charge);
  bool GhostTake(uint64_t hash);  // removes the key of `hash` from G; whether it was there

  const uint64_t budget_bytes_;
  const uint64_t small_budget_bytes_;
  const uint64_t main_budget_bytes_;

  cache_internal::CacheIndex index_;
  cache_internal::CacheQueue small_;
  cache_internal::CacheQueue main_;

  std::deque<uint32_t> ghost_fifo_;
  uint32_t ghost_next_position_ = 0;  // of the next fingerprint pushed; wraps
  absl::flat_hash_map<uint32_t, uint32_t> ghost_index_;  // fingerprint -> position

  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  uint64_t version_ = 0;  // entries freed so far (version())
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_CACHE_S3FIFO_CACHE_H_
