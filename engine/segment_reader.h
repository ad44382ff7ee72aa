// Sequential scan of the records of one segment file, for recovery (and later for hint-file
// building and WATCH replay). Reads through a bounded buffer, so a segment of any size and
// values of up to kMaxValueBytesLimit are verified without loading them whole.
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

class SegmentReader {
 public:
  enum class Result {
    kRecord,      // *record was filled; the scan moved past it
    kEnd,         // the scan reached `end` exactly
    kIncomplete,  // the record at offset() runs past `end` (torn tail)
    kCorrupt,     // the record at offset() fails its checksum or plausibility checks
  };

  // Scans `file` from `start` (just after the segment header) to `end` (the file's size).
  // `file` must outlive the reader.
  SegmentReader(File* file, uint64_t start, uint64_t end);

  // Reads the next record. Errors are I/O failures only; bad data is a Result.
  absl::StatusOr<Result> Next(ScannedRecord* record);

  // Start of the record Next() reads next; after kIncomplete/kCorrupt, of the bad record.
  uint64_t offset() const { return offset_; }

  // After kCorrupt: the end of the bad record according to its length fields when those are
  // plausible (within the caps and the file), else 0, meaning the scan cannot resynchronise.
  uint64_t resync_offset() const { return resync_offset_; }

  // Continues the scan at `offset` (e.g. resync_offset()).
  void Seek(uint64_t offset) { offset_ = offset; }

 private:
  // Makes [offset, offset + n) readable in buffer_ (n <= kBlockSize) and returns it, shorter
  // if the range passes end_.
  absl::StatusOr<std::string_view> Window(uint64_t offset, size_t n);

  File* const file_;
  const uint64_t end_;
  uint64_t offset_;
  uint64_t resync_offset_ = 0;
  std::string buffer_;       // file bytes [buffer_offset_, buffer_offset_ + buffer_.size())
  uint64_t buffer_offset_ = 0;
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_SEGMENT_READER_H_
