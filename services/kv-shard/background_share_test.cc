#include "services/kv-shard/background_share.h"

#include <gtest/gtest.h>

#include <chrono>

namespace beyondkv::shard {
namespace {

constexpr int64_t kMs = 1'000'000;

// A steady_clock time `ns` nanoseconds after an arbitrary origin (never the epoch itself).
BackgroundShare::Clock::time_point At(int64_t ns) {
  return BackgroundShare::Clock::time_point(std::chrono::seconds(1) +
                                            std::chrono::nanoseconds(ns));
}

TEST(BackgroundShareTest, AnIdleThreadGetsWholeSlices) {
  BackgroundShare share(0.25, absl::Milliseconds(2));
  EXPECT_EQ(share.Budget(At(1 * kMs), /*busy=*/false), absl::Milliseconds(2));
  share.Ran(At(1 * kMs), At(3 * kMs));
  EXPECT_EQ(share.Budget(At(4 * kMs), /*busy=*/false), absl::Milliseconds(2));
}

TEST(BackgroundShareTest, UnderLoadSlicesGetAQuarterOfTheThread) {
  BackgroundShare share(0.25, absl::Milliseconds(2));
  share.Ran(At(0), At(1));  // starts the clock
  int64_t now = 1;
  int64_t background = 0;
  // Batches of 1 ms each, a slice after each taking its whole budget.
  for (int i = 0; i < 1000; ++i) {
    now += kMs;  // the batch
    const int64_t budget = absl::ToInt64Nanoseconds(share.Budget(At(now), /*busy=*/true));
    EXPECT_LE(budget, 2 * kMs);
    share.Ran(At(now), At(now + budget));
    now += budget;
    background += budget;
  }
  const double fraction = static_cast<double>(background) / now;
  EXPECT_NEAR(fraction, 0.25, 0.01);
}

TEST(BackgroundShareTest, ShortBatchesDoNotRaiseTheShare) {
  BackgroundShare share(0.25, absl::Milliseconds(2));
  share.Ran(At(0), At(1));
  int64_t now = 1;
  int64_t background = 0;
  for (int i = 0; i < 10000; ++i) {
    now += 100'000;  // 0.1 ms batches: a fixed 2 ms slice would take 95% of the thread
    const int64_t budget = absl::ToInt64Nanoseconds(share.Budget(At(now), /*busy=*/true));
    share.Ran(At(now), At(now + budget));
    now += budget;
    background += budget;
  }
  EXPECT_NEAR(static_cast<double>(background) / now, 0.25, 0.01);
}

TEST(BackgroundShareTest, CreditIsCappedAndOverrunsAreRepaid) {
  BackgroundShare share(0.25, absl::Milliseconds(2));
  share.Ran(At(0), At(1));
  // A long quiet spell earns no more than one slice.
  EXPECT_EQ(share.Budget(At(1000 * kMs), /*busy=*/true), absl::Milliseconds(2));
  // A slice that overran by 2 ms leaves a debt: the next budget is 0 until it is earned back.
  share.Ran(At(1000 * kMs), At(1004 * kMs));
  EXPECT_EQ(share.Budget(At(1004 * kMs + 3 * kMs), /*busy=*/true), absl::ZeroDuration());
  EXPECT_EQ(share.Budget(At(1004 * kMs + 9 * kMs), /*busy=*/true), absl::Milliseconds(1));
}

}  // namespace
}  // namespace beyondkv::shard
