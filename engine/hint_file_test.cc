#include "engine/hint_file.h"

#include <string>

#include "absl/strings/escaping.h"
#include "engine/record_format.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

constexpr uint64_t kRevision = (1700000000000000ull << 8) | 3;  // shard 3

ScannedRecord Scanned(RecordType type, std::string key, uint64_t revision, int64_t expire_at_ms,
                      uint64_t offset, uint32_t meta_len, uint32_t value_len) {
  ScannedRecord r;
  r.type = type;
  r.key = std::move(key);
  r.revision = revision;
  r.expire_at_ms = expire_at_ms;
  r.offset = offset;
  r.meta_len = meta_len;
  r.value_len = value_len;
  r.size = static_cast<uint32_t>(EncodedRecordSize(r.key.size(), meta_len, value_len));
  r.value_offset = offset + kRecordHeaderSize + r.key.size() + meta_len;
  return r;
}

// The segment of FORMAT.md's hint example: the example put ("user:1" = "hello") at offset
// 40, then a tombstone of "k"; 124 bytes in all.
std::string ExampleHint() {
  HintBuilder builder;
  builder.Add(Scanned(RecordType::kPut, "user:1", kRevision, 1700000060000, 40, 0, 5));
  builder.Add(Scanned(RecordType::kTombstone, "k", kRevision + 256, 0, 87, 0, 0));
  HintHeader header;
  header.format_version = kFormatVersion;
  header.shard_id = 3;
  header.ns = 0;
  header.sequence = 1;
  header.segment_size = 124;
  return builder.Finish(header);
}

// If this test fails, the hint format changed: update FORMAT.md (and think about old files).
TEST(HintFileTest, EncodingMatchesGoldenBytes) {
  EXPECT_EQ(absl::BytesToHexString(ExampleHint()),
            "424b5648494e540a"   // "BKVHINT\n"
            "02000000"           // format_version
            "03000000"           // shard_id
            "00000000"           // namespace
            "00000000"           // corrupt_records
            "0100000000000000"   // sequence
            "7c00000000000000"   // segment_size 124
            "0200000000000000"   // entry_count
            // entry 1: put, key_len 6, revision, expire_at_ms, offset 40, meta_len, value_len
            "01000000" "06000000" "0300401e18240a06" "6052e6cf8b010000" "2800000000000000"
            "00000000" "05000000" "757365723a31"
            // entry 2: tombstone "k" at offset 87
            "02000000" "01000000" "0301401e18240a06" "0000000000000000" "5700000000000000"
            "00000000" "00000000" "6b"
            "5b7cceb3");         // crc32c of everything before
}

// The worst case: a segment holding as many records as fit, all header-only (tombstones of
// the empty key, 36 bytes each) gets 40-byte entries, a hint larger than its segment.
// Reserved for the segment, the builder's buffer never grows (growing copies all of it).
TEST(HintFileTest, ReservedForASegmentOfTinyRecordsTheBufferNeverGrows) {
  constexpr uint64_t kSegmentSize = kSegmentHeaderSize + 1000 * kRecordHeaderSize + 20;
  HintBuilder builder;
  builder.ReserveForSegment(kSegmentSize);
  size_t entry_bytes = 0;
  for (uint64_t offset = kSegmentHeaderSize; offset + kRecordHeaderSize <= kSegmentSize;
       offset += kRecordHeaderSize) {
    builder.Add(Scanned(RecordType::kTombstone, "", kRevision, 0, offset, 0, 0));
    entry_bytes += kHintEntryHeaderSize;
  }
  EXPECT_EQ(builder.entry_count(), 1000u);
  EXPECT_EQ(builder.buffered_bytes(), entry_bytes);
  EXPECT_GT(entry_bytes, kSegmentSize);  // the hint outgrows its segment
  EXPECT_EQ(HintBuilder::MaxEntryBytes(kSegmentSize), kSegmentSize + 1000 * 4);
  HintHeader header;
  header.segment_size = kSegmentSize;
  const std::string file = builder.TakeFile(header);
  // Still the buffer reserved at the start (libstdc++ reserves exactly; growth doubles).
  EXPECT_EQ(file.capacity(),
            kHintHeaderSize + HintBuilder::MaxEntryBytes(kSegmentSize) + kHintTrailerSize);
  HintHeader decoded;
  absl::StatusOr<std::vector<ScannedRecord>> records = DecodeHintFile(file, &decoded);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->size(), 1000u);
}

TEST(HintFileTest, TakeFileGivesFinishsBytesWithoutACopyAndEmptiesTheBuilder) {
  HintBuilder builder;
  builder.Reserve(1 << 20);
  builder.Add(Scanned(RecordType::kPut, "user:1", kRevision, 1700000060000, 40, 0, 5));
  builder.Add(Scanned(RecordType::kTombstone, "k", kRevision + 256, 0, 87, 0, 0));
  EXPECT_EQ(builder.buffered_bytes(), 2 * kHintEntryHeaderSize + 7);
  HintHeader header;
  header.format_version = kFormatVersion;
  header.shard_id = 3;
  header.sequence = 1;
  header.segment_size = 124;
  const std::string copy = builder.Finish(header);
  {
    const std::string taken = builder.TakeFile(header);
    EXPECT_EQ(taken, copy);
    EXPECT_EQ(taken, ExampleHint());
    EXPECT_GE(taken.capacity(), (1u << 20));  // the reserved buffer itself, not a copy
  }
  EXPECT_EQ(builder.entry_count(), 0u);
  EXPECT_EQ(builder.buffered_bytes(), 0u);
  // Reusable: what follows is a hint of its own.
  builder.Add(Scanned(RecordType::kTombstone, "k", kRevision + 256, 0, 87, 0, 0));
  HintHeader decoded;
  absl::StatusOr<std::vector<ScannedRecord>> records =
      DecodeHintFile(builder.TakeFile(header), &decoded);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].key, "k");
  EXPECT_EQ(decoded.entry_count, 1u);
}

TEST(HintFileTest, RoundTrips) {
  HintHeader header;
  absl::StatusOr<std::vector<ScannedRecord>> records = DecodeHintFile(ExampleHint(), &header);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(header.format_version, kFormatVersion);
  EXPECT_EQ(header.shard_id, 3u);
  EXPECT_EQ(header.sequence, 1u);
  EXPECT_EQ(header.segment_size, 124u);
  EXPECT_EQ(header.entry_count, 2u);
  ASSERT_EQ(records->size(), 2u);
  const ScannedRecord& put = (*records)[0];
  EXPECT_EQ(put.type, RecordType::kPut);
  EXPECT_EQ(put.key, "user:1");
  EXPECT_EQ(put.revision, kRevision);
  EXPECT_EQ(put.expire_at_ms, 1700000060000);
  EXPECT_EQ(put.offset, 40u);
  EXPECT_EQ(put.size, 47u);
  EXPECT_EQ(put.value_offset, 40u + 36 + 6);
  EXPECT_EQ(put.value_len, 5u);
  EXPECT_EQ((*records)[1].type, RecordType::kTombstone);
  EXPECT_EQ((*records)[1].key, "k");
  EXPECT_EQ((*records)[1].size, 37u);
}

TEST(HintFileTest, EmptySegmentHasAnEmptyHint) {
  HintHeader header;
  header.segment_size = kSegmentHeaderSize;
  const std::string bytes = HintBuilder().Finish(header);
  EXPECT_EQ(bytes.size(), kHintHeaderSize + kHintTrailerSize);
  absl::StatusOr<std::vector<ScannedRecord>> records = DecodeHintFile(bytes, &header);
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
}

TEST(HintFileTest, AnyDamageIsDataLoss) {
  const std::string bytes = ExampleHint();
  HintHeader header;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] ^= 0x01;
    EXPECT_TRUE(absl::IsDataLoss(DecodeHintFile(damaged, &header).status())) << "byte " << i;
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_TRUE(absl::IsDataLoss(DecodeHintFile(bytes.substr(0, n), &header).status()))
        << n << " bytes";
  }
  EXPECT_TRUE(absl::IsDataLoss(DecodeHintFile(bytes + "x", &header).status()));
}

TEST(HintFileTest, EntriesOutsideTheSegmentOrOutOfOrderAreDataLoss) {
  HintHeader header;
  header.format_version = kFormatVersion;
  header.segment_size = 100;
  {
    HintBuilder builder;  // the record would end past the segment
    builder.Add(Scanned(RecordType::kPut, "k", 1, 0, 40, 0, 100));
    EXPECT_TRUE(absl::IsDataLoss(DecodeHintFile(builder.Finish(header), &header).status()));
  }
  {
    HintBuilder builder;  // overlapping records
    builder.Add(Scanned(RecordType::kPut, "a", 1, 0, 40, 0, 1));
    builder.Add(Scanned(RecordType::kPut, "b", 2, 0, 41, 0, 1));
    EXPECT_TRUE(absl::IsDataLoss(DecodeHintFile(builder.Finish(header), &header).status()));
  }
  {
    HintBuilder builder;  // inside the segment header
    builder.Add(Scanned(RecordType::kPut, "a", 1, 0, 0, 0, 1));
    EXPECT_TRUE(absl::IsDataLoss(DecodeHintFile(builder.Finish(header), &header).status()));
  }
}

}  // namespace
}  // namespace beyondkv::engine
