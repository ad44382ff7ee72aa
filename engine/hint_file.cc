#include "engine/hint_file.h"

#include "absl/strings/str_cat.h"
#include "engine/coding.h"
#include "engine/crc32c.h"
#include "engine/record_format.h"

namespace beyondkv::engine {
namespace {

// Header field offsets (FORMAT.md "Hint files").
constexpr size_t kVersionOffset = 8;
constexpr size_t kShardOffset = 12;
constexpr size_t kNamespaceOffset = 16;
constexpr size_t kCorruptOffset = 20;
constexpr size_t kSequenceOffset = 24;
constexpr size_t kSegmentSizeOffset = 32;
constexpr size_t kCountOffset = 40;
static_assert(kCountOffset + 8 == kHintHeaderSize);

// Entry field offsets.
constexpr size_t kTypeOffset = 0;
constexpr size_t kKeyLenOffset = 4;
constexpr size_t kRevisionOffset = 8;
constexpr size_t kExpireOffset = 16;
constexpr size_t kRecordOffsetOffset = 24;
constexpr size_t kMetaLenOffset = 32;
constexpr size_t kValueLenOffset = 36;
static_assert(kValueLenOffset + 4 == kHintEntryHeaderSize);

bool IsKnownType(uint8_t type) {
  return type >= static_cast<uint8_t>(RecordType::kPut) &&
         type <= static_cast<uint8_t>(RecordType::kFlush);
}

}  // namespace

HintBuilder::HintBuilder() : file_(kHintHeaderSize, '\0') {}

size_t HintBuilder::buffered_bytes() const { return file_.size() - kHintHeaderSize; }

void HintBuilder::Reserve(size_t bytes) {
  file_.reserve(kHintHeaderSize + bytes + kHintTrailerSize);
}

size_t HintBuilder::MaxEntryBytes(uint64_t segment_size) {
  static_assert(kHintEntryHeaderSize >= kRecordHeaderSize);
  const uint64_t records =
      segment_size > kSegmentHeaderSize ? (segment_size - kSegmentHeaderSize) / kRecordHeaderSize
                                        : 0;
  return static_cast<size_t>(segment_size + records * (kHintEntryHeaderSize - kRecordHeaderSize));
}

void HintBuilder::Add(const ScannedRecord& record) {
  // Encoded on the stack and appended: resize() would zero the bytes first.
  char e[kHintEntryHeaderSize];
  e[kTypeOffset] = static_cast<char>(record.type);
  e[1] = e[2] = e[3] = 0;
  EncodeFixed32(e + kKeyLenOffset, static_cast<uint32_t>(record.key.size()));
  EncodeFixed64(e + kRevisionOffset, record.revision);
  EncodeFixed64(e + kExpireOffset, static_cast<uint64_t>(record.expire_at_ms));
  EncodeFixed64(e + kRecordOffsetOffset, record.offset);
  EncodeFixed32(e + kMetaLenOffset, record.meta_len);
  EncodeFixed32(e + kValueLenOffset, record.value_len);
  file_.append(e, sizeof(e));
  file_.append(record.key);
  ++entry_count_;
}

namespace {

// Writes `header` over the first kHintHeaderSize bytes of `file` and appends the checksum.
void Seal(HintHeader header, uint64_t entry_count, std::string* file) {
  header.entry_count = entry_count;
  char* h = file->data();
  EncodeFixed64(h, kHintMagic);
  EncodeFixed32(h + kVersionOffset, header.format_version);
  EncodeFixed32(h + kShardOffset, header.shard_id);
  EncodeFixed32(h + kNamespaceOffset, header.ns);
  EncodeFixed32(h + kCorruptOffset, header.corrupt_records);
  EncodeFixed64(h + kSequenceOffset, header.sequence);
  EncodeFixed64(h + kSegmentSizeOffset, header.segment_size);
  EncodeFixed64(h + kCountOffset, header.entry_count);
  char crc[kHintTrailerSize];
  EncodeFixed32(crc, crc32c::Value(file->data(), file->size()));
  file->append(crc, sizeof(crc));
}

}  // namespace

std::string HintBuilder::Finish(HintHeader header) const {
  std::string out = file_;
  Seal(header, entry_count_, &out);
  return out;
}

std::string HintBuilder::TakeFile(HintHeader header) {
  std::string out = std::move(file_);
  Seal(header, entry_count_, &out);
  file_.assign(kHintHeaderSize, '\0');
  entry_count_ = 0;
  return out;
}

absl::StatusOr<std::vector<ScannedRecord>> DecodeHintFile(std::string_view bytes,
                                                          HintHeader* header) {
  auto bad = [](const char* why) {
    return absl::DataLossError(absl::StrCat("damaged hint file: ", why));
  };
  if (bytes.size() < kHintHeaderSize + kHintTrailerSize) return bad("too short");
  const char* h = bytes.data();
  if (DecodeFixed64(h) != kHintMagic) return bad("bad magic");
  const size_t body_end = bytes.size() - kHintTrailerSize;
  if (DecodeFixed32(h + body_end) != crc32c::Value(h, body_end)) return bad("checksum mismatch");
  header->format_version = DecodeFixed32(h + kVersionOffset);
  header->shard_id = DecodeFixed32(h + kShardOffset);
  header->ns = DecodeFixed32(h + kNamespaceOffset);
  header->corrupt_records = DecodeFixed32(h + kCorruptOffset);
  header->sequence = DecodeFixed64(h + kSequenceOffset);
  header->segment_size = DecodeFixed64(h + kSegmentSizeOffset);
  header->entry_count = DecodeFixed64(h + kCountOffset);
  // Each entry takes at least kHintEntryHeaderSize bytes: bound the count before reserving.
  if (header->entry_count > (body_end - kHintHeaderSize) / kHintEntryHeaderSize) {
    return bad("entry count exceeds the file");
  }

  std::vector<ScannedRecord> records;
  records.reserve(header->entry_count);
  size_t pos = kHintHeaderSize;
  uint64_t next_offset = kSegmentHeaderSize;  // records start after the segment header
  for (uint64_t i = 0; i < header->entry_count; ++i) {
    if (body_end - pos < kHintEntryHeaderSize) return bad("entry runs past the end");
    const char* e = h + pos;
    ScannedRecord r;
    const auto type = static_cast<uint8_t>(e[kTypeOffset]);
    const uint32_t key_len = DecodeFixed32(e + kKeyLenOffset);
    if (!IsKnownType(type) || e[1] != 0 || e[2] != 0 || e[3] != 0) return bad("bad entry type");
    r.meta_len = DecodeFixed32(e + kMetaLenOffset);
    r.value_len = DecodeFixed32(e + kValueLenOffset);
    if (key_len > kMaxKeyBytes || r.meta_len > kMaxMetaBytes || r.value_len > kMaxValueBytesLimit) {
      return bad("entry length above its cap");
    }
    if (body_end - pos - kHintEntryHeaderSize < key_len) return bad("key runs past the end");
    r.type = static_cast<RecordType>(type);
    r.revision = DecodeFixed64(e + kRevisionOffset);
    r.expire_at_ms = static_cast<int64_t>(DecodeFixed64(e + kExpireOffset));
    r.offset = DecodeFixed64(e + kRecordOffsetOffset);
    r.key.assign(e + kHintEntryHeaderSize, key_len);
    const uint64_t size = EncodedRecordSize(key_len, r.meta_len, r.value_len);
    // Records are in file order, do not overlap and lie inside the segment.
    if (r.offset < next_offset || r.offset > header->segment_size ||
        header->segment_size - r.offset < size) {
      return bad("entry outside the segment or out of order");
    }
    r.size = static_cast<uint32_t>(size);
    r.value_offset = r.offset + kRecordHeaderSize + key_len + r.meta_len;
    next_offset = r.offset + size;
    records.push_back(std::move(r));
    pos += kHintEntryHeaderSize + key_len;
  }
  if (pos != body_end) return bad("bytes after the last entry");
  return records;
}

}  // namespace beyondkv::engine
