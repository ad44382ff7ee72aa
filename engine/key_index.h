// The keydir of one namespace: every key's newest record, in key order (architecture §4, §7).
// An absl::btree_map keeps keys sorted so prefix queries (KEYS p*, SCAN MATCH, HTTP ?prefix=)
// can cost O(log n + k), and packs many entries per node, which keeps the per-key overhead
// lower than a node-based map. Lookups take a string_view without allocating.
//
// Thread contract: owned by the shard's engine thread; no locking.
#ifndef BEYONDKV_ENGINE_KEY_INDEX_H_
#define BEYONDKV_ENGINE_KEY_INDEX_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/btree_map.h"

namespace beyondkv::engine {

// Where a key's newest put record lives, and what readers need without reading it.
struct IndexEntry {
  uint64_t segment = 0;        // sequence of the segment file holding the record
  uint64_t record_offset = 0;  // of the record in that file (may lie in the staging buffer)
  uint32_t record_size = 0;    // bytes of the whole record
  uint32_t value_len = 0;
  uint64_t value_offset = 0;   // of the value in that file
  uint64_t revision = 0;
  int64_t expire_at_ms = 0;    // absolute Unix ms; 0 = no expiry

  // Whether the entry is live at `now_ms` (not expired).
  bool LiveAt(int64_t now_ms) const { return expire_at_ms == 0 || expire_at_ms > now_ms; }

  friend bool operator==(const IndexEntry& a, const IndexEntry& b) {
    return a.segment == b.segment && a.record_offset == b.record_offset &&
           a.record_size == b.record_size && a.value_len == b.value_len &&
           a.value_offset == b.value_offset && a.revision == b.revision &&
           a.expire_at_ms == b.expire_at_ms;
  }
};

class KeyIndex {
 public:
  // The entry for `key`, or nullptr. The pointer is valid until the next mutation.
  const IndexEntry* Find(std::string_view key) const;

  // Inserts or replaces `key`'s entry; returns the entry it replaced, if any.
  std::optional<IndexEntry> Upsert(std::string_view key, const IndexEntry& entry);

  // Removes `key`; returns the removed entry, if any.
  std::optional<IndexEntry> Erase(std::string_view key);

  // Number of keys, expired ones included until they are erased.
  size_t size() const { return map_.size(); }

 private:
  absl::btree_map<std::string, IndexEntry, std::less<>> map_;
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_KEY_INDEX_H_
