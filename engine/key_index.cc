#include "engine/key_index.h"

#include <algorithm>
#include <utility>

#include "absl/base/internal/prefetch.h"
#include "common/random_seed.h"
#include "glog/logging.h"
// XXH3 compiled into this file (static inline) rather than called in libxxhash: keys are
// short, and for them the call and the library's dispatch cost more than the hash itself.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace beyondkv::engine {
namespace {

// libstdc++ keeps strings of up to 15 bytes inside the std::string object.
constexpr size_t kInlineKeyBytes = 15;

}  // namespace

KeyIndex::KeyIndex() : entries_(0, SlotHash{NewRandomSeed()}, SlotEq{}) {}

KeyIndex::~KeyIndex() { DeleteNodes(); }

KeyIndex::KeyIndex(KeyIndex&& other) noexcept
    : entries_(std::move(other.entries_)),
      order_(std::move(other.order_)),
      expires_(std::exchange(other.expires_, 0)),
      live_bytes_(std::exchange(other.live_bytes_, 0)),
      key_heap_bytes_(std::exchange(other.key_heap_bytes_, 0)),
      segment_live_bytes_(std::move(other.segment_live_bytes_)),
      version_(other.version_ + 1) {
  ++other.version_;
  other.entries_ = Entries(0, SlotHash{NewRandomSeed()}, SlotEq{});
  other.order_.clear();
  other.segment_live_bytes_.clear();
}

KeyIndex& KeyIndex::operator=(KeyIndex&& other) noexcept {
  if (this != &other) {
    Clear();
    entries_.swap(other.entries_);  // the seed travels with the hasher
    order_.swap(other.order_);
    std::swap(expires_, other.expires_);
    std::swap(live_bytes_, other.live_bytes_);
    std::swap(key_heap_bytes_, other.key_heap_bytes_);
    segment_live_bytes_.swap(other.segment_live_bytes_);
    // Past both: a memo taken of either index must not match this one or `other` again.
    version_ = std::max(version_, other.version_) + 1;
    other.version_ = version_;
  }
  return *this;
}

void KeyIndex::DeleteNodes() {
  for (const Slot& node : entries_) delete node;
}

size_t KeyIndex::HashKey(std::string_view key, uint64_t seed) {
  return XXH3_64bits_withSeed(key.data(), key.size(), seed);
}

size_t KeyIndex::Hash(std::string_view key) const {
  return HashKey(key, entries_.hash_function().seed);
}

const IndexEntry* KeyIndex::Find(std::string_view key, size_t hash) const {
  auto it = entries_.find(HashProbe{key, hash});
  return it == entries_.end() ? nullptr : &(*it)->second;
}

void KeyIndex::PrefetchNode(size_t hash) const {
  if (const Slot node = FirstCandidate(entries_, hash)) absl::base_internal::PrefetchT0(node);
}

void KeyIndex::PrefetchKeyBytes(size_t hash) const {
  const Slot node = FirstCandidate(entries_, hash);
  if (node != nullptr && node->first.size() > kInlineKeyBytes) {
    absl::base_internal::PrefetchT0(node->first.data());
  }
}

void KeyIndex::Account(std::string_view key, const IndexEntry& entry, int sign) {
  const auto delta = [sign](uint64_t v) { return sign > 0 ? v : -v; };  // mod 2^64
  if (entry.expire_at_ms != 0) expires_ += delta(1);
  live_bytes_ += delta(entry.record_size);
  if (key.size() > kInlineKeyBytes) key_heap_bytes_ += delta(key.size() + 1);
  uint64_t& segment = segment_live_bytes_[entry.segment];
  segment += delta(entry.record_size);
  if (segment == 0) segment_live_bytes_.erase(entry.segment);
}

std::optional<IndexEntry> KeyIndex::Upsert(std::string_view key, size_t hash,
                                           const IndexEntry& entry) {
  DCHECK_EQ(hash, Hash(key));
  Account(key, entry, +1);
  if (auto it = entries_.find(HashProbe{key, hash}); it != entries_.end()) {
    IndexEntry& current = (*it)->second;
    std::optional<IndexEntry> old = current;
    Account(key, *old, -1);
    current = entry;
    return old;
  }
  auto* node = new value_type(std::string(key), entry);
  entries_.insert(node);
  order_.insert(node);
  ++version_;
  return std::nullopt;
}

IndexEntry KeyIndex::Replace(const IndexEntry* at, std::string_view key,
                             const IndexEntry& entry) {
  DCHECK_EQ(at, Find(key));
  // The index owns its nodes; `at` is the value of one of them.
  IndexEntry& current = const_cast<IndexEntry&>(*at);
  const IndexEntry old = current;
  Account(key, entry, +1);
  Account(key, old, -1);
  current = entry;
  return old;
}

std::optional<IndexEntry> KeyIndex::Erase(std::string_view key) {
  auto it = entries_.find(HashProbe{key, Hash(key)});
  if (it == entries_.end()) return std::nullopt;
  value_type* node = *it;
  std::optional<IndexEntry> old = node->second;
  Account(key, node->second, -1);
  order_.erase(node);
  entries_.erase(it);
  delete node;
  ++version_;
  return old;
}

KeyIndex::const_iterator KeyIndex::Erase(const_iterator it) {
  const value_type* node = *it.it_;
  Account(node->first, node->second, -1);
  const Order::const_iterator next = order_.erase(it.it_);
  entries_.erase(entries_.find(HashProbe{node->first, Hash(node->first)}));
  delete node;
  ++version_;
  return const_iterator(next);
}

void KeyIndex::Clear() {
  order_.clear();
  DeleteNodes();
  entries_.clear();
  expires_ = 0;
  live_bytes_ = 0;
  key_heap_bytes_ = 0;
  segment_live_bytes_.clear();
  ++version_;
}

uint64_t KeyIndex::SegmentLiveBytes(uint64_t sequence) const {
  auto it = segment_live_bytes_.find(sequence);
  return it == segment_live_bytes_.end() ? 0 : it->second;
}

uint64_t KeyIndex::EstimatedMemoryBytes() const {
  // Hash set: a heap node per key (the pair and malloc's 16-byte header) and a slot (the node
  // pointer) plus a control byte per bucket at a load of about 7/8. Ordered set: a
  // pointer per key in B-tree nodes about 3/4 full (Knuth, TAOCP vol. 3, 6.2.4), inner nodes a
  // few percent more.
  const uint64_t n = entries_.size();
  const uint64_t nodes = (sizeof(value_type) + 16) * n;
  const uint64_t buckets = entries_.bucket_count() * (sizeof(Slot) + 1);
  const uint64_t order = sizeof(const value_type*) * n * 4 / 3;
  return nodes + buckets + order + key_heap_bytes_;
}

}  // namespace beyondkv::engine
