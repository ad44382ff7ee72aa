#include "engine/segment_writer.h"

#include "engine/segment_reader.h"
#include "engine/test_util.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

RecordView Put(std::string_view key, std::string_view value) {
  RecordView r;
  r.key = key;
  r.value = value;
  r.revision = 1;
  return r;
}

class SegmentWriterTest : public ::testing::Test {
 protected:
  std::string NsDir() const { return dir_.path() + "/ns-0"; }
  testing::TempDir dir_;
  testing::FaultInjectionEnv env_;
  SegmentWriter writer_{&env_, NsDir(), SegmentHeader{kFormatVersion, 0, 0, 1}};
};

TEST_F(SegmentWriterTest, CreatesNothingUntilTheFirstFlush) {
  EXPECT_EQ(writer_.Stage(Put("a", "1")), kSegmentHeaderSize);
  EXPECT_FALSE(*env_.Exists(NsDir()));
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_EQ(writer_.path(), NsDir() + "/00000000000000000001.log");
  EXPECT_EQ(testing::FileSize(writer_.path()), writer_.written_size());
  SegmentHeader header;
  ASSERT_EQ(DecodeSegmentHeader(testing::ReadFile(writer_.path()), &header), DecodeStatus::kOk);
  EXPECT_EQ(header.sequence, 1u);
}

TEST_F(SegmentWriterTest, StagedRecordsAreReadableAtTheirFutureOffsets) {
  const uint64_t a = writer_.Stage(Put("a", "1"));
  const uint64_t b = writer_.Stage(Put("b", "22"));
  EXPECT_EQ(b, a + EncodedRecordSize(1, 0, 1));
  EXPECT_TRUE(writer_.IsStaged(b));
  EXPECT_EQ(writer_.ReadStaged(b + kRecordHeaderSize + 1, 2), "22");

  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_FALSE(writer_.IsStaged(b));
  EXPECT_FALSE(writer_.has_staged());
  char buf[2];
  ASSERT_EQ(*writer_.ReadFile(b + kRecordHeaderSize + 1, 2, buf), 2u);
  EXPECT_EQ(std::string(buf, 2), "22");
}

TEST_F(SegmentWriterTest, RollbackAfterPartialWriteRestoresTheFile) {
  writer_.Stage(Put("a", "1"));
  ASSERT_TRUE(writer_.Flush().ok());
  const uint64_t good = writer_.written_size();

  writer_.Stage(Put("b", std::string(1000, 'x')));
  env_.fail_writes = true;
  EXPECT_FALSE(writer_.Flush().ok());
  EXPECT_GT(testing::FileSize(writer_.path()), good);  // half a record reached the file
  ASSERT_TRUE(writer_.Rollback(good).ok());
  EXPECT_EQ(testing::FileSize(writer_.path()), good);
  EXPECT_FALSE(writer_.has_staged());

  env_.fail_writes = false;
  const uint64_t c = writer_.Stage(Put("c", "3"));
  EXPECT_EQ(c, good);
  ASSERT_TRUE(writer_.Flush().ok());
  std::unique_ptr<File> file = *env_.OpenFile(writer_.path(), Env::OpenMode::kExisting);
  SegmentReader reader(file.get(), kSegmentHeaderSize, testing::FileSize(writer_.path()));
  ScannedRecord r;
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
  EXPECT_EQ(r.key, "a");
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
  EXPECT_EQ(r.key, "c");
  EXPECT_EQ(*reader.Next(&r), SegmentReader::Result::kEnd);
}

TEST_F(SegmentWriterTest, FailedSyncMakesTheWriterRefuseWrites) {
  writer_.Stage(Put("a", "1"));
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_TRUE(writer_.needs_sync());
  env_.fail_syncs = true;
  EXPECT_FALSE(writer_.Sync().ok());
  env_.fail_syncs = false;
  EXPECT_FALSE(writer_.status().ok());
  writer_.Stage(Put("b", "2"));
  EXPECT_FALSE(writer_.Flush().ok());
}

TEST_F(SegmentWriterTest, FailedTruncateMakesTheWriterRefuseWrites) {
  writer_.Stage(Put("a", "1"));
  ASSERT_TRUE(writer_.Flush().ok());
  const uint64_t good = writer_.written_size();
  writer_.Stage(Put("b", "2"));
  env_.fail_writes = true;
  env_.fail_truncates = true;
  EXPECT_FALSE(writer_.Flush().ok());
  EXPECT_FALSE(writer_.Rollback(good).ok());
  EXPECT_FALSE(writer_.status().ok());
}

TEST_F(SegmentWriterTest, FailedCreationLeavesNoFileAndCanBeRetried) {
  writer_.Stage(Put("a", "1"));
  env_.disk_full = true;
  EXPECT_TRUE(absl::IsResourceExhausted(writer_.Flush()));
  EXPECT_FALSE(*env_.Exists(writer_.path()));
  ASSERT_TRUE(writer_.Rollback(kSegmentHeaderSize).ok());
  env_.disk_full = false;
  writer_.Stage(Put("a", "1"));
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_TRUE(writer_.status().ok());
}

}  // namespace
}  // namespace beyondkv::engine
