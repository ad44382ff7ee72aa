#include "engine/segment_reader.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/crc32c.h"

namespace beyondkv::engine {
namespace {

// Read granularity: large enough that the header, key and metadata of any record
// (36 B + 64 KiB + 64 KiB) fit in one window, small enough to keep recovery's memory flat.
constexpr size_t kBlockSize = 1 << 20;
static_assert(kRecordHeaderSize + kMaxKeyBytes + kMaxMetaBytes <= kBlockSize);

// Damaged()'s `end` when the bad record's lengths cannot be used: skip to the end of the range.
constexpr uint64_t kToTheEnd = 0;

}  // namespace

std::string DescribeDamage(const SegmentDamage& damage) {
  const char* what = "";
  switch (damage.kind) {
    case SegmentDamage::Kind::kTruncated:
      what = "incomplete record";
      break;
    case SegmentDamage::Kind::kChecksum:
      what = "checksum mismatch in the record";
      break;
    case SegmentDamage::Kind::kMalformed:
      what = "malformed record header";
      break;
  }
  const uint64_t bytes = damage.end - damage.offset;
  if (damage.rest_skipped) {
    const char* why = damage.kind == SegmentDamage::Kind::kTruncated
                          ? " (the range ends inside it)"
                          : " with unusable lengths";
    return absl::StrCat(what, " at offset ", damage.offset, why, "; the ", bytes,
                        " bytes to the end were skipped");
  }
  return absl::StrCat(what, " at offset ", damage.offset, " (", bytes, " bytes skipped)");
}

SegmentReader::SegmentReader(File* file, uint64_t start, uint64_t end, std::string* scratch)
    : file_(file), end_(end), offset_(start), intact_end_(start), scratch_(scratch) {
  if (scratch_ != nullptr) {
    buffer_.swap(*scratch_);
    buffer_.clear();  // holds nothing of this file yet
  }
}

SegmentReader::~SegmentReader() {
  if (scratch_ != nullptr) {
    buffer_.clear();
    scratch_->swap(buffer_);
  }
}

SegmentReader::Result SegmentReader::Damaged(SegmentDamage::Kind kind, uint64_t end) {
  damage_.kind = kind;
  damage_.offset = offset_;
  damage_.end = end == 0 ? end_ : end;
  damage_.rest_skipped = end == 0;
  offset_ = damage_.end;
  return Result::kDamage;
}

absl::StatusOr<std::string_view> SegmentReader::Window(uint64_t offset, size_t n) {
  n = static_cast<size_t>(std::min<uint64_t>(n, end_ - std::min(offset, end_)));
  if (n == 0) return std::string_view();
  if (offset >= buffer_offset_ && offset + n <= buffer_offset_ + buffer_.size()) {
    return std::string_view(buffer_).substr(offset - buffer_offset_, n);
  }
  if (std::optional<std::string_view> held = file_->Peek(offset, n)) {
    // Already in memory (reclaim's window): no copy, and no 1 MiB buffer per scan.
    return held->substr(0, n);
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
  if (offset_ >= end_) return Result::kEnd;

  absl::StatusOr<std::string_view> head = Window(offset_, kRecordHeaderSize);
  if (!head.ok()) return head.status();
  RecordHeader header;
  switch (DecodeRecordHeader(*head, kMaxValueBytesLimit, &header)) {
    case DecodeStatus::kIncomplete:  // fewer bytes than a header before the end
      return Damaged(SegmentDamage::Kind::kTruncated, kToTheEnd);
    case DecodeStatus::kCorrupt:
      // A damaged type or flags byte with sane lengths still tells where the next record is.
      if (LengthsWithinCaps(header, kMaxValueBytesLimit) &&
          header.record_size() <= end_ - offset_) {
        return Damaged(SegmentDamage::Kind::kMalformed, offset_ + header.record_size());
      }
      return Damaged(SegmentDamage::Kind::kMalformed, kToTheEnd);
    case DecodeStatus::kOk:
      break;
  }
  const uint64_t size = header.record_size();
  if (size > end_ - offset_) return Damaged(SegmentDamage::Kind::kTruncated, kToTheEnd);

  // Header, key and metadata in one window; the value streamed through the CRC in blocks.
  const uint64_t value_offset = offset_ + header.value_offset();
  absl::StatusOr<std::string_view> front = Window(offset_, header.value_offset());
  if (!front.ok()) return front.status();
  if (front->size() < header.value_offset()) {  // the file shrank under us
    return Damaged(SegmentDamage::Kind::kTruncated, kToTheEnd);
  }
  uint32_t crc = RecordCrcStart(*front);
  crc = crc32c::Extend(crc, front->data() + kRecordHeaderSize,
                       front->size() - kRecordHeaderSize);
  std::string_view key = front->substr(kRecordHeaderSize, header.key_len);
  record->key.assign(key.data(), key.size());  // copy now: the window moves below
  for (uint64_t pos = value_offset; pos < offset_ + size;) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(kBlockSize, offset_ + size - pos));
    absl::StatusOr<std::string_view> part = Window(pos, chunk);
    if (!part.ok()) return part.status();
    if (part->empty()) return Damaged(SegmentDamage::Kind::kTruncated, kToTheEnd);
    crc = crc32c::Extend(crc, part->data(), part->size());
    pos += part->size();
  }
  if (crc != header.crc) return Damaged(SegmentDamage::Kind::kChecksum, offset_ + size);

  record->type = header.type;
  record->revision = header.revision;
  record->expire_at_ms = header.expire_at_ms;
  record->offset = offset_;
  record->size = static_cast<uint32_t>(size);
  record->value_offset = value_offset;
  record->value_len = header.value_len;
  record->meta_len = header.meta_len;
  offset_ += size;
  intact_end_ = offset_;
  return Result::kRecord;
}

}  // namespace beyondkv::engine
