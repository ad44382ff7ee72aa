#include "engine/key_index.h"

namespace beyondkv::engine {
namespace {

// libstdc++ keeps strings of up to 15 bytes inside the std::string object.
constexpr size_t kInlineKeyBytes = 15;

}  // namespace

const IndexEntry* KeyIndex::Find(std::string_view key) const {
  if (memo_on_) {
    if (auto m = memo_.find(key); m != memo_.end()) return m->second;
  }
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  constexpr size_t kMaxMemo = 1 << 16;
  if (memo_on_ && memo_.size() < kMaxMemo) memo_.emplace(std::string_view(it->first), &it->second);
  return &it->second;
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
  Forget();
  Account(key, entry, +1);
  auto it = map_.lower_bound(key);
  if (it != map_.end() && it->first == key) {
    std::optional<IndexEntry> old = it->second;
    Account(key, *old, -1);
    it->second = entry;
    return old;
  }
  map_.emplace_hint(it, std::string(key), entry);
  return std::nullopt;
}

std::optional<IndexEntry> KeyIndex::Erase(std::string_view key) {
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  std::optional<IndexEntry> old = it->second;
  Erase(it);
  return old;
}

KeyIndex::const_iterator KeyIndex::Erase(const_iterator it) {
  Forget();
  Account(it->first, it->second, -1);
  return map_.erase(it);
}

void KeyIndex::Clear() {
  Forget();
  map_.clear();
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
  // B-tree leaves hold the (key, entry) pairs and are about 3/4 full after random inserts
  // (Knuth, TAOCP vol. 3, 6.2.4); inner nodes add a few percent.
  const uint64_t slots = sizeof(Map::value_type) * map_.size();
  return slots + slots / 3 + key_heap_bytes_;
}

}  // namespace beyondkv::engine
