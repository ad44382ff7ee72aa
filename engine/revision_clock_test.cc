#include "engine/revision_clock.h"

#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

TEST(RevisionClockTest, FollowsTheClockAndCarriesTheShard) {
  RevisionClock clock(5);
  const uint64_t r = clock.Next(1'700'000'000'000'000);
  EXPECT_EQ(r >> 8, 1'700'000'000'000'000u);
  EXPECT_EQ(r & 0xFF, 5u);
  EXPECT_EQ(clock.last(), r);
}

TEST(RevisionClockTest, StrictlyIncreasesWhenTheClockStandsStillOrGoesBack) {
  RevisionClock clock(0);
  uint64_t prev = clock.Next(1000);
  for (int64_t now : {1000, 1000, 999, 0, -5}) {
    const uint64_t r = clock.Next(now);
    EXPECT_GT(r, prev);
    EXPECT_EQ(r >> 8, (prev >> 8) + 1);
    prev = r;
  }
}

TEST(RevisionClockTest, ObservedRevisionsAreExceeded) {
  RevisionClock clock(1);
  clock.Observe((5000u << 8) | 7);  // written by this shard long ago under another id? still >
  const uint64_t r = clock.Next(10);
  EXPECT_EQ(r, (5001u << 8) | 1);
}

TEST(RevisionClockTest, OrdersByTimeAcrossShards) {
  RevisionClock a(0), b(1);
  const uint64_t early = b.Next(1000);
  const uint64_t late = a.Next(2000);
  EXPECT_LT(early, late);
}

}  // namespace
}  // namespace beyondkv::engine
