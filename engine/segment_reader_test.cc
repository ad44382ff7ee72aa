#include "engine/segment_reader.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/test_util.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

class SegmentReaderTest : public ::testing::Test {
 protected:
  // Writes `bytes` to a file and opens it.
  File* Write(const std::string& bytes) {
    const std::string path = dir_.path() + "/seg";
    testing::WriteFile(path, bytes);
    file_ = *Env::Default()->OpenFile(path, Env::OpenMode::kExisting);
    return file_.get();
  }

  static std::string Record(std::string_view key, std::string_view value, uint64_t revision) {
    RecordView r;
    r.key = key;
    r.value = value;
    r.revision = revision;
    std::string out;
    AppendRecord(r, &out);
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<File> file_;
};

TEST_F(SegmentReaderTest, ScansRecordsAndReportsTheirPositions) {
  const std::string prefix = "PREFIX";  // stands for the segment header
  const std::string a = Record("a", "1", 10);
  const std::string big_value(3 << 20, 'v');  // spans several read blocks
  const std::string b = Record("b", big_value, 11);
  File* file = Write(prefix + a + b);

  SegmentReader reader(file, prefix.size(), prefix.size() + a.size() + b.size());
  ScannedRecord r;
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
  EXPECT_EQ(r.key, "a");
  EXPECT_EQ(r.revision, 10u);
  EXPECT_EQ(r.offset, prefix.size());
  EXPECT_EQ(r.size, a.size());
  EXPECT_EQ(r.value_offset, prefix.size() + kRecordHeaderSize + 1);
  EXPECT_EQ(r.value_len, 1u);
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
  EXPECT_EQ(r.key, "b");
  EXPECT_EQ(r.offset, prefix.size() + a.size());
  EXPECT_EQ(r.value_len, big_value.size());
  EXPECT_EQ(*reader.Next(&r), SegmentReader::Result::kEnd);
}

TEST_F(SegmentReaderTest, ReadersLendingOneScratchBufferEachReadTheirOwnBytes) {
  const std::string prefix = "PREFIX";
  const std::string a = Record("a", std::string(2 << 20, 'x'), 10);
  const std::string b = Record("b", "2", 11);
  File* file = Write(prefix + a + b);
  std::string scratch = "stale bytes the readers must not take for the file's";
  ScannedRecord r;
  {
    SegmentReader reader(file, prefix.size() + a.size(), file->Size().value(), &scratch);
    ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
    EXPECT_EQ(r.key, "b");
    EXPECT_EQ(*reader.Next(&r), SegmentReader::Result::kEnd);
  }
  EXPECT_TRUE(scratch.empty());  // handed back, emptied
  {
    SegmentReader reader(file, prefix.size(), file->Size().value(), &scratch);
    ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
    EXPECT_EQ(r.key, "a");
    EXPECT_EQ(r.value_len, 2u << 20);
    ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
    EXPECT_EQ(r.key, "b");
  }
  // The storage stays with the caller for the next reader.
  EXPECT_GE(scratch.capacity(), 1u << 20);
}

// A file whose bytes are all in memory (as reclaim's SegmentWindow holds a segment): Peek
// hands them out and Read fails, so a scan that reads (copies) anything fails.
class HeldFile final : public File {
 public:
  explicit HeldFile(std::string bytes) : bytes_(std::move(bytes)) {}
  std::optional<std::string_view> Peek(uint64_t offset, size_t n) const override {
    if (offset + n > bytes_.size()) return std::nullopt;
    return std::string_view(bytes_).substr(offset);
  }
  absl::StatusOr<size_t> Read(uint64_t, size_t, char*) override {
    return absl::UnavailableError("not held");
  }
  // A scan only reads: these are never called.
  absl::Status Write(uint64_t, std::string_view) override { return ReadOnly(); }
  absl::Status Truncate(uint64_t) override { return ReadOnly(); }
  absl::Status DataSync() override { return ReadOnly(); }
  absl::StatusOr<uint64_t> Size() override { return bytes_.size(); }
  const std::string& path() const override { return path_; }
  const std::string& bytes() const { return bytes_; }

 private:
  static absl::Status ReadOnly() { return absl::FailedPreconditionError("held file is read-only"); }
  const std::string bytes_;
  const std::string path_ = "held";
};

TEST_F(SegmentReaderTest, ScansHeldBytesInPlace) {
  const std::string prefix = "PREFIX";
  const std::string a = Record("a", "1", 10);
  const std::string b = Record("bb", std::string(3 << 20, 'v'), 11);
  HeldFile file(prefix + a + b);
  SegmentReader reader(&file, prefix.size(), file.bytes().size());
  ScannedRecord r;
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
  EXPECT_EQ(r.key, "a");
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
  EXPECT_EQ(r.key, "bb");
  EXPECT_EQ(r.value_len, 3u << 20);
  EXPECT_EQ(*reader.Next(&r), SegmentReader::Result::kEnd);
}

TEST_F(SegmentReaderTest, TornTailIsDamageToTheEndAfterTheLastIntactRecord) {
  const std::string a = Record("a", "1", 10);
  const std::string b = Record("b", std::string(100, 'x'), 11);
  const std::string bytes = a + b.substr(0, 50);
  File* file = Write(bytes);
  SegmentReader reader(file, 0, bytes.size());
  ScannedRecord r;
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kDamage);
  EXPECT_EQ(reader.damage().kind, SegmentDamage::Kind::kTruncated);
  EXPECT_EQ(reader.damage().offset, a.size());
  EXPECT_EQ(reader.damage().end, bytes.size());
  EXPECT_TRUE(reader.damage().rest_skipped);
  EXPECT_EQ(*reader.Next(&r), SegmentReader::Result::kEnd);
  EXPECT_EQ(reader.intact_end(), a.size());  // what recovery keeps of an active segment
}

TEST_F(SegmentReaderTest, ChecksumDamageIsSkippedByItsLengthsAndLaterRecordsKept) {
  const std::string a = Record("a", "1", 10);
  std::string b = Record("b", "22", 11);
  b.back() ^= 0x40;
  const std::string c = Record("c", "333", 12);
  File* file = Write(a + b + c);
  SegmentReader reader(file, 0, a.size() + b.size() + c.size());
  ScannedRecord r;
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kDamage);
  EXPECT_EQ(reader.damage().kind, SegmentDamage::Kind::kChecksum);
  EXPECT_EQ(reader.damage().offset, a.size());
  EXPECT_EQ(reader.damage().end, a.size() + b.size());
  EXPECT_FALSE(reader.damage().rest_skipped);
  EXPECT_EQ(DescribeDamage(reader.damage()),
            absl::StrCat("checksum mismatch in the record at offset ", a.size(), " (", b.size(),
                         " bytes skipped)"));
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
  EXPECT_EQ(r.key, "c");
  EXPECT_EQ(*reader.Next(&r), SegmentReader::Result::kEnd);
  // Damage followed by an intact record is not a torn tail.
  EXPECT_EQ(reader.intact_end(), a.size() + b.size() + c.size());
}

TEST_F(SegmentReaderTest, MalformedTypeWithSaneLengthsIsSkippedAsOneRecord) {
  std::string a = Record("a", "1", 10);
  a[4] = 9;  // type: unknown
  const std::string c = Record("c", "333", 12);
  File* file = Write(a + c);
  SegmentReader reader(file, 0, a.size() + c.size());
  ScannedRecord r;
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kDamage);
  EXPECT_EQ(reader.damage().kind, SegmentDamage::Kind::kMalformed);
  EXPECT_EQ(reader.damage().end, a.size());
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kRecord);
  EXPECT_EQ(r.key, "c");
}

TEST_F(SegmentReaderTest, ImplausibleLengthSkipsTheRestOfTheRange) {
  std::string a = Record("a", "1", 10);
  a[24 + 3] = 0x7f;  // key_len's high byte: far above kMaxKeyBytes
  const std::string c = Record("c", "333", 12);
  File* file = Write(a + c);
  SegmentReader reader(file, 0, a.size() + c.size());
  ScannedRecord r;
  ASSERT_EQ(*reader.Next(&r), SegmentReader::Result::kDamage);
  EXPECT_EQ(reader.damage().kind, SegmentDamage::Kind::kMalformed);
  EXPECT_TRUE(reader.damage().rest_skipped);
  EXPECT_EQ(reader.damage().end, a.size() + c.size());
  EXPECT_EQ(*reader.Next(&r), SegmentReader::Result::kEnd);
  EXPECT_EQ(reader.intact_end(), 0u);
}

}  // namespace
}  // namespace beyondkv::engine
