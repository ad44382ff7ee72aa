#include "common/idle_poll.h"

#include <sys/epoll.h>

#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/wakeable_epoll.h"
#include "gtest/gtest.h"

namespace beyondkv {
namespace {

constexpr uint64_t kWakeTag = 7;

TEST(IdlePollTest, WindowGrowsFromTheStartByDoublingUpToTheMaximum) {
  IdlePoll poll(absl::Microseconds(50));
  EXPECT_EQ(poll.window(), absl::ZeroDuration());
  poll.Learn(/*got_events=*/true, absl::Microseconds(30));
  EXPECT_EQ(poll.window(), IdlePoll::kGrowStart);
  poll.Learn(true, absl::Microseconds(50));  // within the maximum, inclusive
  EXPECT_EQ(poll.window(), absl::Microseconds(20));
  poll.Learn(true, absl::Microseconds(1));
  EXPECT_EQ(poll.window(), absl::Microseconds(40));
  poll.Learn(true, absl::Microseconds(1));
  EXPECT_EQ(poll.window(), absl::Microseconds(50));
  poll.Learn(true, absl::Microseconds(1));
  EXPECT_EQ(poll.window(), absl::Microseconds(50));
}

TEST(IdlePollTest, LongBlocksAndTimeoutsHalveTheWindowDownToZero) {
  IdlePoll poll(absl::Microseconds(40));
  for (int i = 0; i < 3; ++i) poll.Learn(true, absl::ZeroDuration());
  ASSERT_EQ(poll.window(), absl::Microseconds(40));
  poll.Learn(true, absl::Microseconds(41));  // an event, but later than any poll would wait
  EXPECT_EQ(poll.window(), absl::Microseconds(20));
  poll.Learn(/*got_events=*/false, absl::Microseconds(5));  // a timeout, however short
  EXPECT_EQ(poll.window(), IdlePoll::kGrowStart);
  poll.Learn(false, absl::Milliseconds(100));
  EXPECT_EQ(poll.window(), absl::ZeroDuration());  // below the start: off
  poll.Learn(false, absl::Milliseconds(100));
  EXPECT_EQ(poll.window(), absl::ZeroDuration());
}

TEST(IdlePollTest, AZeroMaximumNeverPolls) {
  IdlePoll poll(absl::ZeroDuration());
  poll.Learn(true, absl::ZeroDuration());
  EXPECT_EQ(poll.window(), absl::ZeroDuration());
  IdlePoll negative(absl::Microseconds(-5));
  negative.Learn(true, absl::ZeroDuration());
  EXPECT_EQ(negative.window(), absl::ZeroDuration());
}

TEST(IdlePollTest, WaitReturnsAPendingEventAtOnce) {
  WakeableEpoll epoll(kWakeTag);
  IdlePoll poll(absl::Microseconds(50));
  epoll.Wake();
  epoll_event events[4];
  const int n = poll.Wait(epoll.fd(), events, 4, /*timeout_ms=*/-1);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(events[0].data.u64, kWakeTag);
}

TEST(IdlePollTest, AnExpiredPollStillWaitsForTheTimeoutAndShrinksTheWindow) {
  WakeableEpoll epoll(kWakeTag);
  IdlePoll poll(absl::Microseconds(100));
  for (int i = 0; i < 5; ++i) poll.Learn(true, absl::ZeroDuration());
  ASSERT_EQ(poll.window(), absl::Microseconds(100));
  epoll_event events[4];
  const absl::Time start = absl::Now();
  EXPECT_EQ(poll.Wait(epoll.fd(), events, 4, /*timeout_ms=*/20), 0);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(19));  // the poll did not end it early
  EXPECT_EQ(poll.window(), absl::Microseconds(50));
}

TEST(IdlePollTest, AnEventDuringTheWindowIsCaughtWithoutBlocking) {
  WakeableEpoll epoll(kWakeTag);
  // A window far longer than the writer's delay: the event arrives while polling. Had the
  // wait blocked instead, the short block would have doubled the window.
  IdlePoll poll(absl::Seconds(10));
  while (poll.window() < absl::Milliseconds(500)) poll.Learn(true, absl::ZeroDuration());
  const absl::Duration window = poll.window();
  std::thread writer([&epoll] {
    absl::SleepFor(absl::Milliseconds(5));
    epoll.Wake();
  });
  epoll_event events[4];
  const int n = poll.Wait(epoll.fd(), events, 4, /*timeout_ms=*/-1);
  writer.join();
  ASSERT_EQ(n, 1);
  EXPECT_EQ(events[0].data.u64, kWakeTag);
  EXPECT_EQ(poll.window(), window);
}

TEST(IdlePollTest, ABlockedWaitEndedByAnEventSoonGrowsTheWindow) {
  WakeableEpoll epoll(kWakeTag);
  IdlePoll poll(absl::Seconds(1));  // window 0: this wait blocks at once
  std::thread writer([&epoll] {
    absl::SleepFor(absl::Milliseconds(2));
    epoll.Wake();
  });
  epoll_event events[4];
  const int n = poll.Wait(epoll.fd(), events, 4, /*timeout_ms=*/5000);
  writer.join();
  ASSERT_EQ(n, 1);
  EXPECT_EQ(poll.window(), IdlePoll::kGrowStart);
}

}  // namespace
}  // namespace beyondkv
