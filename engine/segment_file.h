// Segment files: the 40-byte header that opens each one, and their names on disk
// (engine/FORMAT.md "Segment header", "Files"). A namespace's log is the series
// <shard dir>/ns-<n>/<sequence, 20 digits>.log in sequence order; the last is active.
//
// Thread-safe: pure functions.
#ifndef BEYONDKV_ENGINE_SEGMENT_FILE_H_
#define BEYONDKV_ENGINE_SEGMENT_FILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/record_codec.h"

namespace beyondkv::engine {

struct SegmentHeader {
  uint32_t format_version = 0;
  uint32_t shard_id = 0;
  uint32_t ns = 0;
  uint64_t sequence = 0;
};

// Returns the kSegmentHeaderSize bytes of `header`.
std::string EncodeSegmentHeader(const SegmentHeader& header);

// Decodes the header at the start of `input`: kIncomplete when `input` is shorter than
// kSegmentHeaderSize, kCorrupt on a wrong magic, checksum or padding. The caller checks the
// field values against what it expects.
DecodeStatus DecodeSegmentHeader(std::string_view input, SegmentHeader* header);

// "ns-3".
std::string NamespaceDirName(uint32_t ns);

// "00000000000000000007.log".
std::string SegmentFileName(uint64_t sequence);

// The sequence of a name made by SegmentFileName, nullopt for any other name.
std::optional<uint64_t> ParseSegmentFileName(std::string_view name);

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_SEGMENT_FILE_H_
