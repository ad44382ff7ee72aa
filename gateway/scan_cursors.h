// Numeric SCAN cursors over an ordered keyspace (architecture §7, after Kvrocks): clients such
// as redis-py and go-redis parse the cursor as an unsigned 64-bit number, but our position is
// a key. The gateway keeps a bounded table from cursor number to the last key returned; the
// number carries the table slot (low 16 bits) and a check counter (high 48 bits), so a stale
// cursor (its slot reused by 65,536 later scans) or a forged one is detected and refused
// instead of silently scanning from the wrong place.
//
// Thread-safety: all methods may be called from any gateway thread.
#ifndef BEYONDKV_GATEWAY_SCAN_CURSORS_H_
#define BEYONDKV_GATEWAY_SCAN_CURSORS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace beyondkv::gateway {

class ScanCursors {
 public:
  static constexpr int kSlotBits = 16;

  ScanCursors();

  // Remembers that a scan of namespace `ns` has returned every key up to `last_key`; returns
  // the cursor (never 0) that continues after it.
  uint64_t Save(uint32_t ns, std::string last_key);

  // The key after which cursor `cursor` continues, or nullopt when the cursor is unknown,
  // stale or belongs to another namespace.
  std::optional<std::string> Lookup(uint64_t cursor, uint32_t ns) const;

 private:
  struct Slot {
    uint64_t check = 0;  // 0 = never used
    uint32_t ns = 0;
    std::string last_key;
  };
  mutable absl::Mutex mu_;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;  // counts every Save
};

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_SCAN_CURSORS_H_
