#include "engine/hint_file.h"

#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_map.h"
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

}  // namespace

uint64_t HintBuilder::DefaultKeyHash(std::string_view key) {
  return XXH3_64bits(key.data(), key.size());
}

HintBuilder::HintBuilder(size_t max_tracked_keys, KeyHashFn key_hash)
    : file_(kHintHeaderSize, '\0'), max_tracked_keys_(max_tracked_keys), key_hash_(key_hash),
      live_from_(kHintHeaderSize) {}

size_t HintBuilder::buffered_bytes() const { return file_.size() - live_from_; }

void HintBuilder::Supersede(uint32_t entry) {
  superseded_[entry / 64] |= uint64_t{1} << (entry % 64);
  --entry_count_;
}

void HintBuilder::ForgetKeys() {
  if (slots_used_ > 0) {
    for (Slot& slot : slots_) slot.key_size = kNone;
  }
  slots_used_ = 0;
  tails_.clear();
}

void HintBuilder::Release() {
  Reset();
  std::string(kHintHeaderSize, '\0').swap(file_);
  std::vector<Slot>().swap(slots_);
  slots_used_ = 0;
  std::string().swap(tails_);
  std::vector<uint64_t>().swap(superseded_);
}

bool HintBuilder::Dropped(uint64_t entry) const {
  return entry / 64 < superseded_.size() && ((superseded_[entry / 64] >> (entry % 64)) & 1) != 0;
}

void HintBuilder::Reset() {
  file_.assign(kHintHeaderSize, '\0');
  entries_added_ = 0;
  entry_count_ = 0;
  ForgetKeys();
  superseded_.clear();
  live_from_ = kHintHeaderSize;
  live_from_entry_ = 0;
}

bool HintBuilder::Holds(const Slot& slot, uint64_t hash, std::string_view key) const {
  if (slot.hash != hash || slot.key_size != key.size()) return false;
  const size_t head = std::min(key.size(), kInlineKeyBytes);
  if (std::memcmp(slot.head, key.data(), head) != 0) return false;
  return key.size() == head ||
         std::memcmp(tails_.data() + slot.tail_offset, key.data() + head, key.size() - head) == 0;
}

HintBuilder::Slot* HintBuilder::Track(uint64_t hash, std::string_view key) {
  if (slots_.empty()) slots_.resize(kMinSlots, kFreeSlot);
  for (;;) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    for (; slots_[i].key_size != kNone; i = (i + 1) & mask) {
      if (Holds(slots_[i], hash, key)) return &slots_[i];
    }
    // Not tracked; slots_[i] is the free slot that ended the probe.
    const size_t tail = key.size() > kInlineKeyBytes ? key.size() - kInlineKeyBytes : 0;
    if (slots_used_ >= max_tracked_keys_ || tails_.size() + tail > kMaxTrackedKeyBytes) {
      ForgetKeys();  // start over (see the class)
    } else if (2 * (slots_used_ + 1) > slots_.size()) {
      Grow();
    } else {
      Slot& slot = slots_[i];
      slot.hash = hash;
      slot.decisive = slot.expire = kNone;
      slot.key_size = static_cast<uint32_t>(key.size());
      slot.tail_offset = static_cast<uint32_t>(tails_.size());
      std::memcpy(slot.head, key.data(), key.size() - tail);
      tails_.append(key.data() + key.size() - tail, tail);
      ++slots_used_;
      return &slot;
    }
  }
}

void HintBuilder::Grow() {
  std::vector<Slot> old(slots_.size() * 2, kFreeSlot);
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.key_size == kNone) continue;
    size_t i = slot.hash & mask;
    while (slots_[i].key_size != kNone) i = (i + 1) & mask;
    slots_[i] = slot;
  }
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
  AddHashed(record, max_tracked_keys_ == 0 ? 0 : key_hash_(record.key));
}

void HintBuilder::AddBatch(const ScannedRecord* records, size_t n) {
  if (max_tracked_keys_ == 0 || slots_.empty()) {
    for (size_t i = 0; i < n; ++i) Add(records[i]);
    return;
  }
  constexpr size_t kRun = 16;
  uint64_t hashes[kRun];
  for (size_t start = 0; start < n; start += kRun) {
    const size_t run = std::min(kRun, n - start);
    const size_t mask = slots_.size() - 1;
    for (size_t i = 0; i < run; ++i) {
      hashes[i] = key_hash_(records[start + i].key);
      __builtin_prefetch(&slots_[hashes[i] & mask]);
    }
    for (size_t i = 0; i < run; ++i) AddHashed(records[start + i], hashes[i]);
  }
}

void HintBuilder::AddHashed(const ScannedRecord& record, uint64_t hash) {
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
  const uint64_t entry = entries_added_++;
  ++entry_count_;

  // Entry numbers are 32-bit in the table: past 2^32 - 1 entries (no segment of records of
  // at least kRecordHeaderSize bytes under 16 GiB has so many), the rest are all kept.
  if (max_tracked_keys_ == 0 || entry >= kNone) return;
  if (entry % 64 == 0) superseded_.push_back(0);
  if (record.type == RecordType::kFlush) {  // every entry before it is void
    entry_count_ = 1;
    live_from_ = offset;
    live_from_entry_ = entry;
    ForgetKeys();
    return;
  }
  Slot& t = *Track(hash, record.key);
  const uint32_t e32 = static_cast<uint32_t>(entry);
  if (record.type == RecordType::kExpire) {
    if (t.expire != kNone) Supersede(t.expire);
    t.expire = e32;
  } else {  // a put or a tombstone decides the key anew
    if (t.decisive != kNone) Supersede(t.decisive);
    if (t.expire != kNone) Supersede(t.expire);
    t.decisive = e32;
    t.expire = kNone;
  }
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

template <typename Fn>
void HintBuilder::ForEachKept(Fn fn) const {
  const char* p = file_.data();
  uint64_t entry = live_from_entry_;
  for (uint64_t offset = live_from_; offset < file_.size(); ++entry) {
    const uint64_t n = kHintEntryHeaderSize + DecodeFixed32(p + offset + kKeyLenOffset);
    if (!Dropped(entry)) fn(offset, n);
    offset += n;
  }
}

std::string HintBuilder::CopyKept() const {
  const uint64_t live_entries = entries_added_ - live_from_entry_;
  const uint64_t live_bytes = file_.size() - live_from_;
  std::string out;
  // Room for the kept entries if they are of the mean size, and a quarter more.
  out.reserve(kHintHeaderSize + kHintTrailerSize +
              (live_entries == 0 ? 0 : live_bytes / live_entries * entry_count_ * 5 / 4));
  out.assign(kHintHeaderSize, '\0');
  ForEachKept([&](uint64_t offset, uint64_t n) { out.append(file_.data() + offset, n); });
  return out;
}

std::string HintBuilder::Finish(HintHeader header) const {
  std::string out = CopyKept();
  Seal(header, entry_count_, &out);
  return out;
}

std::string HintBuilder::TakeFile(HintHeader header) {
  std::string out;
  if (entry_count_ * 2 <= entries_added_ - live_from_entry_) {
    out = CopyKept();  // few kept: the buffer stays for the next segment
  } else {
    // Squeezed in place, in order (an entry never moves past one not yet read).
    char* p = file_.data();
    uint64_t write = kHintHeaderSize;
    ForEachKept([&](uint64_t offset, uint64_t n) {
      if (write != offset) std::memmove(p + write, p + offset, n);
      write += n;
    });
    file_.resize(write);
    out = std::move(file_);
  }
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
