#include "engine/segment_file.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

// The example header of engine/FORMAT.md: shard 3, namespace 0, sequence 1.
TEST(SegmentFileTest, HeaderMatchesGoldenBytes) {
  const std::string bytes = EncodeSegmentHeader({kFormatVersion, 3, 0, 1});
  EXPECT_EQ(absl::BytesToHexString(bytes),
            "424b565345470d0a"   // "BKVSEG\r\n"
            "02000000"           // format_version
            "03000000"           // shard_id
            "00000000"           // namespace
            "00000000"           // reserved
            "0100000000000000"   // sequence
            "a3a9ef52"           // crc32c of the 32 bytes above
            "00000000");         // padding
}

TEST(SegmentFileTest, HeaderRoundTrips) {
  SegmentHeader out;
  ASSERT_EQ(DecodeSegmentHeader(EncodeSegmentHeader({1, 7, 15, 123456789}), &out),
            DecodeStatus::kOk);
  EXPECT_EQ(out.format_version, 1u);
  EXPECT_EQ(out.shard_id, 7u);
  EXPECT_EQ(out.ns, 15u);
  EXPECT_EQ(out.sequence, 123456789u);
}

TEST(SegmentFileTest, ShortHeaderIsIncompleteAndDamagedHeaderIsCorrupt) {
  const std::string bytes = EncodeSegmentHeader({1, 0, 0, 1});
  SegmentHeader out;
  EXPECT_EQ(DecodeSegmentHeader(bytes.substr(0, kSegmentHeaderSize - 1), &out),
            DecodeStatus::kIncomplete);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] ^= 0x01;
    EXPECT_EQ(DecodeSegmentHeader(damaged, &out), DecodeStatus::kCorrupt) << "byte " << i;
  }
}

TEST(SegmentFileTest, FileNamesArePaddedAndParsedStrictly) {
  EXPECT_EQ(SegmentFileName(7), "00000000000000000007.log");
  EXPECT_EQ(SegmentFileName(UINT64_MAX), "18446744073709551615.log");
  EXPECT_EQ(ParseSegmentFileName("00000000000000000007.log"), 7u);
  EXPECT_EQ(ParseSegmentFileName("18446744073709551615.log"), UINT64_MAX);
  EXPECT_EQ(ParseSegmentFileName("99999999999999999999.log"), std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("7.log"), std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("0000000000000000000x.log"), std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("00000000000000000007.log.tmp"), std::nullopt);
  EXPECT_EQ(NamespaceDirName(12), "ns-12");
}

TEST(SegmentFileTest, HintNamesFollowTheSegmentNames) {
  EXPECT_EQ(HintFileName(7), "00000000000000000007.hint");
  EXPECT_EQ(ParseHintFileName("00000000000000000007.hint"), 7u);
  EXPECT_EQ(ParseHintFileName("00000000000000000007.log"), std::nullopt);
  EXPECT_EQ(ParseHintFileName("00000000000000000007.hint.tmp"), std::nullopt);
  EXPECT_EQ(ParseSegmentFileName("00000000000000000007.hint"), std::nullopt);
}

TEST(SegmentFileTest, LogSequencesLeaveRoomForReclaimOutputs) {
  EXPECT_EQ(NextLogSequence(0), kFirstSequence);
  EXPECT_EQ(NextLogSequence(1), kSequenceStride);
  EXPECT_EQ(NextLogSequence(kSequenceStride), 2 * kSequenceStride);
  EXPECT_EQ(NextLogSequence(kSequenceStride + 17), 2 * kSequenceStride);  // after outputs
  EXPECT_TRUE(IsLogSequence(1));
  EXPECT_TRUE(IsLogSequence(3 * kSequenceStride));
  EXPECT_FALSE(IsLogSequence(2));
  EXPECT_FALSE(IsLogSequence(kSequenceStride + 1));
  EXPECT_FALSE(IsLogSequence(0));
}

}  // namespace
}  // namespace beyondkv::engine
