#include "gateway/output_budget.h"

#include <gtest/gtest.h>

namespace beyondkv::gateway {
namespace {

using B = OutputBudget;

TEST(OutputBudget, NewConnectionGets4InFlight) {
  EXPECT_EQ(B::InFlightCap(B::kInitialReplyEstimate), 4u);
}

TEST(OutputBudget, CapFollowsReplySize) {
  EXPECT_EQ(B::InFlightCap(0), B::kMaxPendingReplies);
  EXPECT_EQ(B::InFlightCap(5), B::kMaxPendingReplies);       // small replies: deep pipelines
  EXPECT_EQ(B::InFlightCap(1u << 20), 4u);                   // 1 MiB replies
  EXPECT_EQ(B::InFlightCap(64u << 20), 1u);                  // never below one
}

TEST(OutputBudget, AverageConvergesBothWays) {
  size_t avg = B::kInitialReplyEstimate;
  for (int i = 0; i < 100; ++i) avg = B::UpdateAverage(avg, 5);
  EXPECT_LT(avg, 64u);
  EXPECT_EQ(B::InFlightCap(avg), B::kMaxPendingReplies);
  for (int i = 0; i < 40; ++i) avg = B::UpdateAverage(avg, 1u << 20);
  EXPECT_GT(avg, 900u << 10);
  EXPECT_LE(B::InFlightCap(avg), 5u);
}

TEST(OutputBudget, SoftLimitStopsDispatchAndResumesBelowHalf) {
  EXPECT_TRUE(B::MayDispatch(0, 16, 0));
  EXPECT_FALSE(B::MayDispatch(0, 16, B::kOutputSoftLimit));
  EXPECT_FALSE(B::MayDispatch(B::kMaxPendingReplies, 16, 0));
  // Between half and the soft limit: still paused (hysteresis), though dispatching is allowed
  // for a connection that was not paused.
  EXPECT_TRUE(B::MayDispatch(0, 16, B::kOutputSoftLimit / 2 + 1));
  EXPECT_FALSE(B::MayResume(0, 16, B::kOutputSoftLimit / 2 + 1));
  EXPECT_TRUE(B::MayResume(0, 16, B::kOutputSoftLimit / 2 - 1));
  EXPECT_FALSE(B::MayResume(4, 1u << 20, 0));  // at the cap for 1 MiB replies
}

TEST(OutputBudget, HardLimit) {
  EXPECT_FALSE(B::OverHardLimit(size_t{1} << 40, 0));  // 0 = no limit
  EXPECT_FALSE(B::OverHardLimit(100, 100));
  EXPECT_TRUE(B::OverHardLimit(101, 100));
  EXPECT_EQ(B::kDefaultHardLimit, 256ull << 20);
}

}  // namespace
}  // namespace beyondkv::gateway
