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

// Segment sequences (FORMAT.md "Files"). The log starts a namespace at kFirstSequence and
// every later segment it writes at the next multiple of kSequenceStride; a reclaim that read
// the sealed segments up to sequence X writes its output to X+1, X+2, ..., between its
// inputs and every newer segment, so replay order stays right without renaming anything.
inline constexpr uint64_t kFirstSequence = 1;
inline constexpr uint64_t kSequenceStride = 1'000'000;

// Whether `sequence` is one the log itself writes (the first, or a multiple of the stride),
// as opposed to a reclaim output.
inline bool IsLogSequence(uint64_t sequence) {
  return sequence == kFirstSequence || (sequence != 0 && sequence % kSequenceStride == 0);
}

// The sequence of the log segment that follows the highest existing sequence `last`
// (0 = none yet).
inline uint64_t NextLogSequence(uint64_t last) {
  return last == 0 ? kFirstSequence : (last / kSequenceStride + 1) * kSequenceStride;
}

// "ns-3".
std::string NamespaceDirName(uint32_t ns);

// "00000000000000000007.log".
std::string SegmentFileName(uint64_t sequence);

// The sequence of a name made by SegmentFileName, nullopt for any other name.
std::optional<uint64_t> ParseSegmentFileName(std::string_view name);

// "00000000000000000007.hint": the hint file of segment 7 (engine/hint_file.h).
std::string HintFileName(uint64_t sequence);

// The sequence of a name made by HintFileName, nullopt for any other name.
std::optional<uint64_t> ParseHintFileName(std::string_view name);

// Files are written under their name plus this suffix, then renamed into place; recovery
// removes any file of a namespace directory that still carries it.
inline constexpr char kTempSuffix[] = ".tmp";

// Per namespace: the highest revision reclaim may have dropped, as decimal text and a newline
// (FORMAT.md "Replay floor"). Absent: 0, nothing was dropped.
inline constexpr char kReplayFloorFile[] = "REPLAY_FLOOR";

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_SEGMENT_FILE_H_
