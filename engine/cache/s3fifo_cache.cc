#include "engine/cache/s3fifo_cache.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/base/internal/prefetch.h"
#include "glog/logging.h"

namespace beyondkv::engine {
namespace {

using cache_internal::EntryCharge;
using cache_internal::HashKey;

// The access counter has two bits (paper, sec. 4.1: "two bits per object ... similar to a
// capped counter with frequency up to 3").
constexpr uint8_t kMaxFrequency = 3;

// An entry leaves S for M when its counter exceeds 1, i.e. after two hits in S (paper,
// Algorithm 1, EVICTS: "if t.freq > 1 then insert t to M"; libCacheSim's S3FIFO default
// move-to-main-threshold=2). docs/cache.md gives the miss ratios of the "> 0" variant too.
constexpr uint8_t kMoveToMainThreshold = 2;

// Insert reuses a replaced value's buffer when its capacity is at most twice the new value's
// size plus this: a bounded slack the charge does not count.
constexpr size_t kMaxReusedSlackBytes = 64;

uint32_t Fingerprint(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }

uint64_t SmallBudget(uint64_t budget_bytes, double small_fraction) {
  if (!(small_fraction > 0)) return 0;  // also NaN
  if (small_fraction >= 1) return budget_bytes;
  return std::min<uint64_t>(
      budget_bytes, static_cast<uint64_t>(std::llround(budget_bytes * small_fraction)));
}

}  // namespace

S3FifoCache::S3FifoCache(uint64_t budget_bytes, double small_fraction)
    : budget_bytes_(budget_bytes),
      small_budget_bytes_(SmallBudget(budget_bytes, small_fraction)),
      main_budget_bytes_(budget_bytes - small_budget_bytes_) {}

S3FifoCache::~S3FifoCache() {
  small_.Drain(&Entry::Delete);
  main_.Drain(&Entry::Delete);
}

const std::string* S3FifoCache::Get(std::string_view key, uint64_t hash, uint64_t revision) {
  Entry* entry = index_.Find(key, hash);
  if (entry == nullptr) {
    ++misses_;
    return nullptr;
  }
  if (entry->revision != revision) {
    // The log holds a newer (or other) value: this one must never be served again.
    Drop(entry);
    ++misses_;
    return nullptr;
  }
  // Paper, Algorithm 1, READ: a hit only bumps the counter; nothing moves until eviction.
  if (entry->freq < kMaxFrequency) ++entry->freq;
  ++hits_;
  return &entry->value;
}

S3FifoCache::Handle S3FifoCache::Find(std::string_view key, uint64_t hash,
                                      uint64_t revision) const {
  const Entry* entry = index_.Find(key, hash);
  return entry != nullptr && entry->revision == revision ? entry : nullptr;
}

S3FifoCache::Handle S3FifoCache::FindAny(std::string_view key, uint64_t hash) const {
  return index_.Find(key, hash);
}

void S3FifoCache::PrefetchValue(Handle handle) {
  const char* data = handle->value.data();
  const size_t bytes = std::min(handle->value.size(), kPrefetchValueBytes);
  for (size_t offset = 0; offset < bytes; offset += 64) {
    absl::base_internal::PrefetchT0(data + offset);
  }
}

const std::string* S3FifoCache::Hit(Handle handle, uint64_t revision) {
  if (handle->revision != revision) return nullptr;
  // The handle came from this cache's own entries (Find), and the caller holds no other
  // reference: what Get() would have done on finding it.
  Entry* entry = const_cast<Entry*>(handle);
  if (entry->freq < kMaxFrequency) ++entry->freq;
  ++hits_;
  return &entry->value;
}

bool S3FifoCache::Insert(std::string_view key, uint64_t hash, uint64_t revision,
                         std::string_view value, Handle known) {
  DCHECK_EQ(hash, HashKey(key));
  DCHECK(known == nullptr || known == index_.Find(key, hash));
  const uint64_t charge = EntryCharge(key.size(), value.size());
  // The index owns its entries; `known` is one of them.
  Entry* entry = known != nullptr ? const_cast<Entry*>(known) : index_.Find(key, hash);
  if (charge > small_budget_bytes_ || key.size() > std::numeric_limits<uint32_t>::max()) {
    if (entry != nullptr) Drop(entry);
    return false;
  }
  if (entry != nullptr) {
    cache_internal::CacheQueue& queue = entry->queue == kSmall ? small_ : main_;
    const uint64_t old_charge = entry->charge();
    // Unlinking an entry touches both its neighbours (two cache misses for a key written
    // again): only done when the new value needs evictions, so that they cannot pick it.
    const bool in_place = bytes() - old_charge + charge <= budget_bytes_;
    if (!in_place) queue.Remove(entry);
    if (entry->value.capacity() > 2 * value.size() + kMaxReusedSlackBytes) {
      std::string(value).swap(entry->value);  // frees the old buffer (move-assigning a short
                                              // string would copy into it and keep it)
    } else {
      entry->value.assign(value);
    }
    entry->revision = revision;
    if (in_place) {
      queue.Recharge(old_charge, charge);
      DCHECK_LE(bytes(), budget_bytes_);
      return true;
    }
  } else {
    entry = Entry::New(key, hash, revision, std::string(value));
    // Paper, Algorithm 1, INSERT: a key found in G goes to M, any other to S. G is consulted
    // before evicting, so the evictions made for this insert cannot push the key out of G.
    entry->queue = GhostTake(hash) ? kMain : kSmall;
    index_.Insert(entry);
  }
  while (bytes() + charge > budget_bytes_) EvictOne();
  Link(entry);
  DCHECK_LE(bytes(), budget_bytes_);
  return true;
}

void S3FifoCache::Erase(std::string_view key) {
  const uint64_t hash = HashKey(key);
  if (Entry* entry = index_.Find(key, hash)) Drop(entry);
  GhostTake(hash);
}

void S3FifoCache::EvictOne() {
  // Paper, Algorithm 1, EVICT: "if S.size >= 0.1 * cache size then EVICTS else EVICTM",
  // falling back to the other queue when the chosen one is empty.
  if (!small_.empty() && (small_.bytes() >= small_budget_bytes_ || main_.empty())) {
    EvictSmall();
  } else {
    EvictMain();
  }
}

void S3FifoCache::EvictSmall() {
  while (!small_.empty()) {
    Entry* tail = small_.back();
    small_.Remove(tail);
    if (tail->freq >= kMoveToMainThreshold) {
      // Paper, sec. 4.1: the access bits are cleared during the move.
      tail->freq = 0;
      tail->queue = kMain;
      main_.PushFront(tail);
      if (main_.bytes() > main_budget_bytes_) EvictMain();
    } else {
      // Quick demotion: a key not reused while in S leaves the cache; G remembers it.
      GhostPush(tail->hash, tail->charge());
      index_.Erase(tail);
      Entry::Delete(tail);
      ++version_;
      return;
    }
  }
}

void S3FifoCache::EvictMain() {
  // FIFO-Reinsertion with a 2-bit counter (paper, sec. 4.1; Algorithm 1, EVICTM). Ends after at
  // most kMaxFrequency + 1 passes over M, and each reinsertion spends a hit, so eviction is
  // amortized O(1).
  while (!main_.empty()) {
    Entry* tail = main_.back();
    main_.Remove(tail);
    if (tail->freq > 0) {
      --tail->freq;
      main_.PushFront(tail);
    } else {
      index_.Erase(tail);
      Entry::Delete(tail);
      ++version_;
      return;
    }
  }
}

void S3FifoCache::Drop(Entry* entry) {
  (entry->queue == kSmall ? small_ : main_).Remove(entry);
  index_.Erase(entry);
  Entry::Delete(entry);
  ++version_;
}

void S3FifoCache::Link(Entry* entry) { (entry->queue == kSmall ? small_ : main_).PushFront(entry); }

void S3FifoCache::GhostPush(uint64_t hash, uint64_t victim_charge) {
  // Paper, sec. 4.1: G holds as many keys as M holds entries. In bytes, that is the number of
  // entries of the current mean charge (the victim's included) that M's budget holds. Counting
  // on M's actual entries instead would leave G empty, and S3-FIFO a plain small FIFO, while
  // M is still empty.
  const double mean_charge = static_cast<double>(bytes() + victim_charge) /
                             static_cast<double>(small_.size() + main_.size() + 1);
  // Positions are 32-bit, so G must hold fewer than 2^32 of them (a cap reached only past a
  // 256 GiB budget).
  const auto capacity = static_cast<size_t>(
      std::min(static_cast<double>(main_budget_bytes_) / mean_charge, double{1u << 31}));
  if (capacity > 0) {
    const uint32_t fingerprint = Fingerprint(hash);
    ghost_index_[fingerprint] = ghost_next_position_++;
    ghost_fifo_.push_back(fingerprint);
  }
  while (ghost_fifo_.size() > capacity) {
    const uint32_t front_position =
        ghost_next_position_ - static_cast<uint32_t>(ghost_fifo_.size());
    auto it = ghost_index_.find(ghost_fifo_.front());
    if (it != ghost_index_.end() && it->second == front_position) ghost_index_.erase(it);
    ghost_fifo_.pop_front();
  }
}

bool S3FifoCache::GhostTake(uint64_t hash) { return ghost_index_.erase(Fingerprint(hash)) > 0; }

}  // namespace beyondkv::engine
