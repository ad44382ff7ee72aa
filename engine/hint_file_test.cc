#include "engine/hint_file.h"

#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

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

// The worst case: a segment holding as many records as fit of distinct keys, all tombstones
// of 2-byte keys (38 bytes each), gets 42-byte entries: a hint larger than its segment.
// Reserved for the segment, the builder's buffer never grows (growing copies all of it).
TEST(HintFileTest, ReservedForASegmentOfTinyRecordsTheBufferNeverGrows) {
  constexpr uint64_t kRecords = 1000;
  constexpr uint64_t kSegmentSize = kSegmentHeaderSize + kRecords * (kRecordHeaderSize + 2);
  HintBuilder builder;
  builder.ReserveForSegment(kSegmentSize);
  size_t entry_bytes = 0;
  for (uint64_t i = 0; i < kRecords; ++i) {
    const std::string key = {static_cast<char>(i >> 8), static_cast<char>(i & 0xff)};
    builder.Add(Scanned(RecordType::kTombstone, key, kRevision + (i << 8), 0,
                        kSegmentHeaderSize + i * (kRecordHeaderSize + 2), 0, 0));
    entry_bytes += kHintEntryHeaderSize + 2;
  }
  EXPECT_EQ(builder.entry_count(), kRecords);
  EXPECT_EQ(builder.buffered_bytes(), entry_bytes);
  EXPECT_GT(entry_bytes, kSegmentSize);  // the hint outgrows its segment
  EXPECT_LE(entry_bytes, HintBuilder::MaxEntryBytes(kSegmentSize));
  HintHeader header;
  header.segment_size = kSegmentSize;
  const std::string file = builder.TakeFile(header);
  // Still the buffer reserved at the start (libstdc++ reserves exactly; growth doubles).
  EXPECT_EQ(file.capacity(),
            kHintHeaderSize + HintBuilder::MaxEntryBytes(kSegmentSize) + kHintTrailerSize);
  HintHeader decoded;
  absl::StatusOr<std::vector<ScannedRecord>> records = DecodeHintFile(file, &decoded);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->size(), kRecords);
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
// Every key the same hash.
uint64_t OneHashForAll(std::string_view) { return 7; }

// A segment's records as (type, key) in file order; offsets and revisions follow.
std::vector<ScannedRecord> Segment(const std::vector<std::pair<RecordType, std::string>>& spec) {
  std::vector<ScannedRecord> records;
  uint64_t offset = kSegmentHeaderSize;
  uint64_t revision = kRevision;
  for (const auto& [type, key] : spec) {
    const uint32_t value_len = type == RecordType::kPut ? 3 : 0;
    records.push_back(Scanned(type, key, revision, type == RecordType::kExpire ? 9000 : 0,
                              offset, 0, value_len));
    offset += records.back().size;
    revision += 256;
  }
  return records;
}

// Builds the hint of `records` and returns the offsets of the entries it kept.
std::vector<uint64_t> KeptOffsets(
    const std::vector<ScannedRecord>& records,
    size_t max_tracked_keys = HintBuilder::kDefaultMaxTrackedKeys,
    HintBuilder::KeyHashFn key_hash = &HintBuilder::DefaultKeyHash) {
  HintBuilder builder(max_tracked_keys, key_hash);
  builder.AddBatch(records.data(), records.size());
  HintHeader header;
  header.segment_size = records.empty() ? kSegmentHeaderSize
                                        : records.back().offset + records.back().size;
  const size_t count = builder.entry_count();
  const std::string copy = builder.Finish(header);
  const std::string file = builder.TakeFile(header);
  EXPECT_EQ(copy, file);
  HintHeader decoded;
  absl::StatusOr<std::vector<ScannedRecord>> hinted = DecodeHintFile(file, &decoded);
  EXPECT_TRUE(hinted.ok()) << hinted.status();
  std::vector<uint64_t> offsets;
  if (!hinted.ok()) return offsets;
  EXPECT_EQ(hinted->size(), count);
  for (const ScannedRecord& r : *hinted) offsets.push_back(r.offset);
  return offsets;
}

std::vector<uint64_t> OffsetsOf(const std::vector<ScannedRecord>& records,
                                const std::vector<size_t>& indexes) {
  std::vector<uint64_t> offsets;
  for (size_t i : indexes) offsets.push_back(records[i].offset);
  return offsets;
}

// A hint that keeps few of its entries is copied out, and the builder keeps its buffer (and
// table) for the next segment, whose hint is as a fresh builder's.
TEST(HintFileTest, TakeFileCopiesFewKeptEntriesAndKeepsTheBufferForTheNextSegment) {
  using T = RecordType;
  std::vector<std::pair<RecordType, std::string>> spec;
  for (int i = 0; i < 100; ++i) spec.push_back({T::kPut, "k" + std::to_string(i % 7)});
  const std::vector<ScannedRecord> records = Segment(spec);
  HintHeader header;
  header.segment_size = records.back().offset + records.back().size;
  HintBuilder builder;
  builder.Reserve(1 << 20);
  for (int segment = 0; segment < 3; ++segment) {
    builder.AddBatch(records.data(), records.size());
    EXPECT_EQ(builder.entry_count(), 7u);
    const std::string copy = builder.Finish(header);
    const std::string taken = builder.TakeFile(header);
    EXPECT_EQ(taken, copy);
    EXPECT_LT(taken.capacity(), size_t{1} << 20);  // a copy of the 7 kept
    EXPECT_EQ(builder.entry_count(), 0u);
    EXPECT_EQ(builder.buffered_bytes(), 0u);
    HintBuilder fresh;
    fresh.AddBatch(records.data(), records.size());
    EXPECT_EQ(taken, fresh.Finish(header)) << "segment " << segment;
    if (segment == 0) EXPECT_GE(builder.capacity_bytes(), size_t{1} << 20);  // kept
    if (segment == 1) {
      builder.Release();
      EXPECT_LT(builder.capacity_bytes(), size_t{4096});
    }
  }
}

TEST(HintFileTest, SupersededRecordsAreLeftOut) {
  using T = RecordType;
  const std::vector<ScannedRecord> records = Segment({
      {T::kPut, "a"},        // 0: superseded by 2
      {T::kPut, "b"},        // 1: kept
      {T::kPut, "a"},        // 2: superseded by 5
      {T::kExpire, "a"},     // 3: superseded by 5
      {T::kExpire, "c"},     // 4: superseded by 6 (an expire without a put here)
      {T::kTombstone, "a"},  // 5: kept
      {T::kExpire, "c"},     // 6: kept
      {T::kPut, "d"},        // 7: kept
      {T::kExpire, "d"},     // 8: superseded by 9
      {T::kExpire, "d"},     // 9: kept, with 7
  });
  EXPECT_EQ(KeptOffsets(records), OffsetsOf(records, {1, 5, 6, 7, 9}));
  EXPECT_EQ(KeptOffsets(records, 0), OffsetsOf(records, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(DecidingRecords(records),
            (std::vector<bool>{false, true, false, false, false, true, true, true, false, true}));
}

TEST(HintFileTest, AFlushVoidsEverythingBeforeIt) {
  using T = RecordType;
  const std::vector<ScannedRecord> records = Segment({
      {T::kPut, "a"}, {T::kPut, "b"}, {T::kFlush, ""}, {T::kPut, "a"}, {T::kFlush, ""},
      {T::kPut, "b"}, {T::kExpire, "b"}, {T::kPut, "c"}, {T::kPut, "c"},
  });
  EXPECT_EQ(KeptOffsets(records), OffsetsOf(records, {4, 5, 6, 8}));
  EXPECT_EQ(DecidingRecords(records), (std::vector<bool>{false, false, false, false, true, true,
                                                         true, false, true}));
}

// Past max_tracked_keys distinct keys the tracking starts over: records superseded across the
// restart stay (a larger hint, never a wrong one).
TEST(HintFileTest, TrackingStartsOverPastItsLimitAndKeepsWhatItLostTrackOf) {
  using T = RecordType;
  const std::vector<ScannedRecord> records = Segment({
      {T::kPut, "a"}, {T::kPut, "b"}, {T::kPut, "a"},  // a tracked: 0 dropped
      {T::kPut, "c"},                                   // a third key: start over
      {T::kPut, "a"},                                   // 2 is no longer tracked: kept
      {T::kPut, "c"},                                   // 3 dropped
  });
  EXPECT_EQ(KeptOffsets(records, 2), OffsetsOf(records, {1, 2, 4, 5}));
  EXPECT_EQ(KeptOffsets(records), OffsetsOf(records, {1, 4, 5}));
}

// Keys whose hashes collide are told apart by their bytes and tracked each on its own.
TEST(HintFileTest, KeysWhoseHashesCollideAreToldApart) {
  using T = RecordType;
  const std::vector<ScannedRecord> records = Segment({
      {T::kPut, "a"}, {T::kPut, "a"},     // 0 dropped
      {T::kPut, "b"},                     // same hash as a: its own slot
      {T::kPut, "a"},                     // 1 dropped, not 2
      {T::kExpire, "a"}, {T::kPut, "a"},  // 3 and 4 dropped
      {T::kExpire, "b"},                  // kept with 2
  });
  EXPECT_EQ(KeptOffsets(records, HintBuilder::kDefaultMaxTrackedKeys, &OneHashForAll),
            OffsetsOf(records, {2, 5, 6}));
  EXPECT_EQ(KeptOffsets(records), OffsetsOf(records, {2, 5, 6}));
}

// What recovery does with a list of records (ApplyRecovered's rules), for comparing a hint's
// entries with the segment's records: key -> (put offset, revision, expire_at_ms).
std::map<std::string, std::tuple<uint64_t, uint64_t, int64_t>> Replay(
    const std::vector<ScannedRecord>& records) {
  std::map<std::string, std::tuple<uint64_t, uint64_t, int64_t>> index;
  for (const ScannedRecord& r : records) {
    switch (r.type) {
      case RecordType::kPut:
        index[r.key] = {r.offset, r.revision, r.expire_at_ms};
        break;
      case RecordType::kTombstone:
        index.erase(r.key);
        break;
      case RecordType::kExpire:
        if (auto it = index.find(r.key); it != index.end()) {
          std::get<1>(it->second) = r.revision;
          std::get<2>(it->second) = r.expire_at_ms;
        }
        break;
      case RecordType::kFlush:
        index.clear();
        break;
    }
  }
  return index;
}

// Random segments over a few keys, with and without a tight tracking limit (and with keys whose
// hashes all collide): the hint's
// entries are records of the segment, in order, include every deciding one, and replay (on
// top of an earlier state, as recovery does segment after segment) to what the records do.
TEST(HintFileTest, AHintReplaysToWhatItsSegmentDoes) {
  std::mt19937_64 rng(20261205);
  const RecordType types[] = {RecordType::kPut, RecordType::kPut, RecordType::kTombstone,
                              RecordType::kExpire, RecordType::kFlush};
  for (int round = 0; round < 300; ++round) {
    std::vector<std::pair<RecordType, std::string>> spec;
    // Earlier segments' state: a put of every key first, then this segment.
    const int keys = 1 + static_cast<int>(rng() % 6);
    std::vector<std::pair<RecordType, std::string>> earlier;
    // Some rounds' keys share their first 50 bytes (more than a tracking slot holds).
    const std::string prefix = round % 4 == 1 ? std::string(50, 'x') + "k" : "k";
    for (int k = 0; k < keys; ++k) earlier.push_back({RecordType::kPut, prefix + std::to_string(k)});
    const int n = static_cast<int>(rng() % (round % 2 == 0 ? 40 : 200));
    for (int i = 0; i < n; ++i) {
      RecordType t = types[rng() % (round % 3 == 0 ? 5 : 4)];
      spec.push_back({t, t == RecordType::kFlush ? "" : prefix + std::to_string(rng() % keys)});
    }
    std::vector<ScannedRecord> before = Segment(earlier);
    std::vector<ScannedRecord> records = Segment(spec);
    for (const size_t limit :
         {size_t{1}, size_t{2}, HintBuilder::kDefaultMaxTrackedKeys, size_t{0}}) {
      // limit 0 stands for the default limit with colliding hashes here.
      HintBuilder builder = limit == 0
                                ? HintBuilder(HintBuilder::kDefaultMaxTrackedKeys, &OneHashForAll)
                                : HintBuilder(limit);
      if (round % 2 == 0) {
        for (const ScannedRecord& r : records) builder.Add(r);
      } else {
        builder.AddBatch(records.data(), records.size());
      }
      HintHeader header;
      header.segment_size = kSegmentHeaderSize + 1000000;
      HintHeader decoded;
      absl::StatusOr<std::vector<ScannedRecord>> hinted =
          DecodeHintFile(builder.TakeFile(header), &decoded);
      ASSERT_TRUE(hinted.ok()) << hinted.status();
      const std::vector<bool> deciding = DecidingRecords(records);
      size_t h = 0;
      for (size_t i = 0; i < records.size(); ++i) {
        const bool kept = h < hinted->size() && (*hinted)[h].offset == records[i].offset;
        if (kept) {
          EXPECT_EQ((*hinted)[h].key, records[i].key);
          EXPECT_EQ((*hinted)[h].revision, records[i].revision);
          ++h;
        }
        if (deciding[i]) {
          EXPECT_TRUE(kept) << "round " << round << " record " << i;
        }
      }
      EXPECT_EQ(h, hinted->size()) << "an entry that is no record of the segment";
      std::vector<ScannedRecord> all = before, from_hint = before;
      all.insert(all.end(), records.begin(), records.end());
      from_hint.insert(from_hint.end(), hinted->begin(), hinted->end());
      EXPECT_EQ(Replay(from_hint), Replay(all)) << "round " << round << " limit " << limit;
      std::vector<ScannedRecord> only_deciding = before;
      for (size_t i = 0; i < records.size(); ++i) {
        if (deciding[i]) only_deciding.push_back(records[i]);
      }
      EXPECT_EQ(Replay(only_deciding), Replay(all)) << "round " << round;
    }
  }
}

}  // namespace beyondkv::engine
