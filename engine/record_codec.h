// Encoding and decoding of one log record (engine/FORMAT.md "Record"):
//
//   crc32c u32 | type u8 | flags u8 | reserved u16 | revision u64 | expire_at_ms i64 |
//   key_len u32 | meta_len u32 | value_len u32 | key | metadata | value
//
// Decoding tells a torn tail (kIncomplete: the input ends inside the record) from damage
// (kCorrupt: checksum mismatch, unknown type, non-zero reserved bits, or a length above the
// caps of record_format.h). Recovery treats the two alike in the active segment and differently
// in sealed ones; Get treats either as DataLoss.
//
// Thread-safe: pure functions.
#ifndef BEYONDKV_ENGINE_RECORD_CODEC_H_
#define BEYONDKV_ENGINE_RECORD_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/record_format.h"

namespace beyondkv::engine {

// A record's fields. The views point into memory owned by the caller (when encoding) or into
// the decoded input (when decoding) and live as long as it.
struct RecordView {
  RecordType type = RecordType::kPut;
  uint64_t revision = 0;
  int64_t expire_at_ms = 0;  // absolute Unix ms; 0 = none
  std::string_view key;
  std::string_view metadata;
  std::string_view value;
};

// The fixed-size part of a record, decoded and checked for plausibility but not checksummed.
struct RecordHeader {
  uint32_t crc = 0;  // as stored
  RecordType type = RecordType::kPut;
  uint64_t revision = 0;
  int64_t expire_at_ms = 0;
  uint32_t key_len = 0;
  uint32_t meta_len = 0;
  uint32_t value_len = 0;

  // Bytes of the whole record, header included.
  uint64_t record_size() const {
    return kRecordHeaderSize + uint64_t{key_len} + meta_len + value_len;
  }
  // Offset of the value from the start of the record.
  uint64_t value_offset() const { return kRecordHeaderSize + uint64_t{key_len} + meta_len; }
};

enum class DecodeStatus {
  kOk,
  kIncomplete,  // input ends before the record does (torn write)
  kCorrupt,     // checksum mismatch or implausible fields
};

// Bytes AppendRecord adds for these field sizes.
inline uint64_t EncodedRecordSize(size_t key_len, size_t meta_len, size_t value_len) {
  return kRecordHeaderSize + uint64_t{key_len} + meta_len + value_len;
}

// Appends the encoding of `record` to `dst`. Requires key, metadata and value within the caps
// of record_format.h (callers validate user input first; violating this is a bug: CHECK).
void AppendRecord(const RecordView& record, std::string* dst);

// Decodes the fixed header at the start of `input`. kIncomplete if `input` is shorter than
// kRecordHeaderSize; kCorrupt if the type is unknown, flags/reserved are non-zero, or a
// length exceeds its cap (values: `max_value_bytes`, itself at most kMaxValueBytesLimit).
// Unless kIncomplete, fills every field of `header` even when returning kCorrupt.
// Does not check the CRC (see DecodeRecord, or RecordCrcExtend for streaming readers).
DecodeStatus DecodeRecordHeader(std::string_view input, uint32_t max_value_bytes,
                                RecordHeader* header);

// Whether the header's key, metadata and value lengths are within the caps (values:
// min(max_value_bytes, kMaxValueBytesLimit)).
bool LengthsWithinCaps(const RecordHeader& header, uint32_t max_value_bytes);

// Decodes and verifies the record at the start of `input`. On kOk fills `record` (views into
// `input`) and `*consumed` with the record's size; otherwise leaves them unspecified.
DecodeStatus DecodeRecord(std::string_view input, uint32_t max_value_bytes,
                          RecordView* record, size_t* consumed);

// The CRC a record's header declares covers the header bytes after the crc field, then the
// key, metadata and value. Streaming readers start with RecordCrcStart(header bytes) and
// extend it with crc32c::Extend over the body.
uint32_t RecordCrcStart(std::string_view header_bytes);

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_RECORD_CODEC_H_
