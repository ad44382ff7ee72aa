#include "tools/kv-bench/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

namespace beyondkv::kvbench {
namespace {

double RelativeError(int64_t got, int64_t want) {
  return want == 0 ? static_cast<double>(got) : std::abs(static_cast<double>(got - want)) / want;
}

TEST(HistogramTest, ValueToBucketToValueWithinOnePercent) {
  std::mt19937_64 rng(1);
  // Every small value, then log-uniform values over the whole int64 range.
  for (int64_t v = 0; v < 100000; ++v) {
    const int index = Histogram::BucketIndex(v);
    ASSERT_LE(Histogram::BucketLowest(index), v);
    ASSERT_GE(Histogram::BucketHighest(index), v);
    ASSERT_LE(RelativeError(Histogram::BucketMidpoint(index), v), 0.01) << v;
  }
  for (int i = 0; i < 1000000; ++i) {
    const int bits = static_cast<int>(rng() % 63);
    const int64_t v = static_cast<int64_t>(rng() >> (64 - 63)) >> bits;
    const int index = Histogram::BucketIndex(v);
    ASSERT_GE(index, 0);
    ASSERT_LT(index, Histogram::NumBuckets());
    ASSERT_LE(Histogram::BucketLowest(index), v);
    ASSERT_GE(Histogram::BucketHighest(index), v);
    ASSERT_LE(RelativeError(Histogram::BucketMidpoint(index), v), 0.01) << v;
  }
}

TEST(HistogramTest, BucketsTileTheRangeWithoutGaps) {
  for (int i = 1; i < Histogram::NumBuckets(); ++i) {
    ASSERT_EQ(Histogram::BucketHighest(i - 1) + 1, Histogram::BucketLowest(i)) << i;
    ASSERT_EQ(Histogram::BucketIndex(Histogram::BucketLowest(i)), i);
    ASSERT_EQ(Histogram::BucketIndex(Histogram::BucketHighest(i)), i);
  }
  EXPECT_EQ(Histogram::BucketHighest(Histogram::NumBuckets() - 1),
            std::numeric_limits<int64_t>::max());
}

TEST(HistogramTest, EmptyHistogramReportsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.Mean(), 0);
  EXPECT_EQ(h.ValueAtPercentile(99), 0);
}

TEST(HistogramTest, NegativeValuesCountAsZero) {
  Histogram h;
  h.Record(-5);
  EXPECT_EQ(h.count(), 1);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.ValueAtPercentile(50), 0);
}

TEST(HistogramTest, PercentilesOfUniformSequence) {
  Histogram h;
  for (int64_t v = 1; v <= 1000000; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 1000000);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 1000000);
  EXPECT_NEAR(h.Mean(), 500000.5, 1e-6);
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    const int64_t want = static_cast<int64_t>(std::ceil(p / 100 * 1000000));
    EXPECT_LE(RelativeError(h.ValueAtPercentile(p), want), 0.01) << p;
  }
  EXPECT_EQ(h.ValueAtPercentile(100), 1000000);
  EXPECT_EQ(h.ValueAtPercentile(0), 1);
}

TEST(HistogramTest, PercentilesOfExponentialDistribution) {
  // Exponential with mean 1 ms (in ns): the p-quantile is -mean * ln(1 - p).
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> exp(1.0 / 1e6);
  Histogram h;
  for (int i = 0; i < 2000000; ++i) h.Record(static_cast<int64_t>(exp(rng)));
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const double want = -1e6 * std::log(1 - p / 100);
    // Bucket error (<0.4%) plus sampling error of the empirical quantile.
    EXPECT_LE(RelativeError(h.ValueAtPercentile(p), static_cast<int64_t>(want)), 0.02) << p;
  }
  EXPECT_NEAR(h.Mean(), 1e6, 1e4);
}

TEST(HistogramTest, SingleValueIsReportedExactly) {
  Histogram h;
  h.Record(123456789, 10);
  EXPECT_EQ(h.count(), 10);
  EXPECT_EQ(h.ValueAtPercentile(0), 123456789);
  EXPECT_EQ(h.ValueAtPercentile(50), 123456789);
  EXPECT_EQ(h.ValueAtPercentile(100), 123456789);
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> dist(12, 1.5);
  Histogram a, b, all;
  for (int i = 0; i < 100000; ++i) {
    const int64_t v = static_cast<int64_t>(dist(rng));
    (i % 3 == 0 ? a : b).Record(v);
    all.Record(v);
  }
  Histogram merged;
  merged.Merge(a);
  merged.Merge(b);
  merged.Merge(Histogram());
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_NEAR(merged.Mean(), all.Mean(), 1e-6 * all.Mean());
  for (double p : {0.0, 25.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(merged.ValueAtPercentile(p), all.ValueAtPercentile(p)) << p;
  }
}

TEST(HistogramTest, PercentileRankRoundsUp) {
  // 90 values of 100 and 10 of 10000: p90 is the 90th value (100), p90.1 the 91st (10000).
  Histogram h;
  h.Record(100, 90);
  h.Record(10000, 10);
  EXPECT_EQ(h.ValueAtPercentile(90), 100);
  EXPECT_LE(RelativeError(h.ValueAtPercentile(90.1), 10000), 0.01);
}

}  // namespace
}  // namespace beyondkv::kvbench
