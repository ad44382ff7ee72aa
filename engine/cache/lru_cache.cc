#include "engine/cache/lru_cache.h"

#include <limits>
#include <utility>

#include "glog/logging.h"

namespace beyondkv::engine {

using cache_internal::EntryCharge;
using cache_internal::HashKey;

LruCache::LruCache(uint64_t budget_bytes) : budget_bytes_(budget_bytes) {}

LruCache::~LruCache() { queue_.Drain(&Entry::Delete); }

const std::string* LruCache::Get(std::string_view key, uint64_t revision) {
  Entry* entry = index_.Find(key, HashKey(key));
  if (entry == nullptr) {
    ++misses_;
    return nullptr;
  }
  if (entry->revision != revision) {
    Drop(entry);
    ++misses_;
    return nullptr;
  }
  queue_.Remove(entry);
  queue_.PushFront(entry);
  ++hits_;
  return &entry->value;
}

bool LruCache::Insert(std::string_view key, uint64_t revision, std::string value) {
  const uint64_t charge = EntryCharge(key.size(), value.size());
  const uint64_t hash = HashKey(key);
  Entry* entry = index_.Find(key, hash);
  if (charge > budget_bytes_ || key.size() > std::numeric_limits<uint32_t>::max()) {
    if (entry != nullptr) Drop(entry);
    return false;
  }
  if (entry != nullptr) {
    queue_.Remove(entry);  // so that the eviction below cannot pick it
    entry->value = std::move(value);
    entry->revision = revision;
  } else {
    entry = Entry::New(key, hash, revision, std::move(value));
    index_.Insert(entry);
  }
  while (queue_.bytes() + charge > budget_bytes_) {
    Entry* victim = queue_.back();
    queue_.Remove(victim);
    index_.Erase(victim);
    Entry::Delete(victim);
  }
  queue_.PushFront(entry);
  DCHECK_LE(bytes(), budget_bytes_);
  return true;
}

void LruCache::Erase(std::string_view key) {
  if (Entry* entry = index_.Find(key, HashKey(key))) Drop(entry);
}

void LruCache::Drop(Entry* entry) {
  queue_.Remove(entry);
  index_.Erase(entry);
  Entry::Delete(entry);
}

}  // namespace beyondkv::engine
