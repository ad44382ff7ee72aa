#include "engine/hint_file.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/coding.h"
#include "engine/crc32c.h"
#include "engine/record_format.h"
// XXH3 compiled into this file (static inline): keys are short.
#define XXH_INLINE_ALL
#include <xxhash.h>

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

// The type byte of an entry dropped as superseded (no record type is 0).
constexpr char kSupersededType = 0;

uint64_t KeyHash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

}  // namespace

HintBuilder::HintBuilder(size_t max_tracked_keys)
    : file_(kHintHeaderSize, '\0'), max_tracked_keys_(max_tracked_keys),
      live_from_(kHintHeaderSize) {}

size_t HintBuilder::buffered_bytes() const { return file_.size() - live_from_; }

std::string_view HintBuilder::KeyAt(uint64_t entry_offset) const {
  const char* e = file_.data() + entry_offset;
  return std::string_view(e + kHintEntryHeaderSize, DecodeFixed32(e + kKeyLenOffset));
}

void HintBuilder::Supersede(uint64_t entry_offset) {
  file_[entry_offset + kTypeOffset] = kSupersededType;
  --entry_count_;
}

void HintBuilder::Reset() {
  file_.assign(kHintHeaderSize, '\0');
  entry_count_ = 0;
  tracked_.clear();
  live_from_ = kHintHeaderSize;
}

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
  const uint64_t offset = file_.size();
  file_.append(e, sizeof(e));
  file_.append(record.key);
  ++entry_count_;

  if (max_tracked_keys_ == 0) return;
  if (record.type == RecordType::kFlush) {  // every entry before it is void
    entry_count_ = 1;
    live_from_ = offset;
    tracked_.clear();
    return;
  }
  const uint64_t hash = KeyHash(record.key);
  auto it = tracked_.find(hash);
  if (it == tracked_.end()) {
    if (tracked_.size() >= max_tracked_keys_) tracked_.clear();  // start over (see the class)
    it = tracked_.try_emplace(hash).first;
  }
  Tracked& t = it->second;
  const uint64_t known = t.decisive != kNone ? t.decisive : t.expire;
  if (known != kNone && KeyAt(known) != record.key) t = Tracked{};  // another key, same hash
  if (record.type == RecordType::kExpire) {
    if (t.expire != kNone) Supersede(t.expire);
    t.expire = offset;
  } else {  // a put or a tombstone decides the key anew
    if (t.decisive != kNone) Supersede(t.decisive);
    if (t.expire != kNone) Supersede(t.expire);
    t = Tracked{offset, kNone};
  }
}

namespace {

// Squeezes the entries of `file` from `from` on, less those marked superseded, to right
// after the header, in order.
void DropSuperseded(uint64_t from, std::string* file) {
  char* p = file->data();
  uint64_t write = kHintHeaderSize;
  for (uint64_t read = from; read < file->size();) {
    const uint64_t n = kHintEntryHeaderSize + DecodeFixed32(p + read + kKeyLenOffset);
    if (p[read + kTypeOffset] != kSupersededType) {
      if (write != read) std::memmove(p + write, p + read, n);
      write += n;
    }
    read += n;
  }
  file->resize(write);
}

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
  DropSuperseded(live_from_, &out);
  Seal(header, entry_count_, &out);
  return out;
}

std::string HintBuilder::TakeFile(HintHeader header) {
  std::string out = std::move(file_);
  DropSuperseded(live_from_, &out);
  Seal(header, entry_count_, &out);
  Reset();
  return out;
}

std::vector<bool> DecidingRecords(const std::vector<ScannedRecord>& records) {
  std::vector<bool> deciding(records.size(), false);
  // Walking backwards: a record decides unless a later one already settled its key.
  struct Later {
    bool decisive = false;  // a put or tombstone follows
    bool expire = false;    // an expire follows
  };
  absl::flat_hash_map<std::string_view, Later> later;
  for (size_t i = records.size(); i-- > 0;) {
    const ScannedRecord& r = records[i];
    if (r.type == RecordType::kFlush) {
      deciding[i] = true;
      break;  // everything before the last flush is void
    }
    Later& l = later[r.key];
    if (r.type == RecordType::kExpire) {
      deciding[i] = !l.decisive && !l.expire;
      l.expire = true;
    } else {
      deciding[i] = !l.decisive;
      l.decisive = true;
    }
  }
  return deciding;
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
