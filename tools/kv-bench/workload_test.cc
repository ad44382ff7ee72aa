#include "tools/kv-bench/workload.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "tools/kv-bench/reply_reader.h"

namespace beyondkv::kvbench {
namespace {

TEST(ParseMixTest, ParsesWeightsAndRoundTrips) {
  absl::StatusOr<std::vector<MixEntry>> mix = ParseMix("GET:80,set:20");
  ASSERT_TRUE(mix.ok()) << mix.status();
  ASSERT_EQ(mix->size(), 2u);
  EXPECT_EQ((*mix)[0].command, Command::kGet);
  EXPECT_EQ((*mix)[0].weight, 80);
  EXPECT_EQ((*mix)[1].command, Command::kSet);
  EXPECT_EQ(FormatMix(*mix), "get:80,set:20");
  EXPECT_TRUE(ParseMix("mget:80,mset:20").ok());
  EXPECT_TRUE(ParseMix("incr:100").ok());
}

TEST(ParseMixTest, RejectsBadMixes) {
  for (const char* bad :
       {"", "get", "get:0", "get:-1", "get:x", "del:10", "get:1,get:2", "get:80,", ":5"}) {
    EXPECT_FALSE(ParseMix(bad).ok()) << bad;
  }
}

TEST(RequestGeneratorTest, KeyNamesAreFixedWidth) {
  EXPECT_EQ(RequestGenerator::KeyName(0), "kvb:0000000000");
  EXPECT_EQ(RequestGenerator::KeyName(42), "kvb:0000000042");
  EXPECT_EQ(RequestGenerator::KeyName(12345678901), "kvb:12345678901");
}

WorkloadOptions Options(const std::string& mix) {
  WorkloadOptions o;
  o.mix = *ParseMix(mix);
  o.keys = 1000;
  o.value_bytes = 5;
  o.keys_per_call = 3;
  return o;
}

TEST(RequestGeneratorTest, EncodesEachCommand) {
  RequestGenerator gen(Options("get:1"), 1);
  std::string out;
  gen.AppendRequest(Command::kGet, &out);
  EXPECT_EQ(out.rfind("*2\r\n$3\r\nGET\r\n$14\r\nkvb:0000000", 0), 0u) << out;
  EXPECT_EQ(out.size(), std::string("*2\r\n$3\r\nGET\r\n$14\r\nkvb:0000000123\r\n").size());

  out.clear();
  gen.AppendRequest(Command::kSet, &out);
  EXPECT_EQ(out.rfind("*3\r\n$3\r\nSET\r\n$14\r\nkvb:", 0), 0u) << out;
  EXPECT_EQ(out.substr(out.size() - 11, 4), "$5\r\n") << out;

  out.clear();
  gen.AppendRequest(Command::kMget, &out);
  EXPECT_EQ(out.rfind("*4\r\n$4\r\nMGET\r\n", 0), 0u) << out;

  out.clear();
  gen.AppendRequest(Command::kMset, &out);
  EXPECT_EQ(out.rfind("*7\r\n$4\r\nMSET\r\n", 0), 0u) << out;

  out.clear();
  gen.AppendRequest(Command::kIncr, &out);
  EXPECT_EQ(out.rfind("*2\r\n$4\r\nINCR\r\n$18\r\nkvb:ctr:", 0), 0u) << out;

  out.clear();
  gen.AppendRequest(Command::kPing, &out);
  EXPECT_EQ(out, "*1\r\n$4\r\nPING\r\n");
}

TEST(RequestGeneratorTest, LoadStoresConsecutiveKeys) {
  RequestGenerator gen(Options("get:1"), 1);
  std::string out;
  EXPECT_EQ(gen.AppendLoad(7, 1, &out), Command::kSet);
  EXPECT_EQ(out.rfind("*3\r\n$3\r\nSET\r\n$14\r\nkvb:0000000007\r\n$5\r\n", 0), 0u) << out;
  out.clear();
  EXPECT_EQ(gen.AppendLoad(9, 2, &out), Command::kMset);
  EXPECT_EQ(out.rfind("*5\r\n$4\r\nMSET\r\n$14\r\nkvb:0000000009\r\n$5\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("$14\r\nkvb:0000000010\r\n$5\r\n"), std::string::npos) << out;
}

TEST(RequestGeneratorTest, FollowsMixWeights) {
  RequestGenerator gen(Options("get:80,set:15,ping:5"), 3);
  std::array<int, kNumCommands> counts{};
  const int n = 200000;
  for (int i = 0; i < n; ++i) ++counts[static_cast<int>(gen.ChooseCommand())];
  EXPECT_NEAR(counts[static_cast<int>(Command::kGet)] / double{n}, 0.80, 0.01);
  EXPECT_NEAR(counts[static_cast<int>(Command::kSet)] / double{n}, 0.15, 0.01);
  EXPECT_NEAR(counts[static_cast<int>(Command::kPing)] / double{n}, 0.05, 0.01);
  EXPECT_EQ(counts[static_cast<int>(Command::kMget)], 0);
}

TEST(RequestGeneratorTest, ZipfMakesKeyZeroHottest) {
  WorkloadOptions o = Options("get:1");
  o.key_distribution = KeyDistribution::kZipf;
  o.zipf_alpha = 1.2;
  RequestGenerator gen(o, 4);
  int hot = 0, last = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string out;
    gen.AppendRequest(Command::kGet, &out);
    hot += out.find("kvb:0000000000") != std::string::npos;
    last += out.find("kvb:0000000999") != std::string::npos;
  }
  EXPECT_GT(hot, 20000 / 10);
  EXPECT_LT(last, hot / 100);
}

TEST(RequestGeneratorTest, RequestsAreWellFormedResp) {
  // A reply parser reads requests too: both are RESP arrays of bulk strings.
  RequestGenerator gen(Options("get:1,set:1,mget:1,mset:1,incr:1,ping:1"), 5);
  std::string out;
  for (int i = 0; i < 1000; ++i) gen.AppendRequest(gen.ChooseCommand(), &out);
  ReplyReader reader;
  reader.Feed(out.data(), out.size());
  int n = 0;
  for (ReplyReader::Result r = reader.Next(); r != ReplyReader::Result::kNeedMore;
       r = reader.Next()) {
    ASSERT_EQ(r, ReplyReader::Result::kReply);
    ++n;
  }
  EXPECT_EQ(n, 1000);
}

}  // namespace
}  // namespace beyondkv::kvbench
