#include "gateway/command_stats.h"

#include <gtest/gtest.h>

namespace beyondkv::gateway {
namespace {

TEST(CommandStatsTest, BucketsBoundTheirLatencies) {
  for (uint64_t usec : {0ull, 1ull, 2ull, 3ull, 7ull, 100ull, 1000ull, 123456ull}) {
    const size_t b = CommandStats::BucketOf(usec);
    EXPECT_GE(CommandStats::UpperBound(b) + 1e-9, static_cast<double>(usec)) << usec;
    if (b > 0) EXPECT_LT(CommandStats::UpperBound(b - 1), static_cast<double>(usec)) << usec;
  }
  EXPECT_EQ(CommandStats::BucketOf(uint64_t{1} << 40), CommandStats::kBuckets - 1);
}

TEST(CommandStatsTest, CountsAndPercentiles) {
  CommandStats stats(3);
  EXPECT_EQ(CommandStats::Percentile(stats.Get(1), 0.5), 0);
  for (int i = 0; i < 98; ++i) stats.Record(1, 10, false);
  stats.Record(1, 1000, true);
  stats.Record(1, 100000, false);
  stats.Rejected(1);
  stats.Record(7, 5, false);  // out of range: ignored
  const CommandStats::Snapshot s = stats.Get(1);
  EXPECT_EQ(s.calls, 100u);
  EXPECT_EQ(s.usec, 98u * 10 + 1000 + 100000);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.rejected, 1u);
  EXPECT_EQ(stats.Get(0).calls, 0u);
  const double p50 = CommandStats::Percentile(s, 0.5);
  EXPECT_GE(p50, 10);
  EXPECT_LT(p50, 10 * 1.19 + 0.01);
  const double p99 = CommandStats::Percentile(s, 0.99);
  EXPECT_GE(p99, 1000);
  EXPECT_LT(p99, 1000 * 1.19 + 1);
  EXPECT_GE(CommandStats::Percentile(s, 0.999), 100000);
}

}  // namespace
}  // namespace beyondkv::gateway
