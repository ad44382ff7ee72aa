#include "engine/segment_reader.h"

#include <algorithm>

#include "engine/crc32c.h"

namespace beyondkv::engine {
namespace {

// Read granularity: large enough that the header, key and metadata of any record
// (36 B + 64 KiB + 64 KiB) fit in one window, small enough to keep recovery's memory flat.
constexpr size_t kBlockSize = 1 << 20;
static_assert(kRecordHeaderSize + kMaxKeyBytes + kMaxMetaBytes <= kBlockSize);

}  // namespace

SegmentReader::SegmentReader(File* file, uint64_t start, uint64_t end)
    : file_(file), end_(end), offset_(start) {}

absl::StatusOr<std::string_view> SegmentReader::Window(uint64_t offset, size_t n) {
  n = static_cast<size_t>(std::min<uint64_t>(n, end_ - std::min(offset, end_)));
  if (n == 0) return std::string_view();
  if (offset >= buffer_offset_ && offset + n <= buffer_offset_ + buffer_.size()) {
    return std::string_view(buffer_).substr(offset - buffer_offset_, n);
  }
  const size_t want = static_cast<size_t>(std::min<uint64_t>(kBlockSize, end_ - offset));
  buffer_.resize(want);
  absl::StatusOr<size_t> got = file_->Read(offset, want, buffer_.data());
  if (!got.ok()) return got.status();
  buffer_.resize(*got);  // shorter only if the file shrank under us
  buffer_offset_ = offset;
  return std::string_view(buffer_).substr(0, std::min(n, buffer_.size()));
}

absl::StatusOr<SegmentReader::Result> SegmentReader::Next(ScannedRecord* record) {
  resync_offset_ = 0;
  if (offset_ >= end_) return Result::kEnd;

  absl::StatusOr<std::string_view> head = Window(offset_, kRecordHeaderSize);
  if (!head.ok()) return head.status();
  RecordHeader header;
  switch (DecodeRecordHeader(*head, kMaxValueBytesLimit, &header)) {
    case DecodeStatus::kIncomplete:
      return Result::kIncomplete;
    case DecodeStatus::kCorrupt:
      // A damaged type or flags byte with sane lengths still tells where the next record is.
      if (LengthsWithinCaps(header, kMaxValueBytesLimit) &&
          offset_ + header.record_size() <= end_) {
        resync_offset_ = offset_ + header.record_size();
      }
      return Result::kCorrupt;
    case DecodeStatus::kOk:
      break;
  }
  const uint64_t size = header.record_size();
  if (offset_ + size > end_) return Result::kIncomplete;

  // Header, key and metadata in one window; the value streamed through the CRC in blocks.
  const uint64_t value_offset = offset_ + header.value_offset();
  absl::StatusOr<std::string_view> front = Window(offset_, header.value_offset());
  if (!front.ok()) return front.status();
  if (front->size() < header.value_offset()) return Result::kIncomplete;
  uint32_t crc = RecordCrcStart(*front);
  crc = crc32c::Extend(crc, front->data() + kRecordHeaderSize,
                       front->size() - kRecordHeaderSize);
  std::string_view key = front->substr(kRecordHeaderSize, header.key_len);
  record->key.assign(key.data(), key.size());  // copy now: the window moves below
  for (uint64_t pos = value_offset; pos < offset_ + size;) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(kBlockSize, offset_ + size - pos));
    absl::StatusOr<std::string_view> part = Window(pos, chunk);
    if (!part.ok()) return part.status();
    if (part->empty()) return Result::kIncomplete;
    crc = crc32c::Extend(crc, part->data(), part->size());
    pos += part->size();
  }
  if (crc != header.crc) {
    resync_offset_ = offset_ + size;  // lengths passed the caps and fit in the file
    return Result::kCorrupt;
  }

  record->type = header.type;
  record->revision = header.revision;
  record->expire_at_ms = header.expire_at_ms;
  record->offset = offset_;
  record->size = static_cast<uint32_t>(size);
  record->value_offset = value_offset;
  record->value_len = header.value_len;
  record->meta_len = header.meta_len;
  offset_ += size;
  return Result::kRecord;
}

}  // namespace beyondkv::engine
