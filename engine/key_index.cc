#include "engine/key_index.h"

namespace beyondkv::engine {

const IndexEntry* KeyIndex::Find(std::string_view key) const {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

std::optional<IndexEntry> KeyIndex::Upsert(std::string_view key, const IndexEntry& entry) {
  auto it = map_.lower_bound(key);
  if (it != map_.end() && it->first == key) {
    std::optional<IndexEntry> old = it->second;
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
  map_.erase(it);
  return old;
}

}  // namespace beyondkv::engine
