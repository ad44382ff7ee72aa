// A plain LRU value cache: the baseline S3FifoCache is measured against (docs/cache.md). Same
// contract as S3FifoCache: byte-budgeted with the same per-entry charge (cache_entry.h), values
// tagged with the key's revision, a stale revision is a miss and drops the entry.
//
// Thread contract: owned by one thread; no locking. Not copyable or movable.
#ifndef BEYONDKV_ENGINE_CACHE_LRU_CACHE_H_
#define BEYONDKV_ENGINE_CACHE_LRU_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/cache/cache_entry.h"

namespace beyondkv::engine {

class LruCache {
 public:
  explicit LruCache(uint64_t budget_bytes);
  ~LruCache();
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  // The cached value of `key` if present and stored with `revision`; counts a hit and makes the
  // entry the most recently used. nullptr if absent, or present with another revision (the
  // stale entry is dropped); either counts a miss. Valid until the next non-const call.
  const std::string* Get(std::string_view key, uint64_t revision);

  // Caches `value` as `key`'s value at `revision` as the most recently used entry, evicting the
  // least recently used ones as needed; replaces an entry of `key`. Returns false, caching
  // nothing and dropping any entry of `key`, if the entry's charge exceeds the budget.
  bool Insert(std::string_view key, uint64_t revision, std::string value);

  // Drops `key`, if cached.
  void Erase(std::string_view key);

  uint64_t bytes() const { return queue_.bytes(); }
  uint64_t budget_bytes() const { return budget_bytes_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  size_t entries() const { return index_.size(); }

 private:
  using Entry = cache_internal::CacheEntry;

  void Drop(Entry* entry);

  const uint64_t budget_bytes_;
  cache_internal::CacheIndex index_;
  cache_internal::CacheQueue queue_;  // front: most recently used
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_CACHE_LRU_CACHE_H_
