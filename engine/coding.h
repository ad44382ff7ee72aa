// Little-endian fixed-width integer encoding used by every on-disk structure
// (engine/FORMAT.md: "all integers are little-endian"). Byte-by-byte so the code is correct on
// any host; compilers turn it into plain loads and stores on x86.
#ifndef BEYONDKV_ENGINE_CODING_H_
#define BEYONDKV_ENGINE_CODING_H_

#include <cstdint>
#include <string>

namespace beyondkv::engine {

inline void EncodeFixed16(char* dst, uint16_t v) {
  dst[0] = static_cast<char>(v);
  dst[1] = static_cast<char>(v >> 8);
}

inline void EncodeFixed32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>(v >> (8 * i));
}

inline void EncodeFixed64(char* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>(v >> (8 * i));
}

inline uint16_t DecodeFixed16(const char* src) {
  const auto* p = reinterpret_cast<const uint8_t*>(src);
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

inline uint32_t DecodeFixed32(const char* src) {
  const auto* p = reinterpret_cast<const uint8_t*>(src);
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline uint64_t DecodeFixed64(const char* src) {
  const auto* p = reinterpret_cast<const uint8_t*>(src);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_CODING_H_
