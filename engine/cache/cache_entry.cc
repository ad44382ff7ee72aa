#include "engine/cache/cache_entry.h"

// XXH3 compiled into this file (static inline) rather than called in libxxhash: keys are
// short, and for them the call and the library's dispatch cost more than the hash itself.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstring>
#include <new>
#include <utility>

#include "absl/base/internal/prefetch.h"
#include "common/random_seed.h"
#include "glog/logging.h"

namespace beyondkv::engine::cache_internal {

static_assert(sizeof(CacheEntry) == 72, "update kEntryOverheadBytes and docs/cache.md");
static_assert(alignof(CacheEntry) <= alignof(std::max_align_t));

uint64_t HashKey(std::string_view key) {
  // Seeded per process: keys a client picks cannot be made to collide in the index.
  static const uint64_t seed = ProcessRandomSeed();
  return XXH3_64bits_withSeed(key.data(), key.size(), seed);
}

CacheEntry* CacheEntry::New(std::string_view key, uint64_t hash, uint64_t revision,
                            std::string value) {
  DCHECK_LT(key.size(), uint64_t{1} << 32);
  void* block = ::operator new(sizeof(CacheEntry) + key.size());
  auto* entry = new (block) CacheEntry();
  entry->hash = hash;
  entry->revision = revision;
  entry->value = std::move(value);
  entry->key_size = static_cast<uint32_t>(key.size());
  if (!key.empty()) std::memcpy(reinterpret_cast<char*>(entry + 1), key.data(), key.size());
  return entry;
}

void CacheIndex::PrefetchEntry(uint64_t hash) const {
  const CacheEntry* entry = FirstCandidate(set_, hash);
  if (entry == nullptr) return;
  // The node spans two cache lines: links, hash, revision and the value's inline buffer, then
  // the key's size and (up to 56 bytes of) the key.
  const char* bytes = reinterpret_cast<const char*>(entry);
  absl::base_internal::PrefetchT0(bytes);
  absl::base_internal::PrefetchT0(bytes + 64);
}

void CacheEntry::Delete(CacheEntry* entry) {
  entry->~CacheEntry();
  ::operator delete(entry);
}

void CacheQueue::PushFront(CacheEntry* entry) {
  DCHECK(entry->prev == nullptr && entry->next == nullptr);
  entry->prev = &sentinel_;
  entry->next = sentinel_.next;
  sentinel_.next->prev = entry;
  sentinel_.next = entry;
  ++size_;
  bytes_ += entry->charge();
}

void CacheQueue::Remove(CacheEntry* entry) {
  DCHECK(entry->prev != nullptr && entry->next != nullptr);
  entry->prev->next = entry->next;
  entry->next->prev = entry->prev;
  entry->prev = entry->next = nullptr;
  --size_;
  bytes_ -= entry->charge();
}

}  // namespace beyondkv::engine::cache_internal
