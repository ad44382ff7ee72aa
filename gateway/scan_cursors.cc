#include "gateway/scan_cursors.h"

namespace beyondkv::gateway {

ScanCursors::ScanCursors() : slots_(size_t{1} << kSlotBits) {}

uint64_t ScanCursors::Save(uint32_t ns, std::string last_key) {
  absl::MutexLock lock(&mu_);
  const uint64_t n = next_++;
  const uint64_t slot = n & ((uint64_t{1} << kSlotBits) - 1);
  // The check is the number of the save, from 1, so it is never 0 and never repeats until
  // 2^48 saves; the cursor is therefore never 0 (0 means "scan complete").
  const uint64_t check = ((n >> kSlotBits) + 1) & ((uint64_t{1} << (64 - kSlotBits)) - 1);
  Slot& s = slots_[slot];
  s.check = check;
  s.ns = ns;
  s.last_key = std::move(last_key);
  return (check << kSlotBits) | slot;
}

std::optional<std::string> ScanCursors::Lookup(uint64_t cursor, uint32_t ns) const {
  const uint64_t slot = cursor & ((uint64_t{1} << kSlotBits) - 1);
  const uint64_t check = cursor >> kSlotBits;
  absl::MutexLock lock(&mu_);
  const Slot& s = slots_[slot];
  if (check == 0 || s.check != check || s.ns != ns) return std::nullopt;
  return s.last_key;
}

}  // namespace beyondkv::gateway
