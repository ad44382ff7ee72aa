// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), the checksum of every
// record and segment header (engine/FORMAT.md). Uses the SSE4.2 crc32 instruction when the
// CPU has it (checked once at run time), a table-driven software loop otherwise; both give
// identical results.
//
// Thread-safe: pure functions.
#ifndef BEYONDKV_ENGINE_CRC32C_H_
#define BEYONDKV_ENGINE_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace beyondkv::engine::crc32c {

// Returns the CRC32C of data[0, n) appended to a stream whose CRC32C so far is `crc`.
// Extend(Value(a), b) == Value(a + b); Extend(0, x) == Value(x).
uint32_t Extend(uint32_t crc, const char* data, size_t n);

inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view data) { return Extend(0, data.data(), data.size()); }

namespace internal {
// Both implementations, exposed so tests can check each against the known vectors.
uint32_t ExtendSoftware(uint32_t crc, const char* data, size_t n);
// Requires HardwareAvailable().
uint32_t ExtendHardware(uint32_t crc, const char* data, size_t n);
bool HardwareAvailable();
}  // namespace internal

}  // namespace beyondkv::engine::crc32c

#endif  // BEYONDKV_ENGINE_CRC32C_H_
