#include "services/kv-shard/sched_adapter.h"

#include "gtest/gtest.h"

namespace beyondkv::shard {
namespace {

// Feeds `n` batches of `ns` each, switching whenever asked; returns the switches made.
int Feed(SchedAdapter& a, int64_t ns, int n) {
  int switches = 0;
  for (int i = 0; i < n; ++i) {
    if (a.Observe(ns)) {
      a.Switched();
      ++switches;
    }
  }
  return switches;
}

TEST(SchedAdapterTest, LongBatchesLeaveBatchSchedulingAndShortOnesReturnToIt) {
  SchedAdapter a;
  EXPECT_TRUE(a.batch());
  EXPECT_EQ(Feed(a, 500, 100), 0);  // GETs: stays
  EXPECT_TRUE(a.batch());
  EXPECT_EQ(Feed(a, 30'000, 100), 1);  // MGETs of 100 keys: leaves once
  EXPECT_FALSE(a.batch());
  EXPECT_EQ(Feed(a, 500, 100), 1);  // back
  EXPECT_TRUE(a.batch());
}

TEST(SchedAdapterTest, OneLongBatchAmongShortOnesDoesNotSwitch) {
  SchedAdapter a;
  Feed(a, 1'000, 50);
  EXPECT_FALSE(a.Observe(100'000));  // the average moves by 1/8 of the difference
  EXPECT_TRUE(a.batch());
}

TEST(SchedAdapterTest, AnAverageBetweenTheThresholdsKeepsEitherPolicy) {
  SchedAdapter a;
  EXPECT_EQ(Feed(a, 12'000, 100), 0);  // between 8 and 16 µs: stays batch
  EXPECT_TRUE(a.batch());
  EXPECT_EQ(Feed(a, 40'000, 100), 1);
  EXPECT_EQ(Feed(a, 12'000, 100), 0);  // and stays normal
  EXPECT_FALSE(a.batch());
  EXPECT_GT(a.average_ns(), SchedAdapter::kShortBatchNs);
  EXPECT_LT(a.average_ns(), SchedAdapter::kLongBatchNs);
}

}  // namespace
}  // namespace beyondkv::shard
