#include "tools/kv-log/kv_log.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/hint_file.h"
#include "engine/segment_file.h"
#include "engine/test_util.h"
#include "gtest/gtest.h"

namespace beyondkv::kvlog {
namespace {

using engine::Env;

class KvLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine::Options options;
    options.segment_bytes = 300;
    auto opened = engine::Engine::Open(options, dir_.path());
    ASSERT_TRUE(opened.ok()) << opened.status();
    engine::Engine& e = **opened;
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(e.Put(0, "key" + std::to_string(i), "value-" + std::to_string(i), {}).ok());
      ASSERT_TRUE(e.Commit().ok());
    }
    ASSERT_TRUE(e.Delete(0, "key5").ok());
    ASSERT_TRUE(e.SetExpiry(0, "key6", 4102444800000).ok());
    ASSERT_TRUE(e.Put(2, "before", "flush", {}).ok());
    ASSERT_TRUE(e.Commit().ok());
    ASSERT_TRUE(e.Flush(2).ok());
    ASSERT_TRUE(e.Put(2, "after", "flush", {}).ok());
    ASSERT_TRUE(e.Commit().ok());
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(e.RunBackgroundWork().ok());
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/ns-0/" + name; }

  int Run(int (*command)(Env*, const std::string&, std::ostream&), std::string* output) {
    std::ostringstream out;
    const int code = command(Env::Default(), dir_.path(), out);
    *output = out.str();
    return code;
  }

  engine::testing::TempDir dir_;
};

TEST_F(KvLogTest, ListShowsSegmentsStatesCountsAndHints) {
  std::string out;
  EXPECT_EQ(Run(List, &out), 0) << out;
  EXPECT_NE(out.find("shard 0 of 1"), std::string::npos) << out;
  EXPECT_NE(out.find("ns-0"), std::string::npos) << out;
  EXPECT_NE(out.find("ns-2"), std::string::npos) << out;
  EXPECT_NE(out.find(engine::SegmentFileName(1) + " sealed"), std::string::npos) << out;
  EXPECT_NE(out.find("active"), std::string::npos) << out;
  EXPECT_NE(out.find("yes"), std::string::npos) << out;  // hint files
}

TEST_F(KvLogTest, VerifyPassesACleanDirectory) {
  std::string out;
  EXPECT_EQ(Run(Verify, &out), 0) << out;
  EXPECT_NE(out.find("0 problem(s), 0 warning(s)"), std::string::npos) << out;
}

TEST_F(KvLogTest, VerifyLocatesADamagedRecord) {
  const std::string path = Path(engine::SegmentFileName(1));
  std::string bytes = engine::testing::ReadFile(path);
  bytes[60] ^= 0x01;  // inside the first record
  engine::testing::WriteFile(path, bytes);
  std::string out;
  EXPECT_EQ(Run(Verify, &out), 1) << out;
  EXPECT_NE(out.find("ERROR ns-0/" + engine::SegmentFileName(1) + ": checksum mismatch in the record at offset 40"),
            std::string::npos)
      << out;
  // The hint no longer matches the segment either.
  EXPECT_NE(out.find("ERROR ns-0/" + engine::HintFileName(1)), std::string::npos) << out;
}

TEST_F(KvLogTest, VerifyReportsADamagedHint) {
  const std::string hint = Path(engine::HintFileName(1));
  std::string bytes = engine::testing::ReadFile(hint);
  bytes[50] ^= 0x01;
  engine::testing::WriteFile(hint, bytes);
  std::string out;
  EXPECT_EQ(Run(Verify, &out), 1) << out;
  EXPECT_NE(out.find("ERROR ns-0/" + engine::HintFileName(1) + ": damaged hint file: checksum"),
            std::string::npos)
      << out;
}

// A hint may leave superseded records out, never one that decides its key.
TEST_F(KvLogTest, VerifyReportsAHintThatLeavesOutADecidingRecord) {
  const std::string hint = Path(engine::HintFileName(1));
  engine::HintHeader header;
  absl::StatusOr<std::vector<engine::ScannedRecord>> entries =
      engine::DecodeHintFile(engine::testing::ReadFile(hint), &header);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_GE(entries->size(), 2u);
  engine::HintBuilder builder;
  for (size_t i = 1; i < entries->size(); ++i) builder.Add((*entries)[i]);  // not the first
  engine::testing::WriteFile(hint, builder.TakeFile(header));
  std::string out;
  EXPECT_EQ(Run(Verify, &out), 1) << out;
  EXPECT_NE(out.find("ERROR ns-0/" + engine::HintFileName(1) +
                     ": leaves out the record at offset 40, which decides its key"),
            std::string::npos)
      << out;
}

TEST(KvLogHintTest, VerifyAcceptsAHintWithoutSupersededRecords) {
  engine::testing::TempDir dir;
  {
    engine::Options options;
    options.segment_bytes = 400;
    options.hint_delay_secs = 0;  // the newest sealed segment's hint too, at once
    auto opened = engine::Engine::Open(options, dir.path());
    ASSERT_TRUE(opened.ok()) << opened.status();
    engine::Engine& e = **opened;
    for (int i = 0; i < 12; ++i) {  // "same" five times in the first segment, sealed
      ASSERT_TRUE(e.Put(0, i % 2 == 0 ? "same" : "k" + std::to_string(i), "v", {}).ok());
      ASSERT_TRUE(e.Commit().ok());
    }
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(e.RunBackgroundWork().ok());
  }
  engine::HintHeader header;
  absl::StatusOr<std::vector<engine::ScannedRecord>> entries = engine::DecodeHintFile(
      engine::testing::ReadFile(dir.path() + "/ns-0/" + engine::HintFileName(1)), &header);
  ASSERT_TRUE(entries.ok()) << entries.status();
  int same = 0;
  for (const engine::ScannedRecord& r : *entries) same += r.key == "same";
  EXPECT_EQ(same, 1) << "the hint keeps only the last put of a key";
  std::ostringstream out;
  EXPECT_EQ(Verify(Env::Default(), dir.path(), out), 0) << out.str();
  EXPECT_NE(out.str().find("0 problem(s), 0 warning(s)"), std::string::npos) << out.str();
}

TEST_F(KvLogTest, TornTailOfTheActiveSegmentIsAWarning) {
  const std::string active = dir_.path() + "/ns-2/" + engine::SegmentFileName(1);
  engine::testing::WriteFile(active, engine::testing::ReadFile(active) + "torn");
  std::string out;
  EXPECT_EQ(Run(Verify, &out), 0) << out;
  EXPECT_NE(out.find("WARNING ns-2/" + engine::SegmentFileName(1) + ": torn tail"),
            std::string::npos)
      << out;
}

TEST_F(KvLogTest, DumpFiltersByNamespaceAndKey) {
  std::ostringstream out;
  DumpOptions options;
  options.ns = 0;
  options.key = "key6";
  EXPECT_EQ(Dump(Env::Default(), dir_.path(), options, out), 0);
  const std::string text = out.str();
  EXPECT_NE(text.find("put rev="), std::string::npos) << text;
  EXPECT_NE(text.find("key=\"key6\" expire_at_ms=0 meta=0B value=7B \"value-6\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("expire rev="), std::string::npos) << text;
  EXPECT_NE(text.find("expire_at_ms=4102444800000"), std::string::npos) << text;
  EXPECT_EQ(text.find("key7"), std::string::npos) << text;

  std::ostringstream ns2;
  options.ns = 2;
  options.key.reset();
  EXPECT_EQ(Dump(Env::Default(), dir_.path(), options, ns2), 0);
  const std::string ns2_text = ns2.str();
  const size_t before = ns2_text.find("key=\"before\"");
  const size_t flush = ns2_text.find(" flush rev=");
  const size_t after = ns2_text.find("key=\"after\"");
  ASSERT_NE(before, std::string::npos) << ns2_text;
  ASSERT_NE(flush, std::string::npos) << ns2_text;
  ASSERT_NE(after, std::string::npos) << ns2_text;
  EXPECT_LT(before, flush);
  EXPECT_LT(flush, after);
  EXPECT_EQ(ns2_text.find("ns-0"), std::string::npos) << ns2_text;
}

TEST_F(KvLogTest, MissingDirectoryExitsTwo) {
  std::ostringstream out;
  EXPECT_EQ(List(Env::Default(), dir_.path() + "/nope", out), 2);
  EXPECT_EQ(Verify(Env::Default(), dir_.path() + "/nope", out), 2);
}

}  // namespace
}  // namespace beyondkv::kvlog
