#include "engine/revision_clock.h"

#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

constexpr int64_t kSomeDayMs = 1'796'000'000'000;  // 2026-12-01, Unix ms

TEST(RevisionClockTest, FollowsTheClockInMsAndCarriesTheShard) {
  RevisionClock clock(5);
  const uint64_t r = clock.Next(kSomeDayMs);
  EXPECT_EQ(r >> kRevisionShardBits, static_cast<uint64_t>(kSomeDayMs - kRevisionEpochMs));
  EXPECT_EQ(r & (kMaxShards - 1), 5u);
  EXPECT_EQ(clock.last(), r);
  EXPECT_LE(r, kMaxRevision);
}

TEST(RevisionClockTest, EveryRevisionIsExactInJavaScript) {
  // A JavaScript number holds integers up to 2^53 - 1 exactly: a double round trip is exact.
  RevisionClock clock(kMaxShards - 1);
  for (int64_t now : {int64_t{0}, kRevisionEpochMs, kSomeDayMs, int64_t{4'000'000'000'000'000}}) {
    const uint64_t r = clock.Next(now);
    EXPECT_LE(r, kMaxRevision);
    EXPECT_EQ(static_cast<uint64_t>(static_cast<double>(r)), r);
  }
}

TEST(RevisionClockTest, StrictlyIncreasesWhenTheClockStandsStillOrGoesBack) {
  RevisionClock clock(0);
  uint64_t prev = clock.Next(kSomeDayMs);
  for (int64_t now : {kSomeDayMs, kSomeDayMs, kSomeDayMs - 1, int64_t{0}, int64_t{-5}}) {
    const uint64_t r = clock.Next(now);
    EXPECT_GT(r, prev);
    EXPECT_EQ(r >> kRevisionShardBits, (prev >> kRevisionShardBits) + 1);
    prev = r;
  }
}

TEST(RevisionClockTest, ObservedRevisionsAreExceeded) {
  RevisionClock clock(1);
  clock.Observe((5000u << kRevisionShardBits) | 7);  // another shard's, seen by a client
  const uint64_t r = clock.Next(10);
  EXPECT_EQ(r, (5001u << kRevisionShardBits) | 1);
}

TEST(RevisionClockTest, ObservingAnOutOfRangeRevisionIsIgnored) {
  RevisionClock clock(1);
  clock.Observe(uint64_t{1} << 60);
  EXPECT_EQ(clock.last(), 0u);
  EXPECT_FALSE(clock.exhausted());
}

TEST(RevisionClockTest, CausalAcrossShards) {
  // A client writes on shard 3 then on shard 0 within the same ms: the gateway passes the
  // first revision along, so the second is greater although shard 0's id is lower.
  RevisionClock a(3), b(0);
  const uint64_t first = a.Next(kSomeDayMs);
  b.Observe(first);
  EXPECT_GT(b.Next(kSomeDayMs), first);
}

TEST(RevisionClockTest, OrdersByTimeAcrossShards) {
  RevisionClock a(0), b(1);
  const uint64_t early = b.Next(kSomeDayMs);
  const uint64_t late = a.Next(kSomeDayMs + 1);
  EXPECT_LT(early, late);
}

TEST(RevisionClockTest, WatermarkBoundsEveryLaterRevision) {
  RevisionClock clock(2);
  clock.Next(kSomeDayMs);
  const uint64_t w = clock.Watermark(kSomeDayMs + 50);
  EXPECT_GE(w >> kRevisionShardBits, static_cast<uint64_t>(kSomeDayMs + 49 - kRevisionEpochMs));
  EXPECT_GT(clock.Next(kSomeDayMs), w);
  EXPECT_LE(w, kMaxRevision);
}

TEST(RevisionClockTest, ExhaustsBelowTwoToThe53) {
  RevisionClock clock(kMaxShards - 1);
  clock.Observe((kMaxRevisionTick - RevisionClock::kReserveTicks) << kRevisionShardBits);
  EXPECT_FALSE(clock.exhausted());
  const uint64_t r = clock.Next(0);
  EXPECT_TRUE(clock.exhausted());
  EXPECT_LE(r, kMaxRevision);
  // Even past the reserve the clock never leaves the space (the engine stops asking).
  for (int i = 0; i < 100; ++i) EXPECT_LE(clock.Next(0), kMaxRevision);
  EXPECT_LE(clock.Watermark(0), kMaxRevision);
}

}  // namespace
}  // namespace beyondkv::engine
