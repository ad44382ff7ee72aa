// The one sequential scan of a segment's records. Recovery, WATCH replay, hint building,
// reclaim and tools/kv-log all read segments through it, so a damaged record is met by one
// rule everywhere (FORMAT.md "Damaged records"). Reads through a bounded buffer, so a segment
// of any size and values of up to kMaxValueBytesLimit are verified without loading them whole.
//
// The rule for damaged records:
//   - A record is intact when its header passes the plausibility checks (known type, zero
//     flags and reserved bits, lengths within the caps of record_format.h, the whole record
//     inside the scanned range) and its CRC32C matches. Only intact records are returned.
//   - Anything else is damage, returned as one SegmentDamage and skipped as a unit: to where
//     the bad record's own length fields say it ends, when those are within the caps and the
//     range (a flipped bit in a type, a value or a checksum leaves them usable), otherwise to
//     the end of the range: after an untrustworthy length nothing marks where the next record
//     starts, and searching byte by byte could take the bytes of a stored value (which may
//     itself hold records, e.g. a backup of a segment) for records of this log.
//   - What damage means is the caller's to say, by one test: damage after the last intact
//     record of the active segment (intact_end() < the end at kEnd) is the torn tail of a
//     write a crash interrupted, which recovery truncates; any other damage (in a sealed
//     segment, or followed by intact records) is bit rot or tampering: counted, logged,
//     never served, and the intact records after it are kept.
//
// Thread contract: one thread at a time.
#ifndef BEYONDKV_ENGINE_SEGMENT_READER_H_
#define BEYONDKV_ENGINE_SEGMENT_READER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/env.h"
#include "engine/record_codec.h"

namespace beyondkv::engine {

// One record found by the scan: everything the index needs, but not the value itself.
struct ScannedRecord {
  RecordType type = RecordType::kPut;
  uint64_t revision = 0;
  int64_t expire_at_ms = 0;
  std::string key;
  uint64_t offset = 0;       // of the record in the file
  uint32_t size = 0;         // of the whole record
  uint64_t value_offset = 0; // in the file
  uint32_t value_len = 0;
  uint32_t meta_len = 0;
};

// A stretch of a segment that holds no intact record: [offset, end).
struct SegmentDamage {
  enum class Kind : uint8_t {
    kTruncated,  // the record runs past the end of the range (a torn write, or a damaged
                 // length that still passed the caps)
    kChecksum,   // plausible header, CRC32C mismatch
    kMalformed,  // the header fails the plausibility checks
  };
  Kind kind = Kind::kChecksum;
  uint64_t offset = 0;  // first byte of the bad record
  uint64_t end = 0;     // where the scan resumed
  bool rest_skipped = false;  // end is the end of the range: the lengths could not be used
};

// "checksum mismatch in the record at offset 4096 (120 bytes skipped)", for logs and reports.
std::string DescribeDamage(const SegmentDamage& damage);

class SegmentReader {
 public:
  enum class Result {
    kRecord,  // *record was filled; the scan moved past it
    kDamage,  // damage() describes what was skipped; the scan moved past it
    kEnd,     // the scan reached the end of the range
  };

  // Scans `file` from `start` (a record boundary, e.g. just after the segment header) to
  // `end` (e.g. the file's size). `file` must outlive the reader. A reader reads the file in
  // blocks of up to 1 MiB into a buffer; `scratch`, if given, lends that buffer's storage
  // (taken at construction, handed back, emptied, at destruction), so that a caller making
  // many short-lived readers (watch replay slices) allocates it once.
  SegmentReader(File* file, uint64_t start, uint64_t end, std::string* scratch = nullptr);
  ~SegmentReader();
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;

  // Reads the next record. Errors are I/O failures only (bad data is kDamage); after an error
  // the scan has not moved, so a caller may retry or start a new reader at offset().
  absl::StatusOr<Result> Next(ScannedRecord* record);

  // After kDamage: what was skipped.
  const SegmentDamage& damage() const { return damage_; }

  // Where Next() reads next: a record boundary, or the end of the range.
  uint64_t offset() const { return offset_; }

  // The end of the last intact record returned, or `start` if none was. At kEnd, bytes from
  // here to the end of the range were all damage: in the active segment, a torn tail.
  uint64_t intact_end() const { return intact_end_; }

 private:
  // Makes [offset, offset + n) readable in buffer_ (n <= kBlockSize) and returns it, shorter
  // if the range passes end_.
  absl::StatusOr<std::string_view> Window(uint64_t offset, size_t n);

  // Records damage [offset_, end) and moves past it; `end` 0 means the end of the range.
  Result Damaged(SegmentDamage::Kind kind, uint64_t end);

  File* const file_;
  const uint64_t end_;
  uint64_t offset_;
  uint64_t intact_end_;
  SegmentDamage damage_;
  std::string buffer_;       // file bytes [buffer_offset_, buffer_offset_ + buffer_.size())
  uint64_t buffer_offset_ = 0;
  std::string* const scratch_;  // where buffer_'s storage came from and goes back to
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_SEGMENT_READER_H_
