#include "engine/segment_file.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "engine/coding.h"
#include "engine/crc32c.h"

namespace beyondkv::engine {
namespace {

constexpr size_t kVersionOffset = 8;
constexpr size_t kShardOffset = 12;
constexpr size_t kNamespaceOffset = 16;
constexpr size_t kReservedOffset = 20;
constexpr size_t kSequenceOffset = 24;
constexpr size_t kPaddingOffset = 36;
static_assert(kSequenceOffset + 8 == kSegmentHeaderCrcOffset);
static_assert(kPaddingOffset + 4 == kSegmentHeaderSize);

constexpr int kSequenceDigits = 20;  // enough for any u64
constexpr std::string_view kSegmentSuffix = ".log";
constexpr std::string_view kHintSuffix = ".hint";

std::optional<uint64_t> ParseSequenceFileName(std::string_view name, std::string_view suffix) {
  if (name.size() != kSequenceDigits + suffix.size() || name.substr(kSequenceDigits) != suffix) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(0, kSequenceDigits);
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  uint64_t sequence = 0;
  // Fails above 2^64 - 1. (Debian's Abseil has its own string_view type.)
  if (!absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), &sequence)) {
    return std::nullopt;
  }
  return sequence;
}

}  // namespace

std::string EncodeSegmentHeader(const SegmentHeader& header) {
  std::string out(kSegmentHeaderSize, '\0');
  char* p = out.data();
  EncodeFixed64(p, kSegmentMagic);
  EncodeFixed32(p + kVersionOffset, header.format_version);
  EncodeFixed32(p + kShardOffset, header.shard_id);
  EncodeFixed32(p + kNamespaceOffset, header.ns);
  EncodeFixed32(p + kReservedOffset, 0);
  EncodeFixed64(p + kSequenceOffset, header.sequence);
  EncodeFixed32(p + kSegmentHeaderCrcOffset, crc32c::Value(p, kSegmentHeaderCrcOffset));
  EncodeFixed32(p + kPaddingOffset, 0);
  return out;
}

DecodeStatus DecodeSegmentHeader(std::string_view input, SegmentHeader* header) {
  if (input.size() < kSegmentHeaderSize) return DecodeStatus::kIncomplete;
  const char* p = input.data();
  if (DecodeFixed64(p) != kSegmentMagic ||
      DecodeFixed32(p + kSegmentHeaderCrcOffset) != crc32c::Value(p, kSegmentHeaderCrcOffset) ||
      DecodeFixed32(p + kReservedOffset) != 0 || DecodeFixed32(p + kPaddingOffset) != 0) {
    return DecodeStatus::kCorrupt;
  }
  header->format_version = DecodeFixed32(p + kVersionOffset);
  header->shard_id = DecodeFixed32(p + kShardOffset);
  header->ns = DecodeFixed32(p + kNamespaceOffset);
  header->sequence = DecodeFixed64(p + kSequenceOffset);
  return DecodeStatus::kOk;
}

std::string NamespaceDirName(uint32_t ns) { return absl::StrFormat("ns-%u", ns); }

std::string SegmentFileName(uint64_t sequence) {
  return absl::StrFormat("%0*u%s", kSequenceDigits, sequence, kSegmentSuffix);
}

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  return ParseSequenceFileName(name, kSegmentSuffix);
}

std::string HintFileName(uint64_t sequence) {
  return absl::StrFormat("%0*u%s", kSequenceDigits, sequence, kHintSuffix);
}

std::optional<uint64_t> ParseHintFileName(std::string_view name) {
  return ParseSequenceFileName(name, kHintSuffix);
}

}  // namespace beyondkv::engine
