#include "engine/key_index.h"

namespace beyondkv::engine {
namespace {

// libstdc++ keeps strings of up to 15 bytes inside the std::string object.
constexpr size_t kInlineKeyBytes = 15;

}  // namespace

const IndexEntry* KeyIndex::Find(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
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

std::optional<IndexEntry> KeyIndex::Upsert(std::string_view key, const IndexEntry& entry) {
  Account(key, entry, +1);
  if (auto it = entries_.find(key); it != entries_.end()) {
    std::optional<IndexEntry> old = it->second;
    Account(key, *old, -1);
    it->second = entry;
    return old;
  }
  auto [it, inserted] = entries_.emplace(std::string(key), entry);
  order_.insert(&*it);
  return std::nullopt;
}

std::optional<IndexEntry> KeyIndex::Erase(std::string_view key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  std::optional<IndexEntry> old = it->second;
  Account(key, it->second, -1);
  order_.erase(&*it);
  entries_.erase(it);
  return old;
}

KeyIndex::const_iterator KeyIndex::Erase(const_iterator it) {
  const value_type* node = *it.it_;
  Account(node->first, node->second, -1);
  const Order::const_iterator next = order_.erase(it.it_);
  entries_.erase(entries_.find(node->first));
  return const_iterator(next);
}

void KeyIndex::Clear() {
  order_.clear();
  entries_.clear();
  expires_ = 0;
  live_bytes_ = 0;
  key_heap_bytes_ = 0;
  segment_live_bytes_.clear();
}

uint64_t KeyIndex::SegmentLiveBytes(uint64_t sequence) const {
  auto it = segment_live_bytes_.find(sequence);
  return it == segment_live_bytes_.end() ? 0 : it->second;
}

uint64_t KeyIndex::EstimatedMemoryBytes() const {
  // Hash map: a heap node per key (the pair and malloc's 16-byte header) and a slot pointer
  // plus a control byte per bucket at a load of about 7/8. Ordered set: a pointer per key in
  // B-tree nodes about 3/4 full (Knuth, TAOCP vol. 3, 6.2.4), inner nodes a few percent more.
  const uint64_t n = entries_.size();
  const uint64_t nodes = (sizeof(value_type) + 16) * n;
  const uint64_t buckets = entries_.bucket_count() * (sizeof(void*) + 1);
  const uint64_t order = sizeof(const value_type*) * n * 4 / 3;
  return nodes + buckets + order + key_heap_bytes_;
}

}  // namespace beyondkv::engine
