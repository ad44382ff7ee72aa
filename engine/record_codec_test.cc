#include "engine/record_codec.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

constexpr uint64_t kRevision = (1700000000000000ull << 8) | 3;  // shard 3
constexpr int64_t kExpireAtMs = 1700000060000;

RecordView ExampleRecord() {
  RecordView r;
  r.type = RecordType::kPut;
  r.revision = kRevision;
  r.expire_at_ms = kExpireAtMs;
  r.key = "user:1";
  r.value = "hello";
  return r;
}

std::string Encode(const RecordView& r) {
  std::string out;
  AppendRecord(r, &out);
  return out;
}

// The example record of engine/FORMAT.md. If this test fails, the on-disk format changed:
// bump kFormatVersion and update FORMAT.md instead of the expected bytes.
TEST(RecordCodecTest, EncodingMatchesGoldenBytes) {
  const std::string expected_hex =
      "86d4e9fb"                  // crc32c
      "01" "00" "0000"            // type kPut, flags, reserved
      "0300401e18240a06"          // revision
      "6052e6cf8b010000"          // expire_at_ms
      "06000000" "00000000" "05000000"  // key_len, meta_len, value_len
      "757365723a31"              // "user:1"
      "68656c6c6f";               // "hello"
  EXPECT_EQ(absl::BytesToHexString(Encode(ExampleRecord())), expected_hex);
}

// The expire-only and flush examples of engine/FORMAT.md.
TEST(RecordCodecTest, ExpireAndFlushRecordsMatchGoldenBytes) {
  RecordView expire;
  expire.type = RecordType::kExpire;
  expire.revision = kRevision + 256;
  expire.expire_at_ms = 1700000120000;
  expire.key = "user:1";
  EXPECT_EQ(absl::BytesToHexString(Encode(expire)),
            "ce8b6888"                  // crc32c
            "03" "00" "0000"            // type kExpire, flags, reserved
            "0301401e18240a06"          // revision
            "c03ce7cf8b010000"          // expire_at_ms
            "06000000" "00000000" "00000000"  // key_len, meta_len, value_len
            "757365723a31");            // "user:1"

  RecordView flush;
  flush.type = RecordType::kFlush;
  flush.revision = kRevision + 512;
  EXPECT_EQ(absl::BytesToHexString(Encode(flush)),
            "90970972"                  // crc32c
            "04" "00" "0000"            // type kFlush, flags, reserved
            "0302401e18240a06"          // revision
            "0000000000000000"          // expire_at_ms
            "00000000" "00000000" "00000000");  // key_len, meta_len, value_len
}

TEST(RecordCodecTest, RecordTypeNumbersAreFixed) {
  EXPECT_EQ(static_cast<int>(RecordType::kPut), 1);
  EXPECT_EQ(static_cast<int>(RecordType::kTombstone), 2);
  EXPECT_EQ(static_cast<int>(RecordType::kExpire), 3);
  EXPECT_EQ(static_cast<int>(RecordType::kFlush), 4);
}

TEST(RecordCodecTest, RoundTripsAllFields) {
  RecordView in = ExampleRecord();
  in.metadata = "{\"content-type\":\"text/plain\"}";
  std::string value(100000, '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i * 131);
  in.value = value;
  const std::string bytes = Encode(in);
  ASSERT_EQ(bytes.size(), EncodedRecordSize(in.key.size(), in.metadata.size(), value.size()));

  RecordView out;
  size_t consumed = 0;
  ASSERT_EQ(DecodeRecord(bytes, kMaxValueBytesLimit, &out, &consumed), DecodeStatus::kOk);
  EXPECT_EQ(consumed, bytes.size());
  EXPECT_EQ(out.type, RecordType::kPut);
  EXPECT_EQ(out.revision, kRevision);
  EXPECT_EQ(out.expire_at_ms, kExpireAtMs);
  EXPECT_EQ(out.key, in.key);
  EXPECT_EQ(out.metadata, in.metadata);
  EXPECT_EQ(out.value, value);
}

TEST(RecordCodecTest, RoundTripsEmptyTombstone) {
  RecordView in;
  in.type = RecordType::kTombstone;
  in.revision = 42;
  const std::string bytes = Encode(in);
  EXPECT_EQ(bytes.size(), kRecordHeaderSize);
  RecordView out;
  size_t consumed = 0;
  ASSERT_EQ(DecodeRecord(bytes, 0, &out, &consumed), DecodeStatus::kOk);
  EXPECT_EQ(out.type, RecordType::kTombstone);
  EXPECT_EQ(out.revision, 42u);
  EXPECT_TRUE(out.key.empty());
  EXPECT_TRUE(out.value.empty());
}

TEST(RecordCodecTest, DecodesConsecutiveRecords) {
  std::string bytes = Encode(ExampleRecord());
  RecordView second = ExampleRecord();
  second.key = "user:2";
  AppendRecord(second, &bytes);
  RecordView out;
  size_t consumed = 0;
  ASSERT_EQ(DecodeRecord(bytes, kMaxValueBytesLimit, &out, &consumed), DecodeStatus::kOk);
  std::string_view rest = std::string_view(bytes).substr(consumed);
  ASSERT_EQ(DecodeRecord(rest, kMaxValueBytesLimit, &out, &consumed), DecodeStatus::kOk);
  EXPECT_EQ(out.key, "user:2");
  EXPECT_EQ(consumed, rest.size());
}

TEST(RecordCodecTest, EveryTruncationIsIncomplete) {
  const std::string bytes = Encode(ExampleRecord());
  for (size_t n = 0; n < bytes.size(); ++n) {
    RecordView out;
    size_t consumed = 0;
    EXPECT_EQ(DecodeRecord(std::string_view(bytes).substr(0, n), kMaxValueBytesLimit, &out,
                           &consumed),
              DecodeStatus::kIncomplete)
        << "truncated to " << n << " bytes";
  }
}

TEST(RecordCodecTest, EveryBitFlipIsDetected) {
  const std::string bytes = Encode(ExampleRecord());
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string damaged = bytes;
    damaged[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    RecordView out;
    size_t consumed = 0;
    // A flip in a length field can make the record look longer than the input: that reads as
    // a torn tail, which recovery of the active segment handles the same way.
    EXPECT_NE(DecodeRecord(damaged, kMaxValueBytesLimit, &out, &consumed), DecodeStatus::kOk)
        << "bit " << bit;
  }
  // A flip in the value itself is a checksum mismatch.
  std::string damaged = bytes;
  damaged.back() ^= 0x10;
  RecordView out;
  size_t consumed = 0;
  EXPECT_EQ(DecodeRecord(damaged, kMaxValueBytesLimit, &out, &consumed), DecodeStatus::kCorrupt);
}

TEST(RecordCodecTest, ImplausibleLengthsAreCorrupt) {
  RecordView r = ExampleRecord();
  const std::string bytes = Encode(r);
  RecordHeader header;
  // value_len 5 > a cap of 4.
  EXPECT_EQ(DecodeRecordHeader(bytes, 4, &header), DecodeStatus::kCorrupt);
  EXPECT_EQ(DecodeRecordHeader(bytes, 5, &header), DecodeStatus::kOk);

  std::string huge_key = bytes;
  huge_key[24 + 2] = 0x10;  // key_len = 0x100006 > kMaxKeyBytes
  EXPECT_EQ(DecodeRecordHeader(huge_key, kMaxValueBytesLimit, &header), DecodeStatus::kCorrupt);

  std::string unknown_type = bytes;
  unknown_type[4] = 9;
  EXPECT_EQ(DecodeRecordHeader(unknown_type, kMaxValueBytesLimit, &header),
            DecodeStatus::kCorrupt);

  std::string flags_set = bytes;
  flags_set[5] = 1;
  EXPECT_EQ(DecodeRecordHeader(flags_set, kMaxValueBytesLimit, &header), DecodeStatus::kCorrupt);
}

TEST(RecordCodecTest, HeaderReportsSizesAndValueOffset) {
  RecordView r = ExampleRecord();
  r.metadata = "abc";
  const std::string bytes = Encode(r);
  RecordHeader header;
  ASSERT_EQ(DecodeRecordHeader(bytes, kMaxValueBytesLimit, &header), DecodeStatus::kOk);
  EXPECT_EQ(header.record_size(), bytes.size());
  EXPECT_EQ(header.value_offset(), kRecordHeaderSize + 6 + 3);
  EXPECT_EQ(bytes.substr(header.value_offset()), "hello");
}

}  // namespace
}  // namespace beyondkv::engine
