#include "engine/record_codec.h"

#include <glog/logging.h>

#include <algorithm>

#include "engine/coding.h"
#include "engine/crc32c.h"

namespace beyondkv::engine {
namespace {

// Field offsets inside the fixed header (FORMAT.md "Record").
constexpr size_t kTypeOffset = 4;
constexpr size_t kFlagsOffset = 5;
constexpr size_t kReservedOffset = 6;
constexpr size_t kRevisionOffset = 8;
constexpr size_t kExpireOffset = 16;
constexpr size_t kKeyLenOffset = 24;
constexpr size_t kMetaLenOffset = 28;
constexpr size_t kValueLenOffset = 32;
static_assert(kValueLenOffset + 4 == kRecordHeaderSize);

bool IsKnownType(uint8_t type) {
  switch (static_cast<RecordType>(type)) {
    case RecordType::kPut:
    case RecordType::kTombstone:
    case RecordType::kExpire:
    case RecordType::kFlush:
      return true;
  }
  return false;
}

}  // namespace

void AppendRecord(const RecordView& record, std::string* dst) {
  CHECK_LE(record.key.size(), kMaxKeyBytes);
  CHECK_LE(record.metadata.size(), kMaxMetaBytes);
  CHECK_LE(record.value.size(), kMaxValueBytesLimit);
  const size_t start = dst->size();
  dst->resize(start + kRecordHeaderSize);
  char* h = dst->data() + start;
  h[kTypeOffset] = static_cast<char>(record.type);
  h[kFlagsOffset] = 0;
  EncodeFixed16(h + kReservedOffset, 0);
  EncodeFixed64(h + kRevisionOffset, record.revision);
  EncodeFixed64(h + kExpireOffset, static_cast<uint64_t>(record.expire_at_ms));
  EncodeFixed32(h + kKeyLenOffset, static_cast<uint32_t>(record.key.size()));
  EncodeFixed32(h + kMetaLenOffset, static_cast<uint32_t>(record.metadata.size()));
  EncodeFixed32(h + kValueLenOffset, static_cast<uint32_t>(record.value.size()));
  uint32_t crc = crc32c::Value(h + kRecordCrcSize, kRecordHeaderSize - kRecordCrcSize);
  for (std::string_view part : {record.key, record.metadata, record.value}) {
    crc = crc32c::Extend(crc, part.data(), part.size());
    dst->append(part);
  }
  // `h` may have moved when appending; address the header through dst again.
  EncodeFixed32(dst->data() + start, crc);
}

DecodeStatus DecodeRecordHeader(std::string_view input, uint32_t max_value_bytes,
                                RecordHeader* header) {
  if (input.size() < kRecordHeaderSize) return DecodeStatus::kIncomplete;
  const char* h = input.data();
  const auto type = static_cast<uint8_t>(h[kTypeOffset]);
  // Every field is filled before judging, so a scanner can still use the lengths of a
  // record it rejects to try to resynchronise after it.
  header->crc = DecodeFixed32(h);
  header->type = static_cast<RecordType>(type);
  header->revision = DecodeFixed64(h + kRevisionOffset);
  header->expire_at_ms = static_cast<int64_t>(DecodeFixed64(h + kExpireOffset));
  header->key_len = DecodeFixed32(h + kKeyLenOffset);
  header->meta_len = DecodeFixed32(h + kMetaLenOffset);
  header->value_len = DecodeFixed32(h + kValueLenOffset);
  if (!IsKnownType(type) || h[kFlagsOffset] != 0 || DecodeFixed16(h + kReservedOffset) != 0 ||
      !LengthsWithinCaps(*header, max_value_bytes)) {
    return DecodeStatus::kCorrupt;
  }
  return DecodeStatus::kOk;
}

bool LengthsWithinCaps(const RecordHeader& header, uint32_t max_value_bytes) {
  return header.key_len <= kMaxKeyBytes && header.meta_len <= kMaxMetaBytes &&
         header.value_len <= std::min(max_value_bytes, kMaxValueBytesLimit);
}

uint32_t RecordCrcStart(std::string_view header_bytes) {
  DCHECK_GE(header_bytes.size(), kRecordHeaderSize);
  return crc32c::Value(header_bytes.data() + kRecordCrcSize,
                       kRecordHeaderSize - kRecordCrcSize);
}

DecodeStatus DecodeRecord(std::string_view input, uint32_t max_value_bytes,
                          RecordView* record, size_t* consumed) {
  RecordHeader header;
  const DecodeStatus status = DecodeRecordHeader(input, max_value_bytes, &header);
  if (status != DecodeStatus::kOk) return status;
  const uint64_t size = header.record_size();
  if (input.size() < size) return DecodeStatus::kIncomplete;
  const uint32_t crc = crc32c::Extend(RecordCrcStart(input), input.data() + kRecordHeaderSize,
                                      size - kRecordHeaderSize);
  if (crc != header.crc) return DecodeStatus::kCorrupt;
  const char* body = input.data() + kRecordHeaderSize;
  record->type = header.type;
  record->revision = header.revision;
  record->expire_at_ms = header.expire_at_ms;
  record->key = std::string_view(body, header.key_len);
  record->metadata = std::string_view(body + header.key_len, header.meta_len);
  record->value = std::string_view(body + header.key_len + header.meta_len, header.value_len);
  *consumed = size;
  return DecodeStatus::kOk;
}

}  // namespace beyondkv::engine
