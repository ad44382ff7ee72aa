#include "common/idle_poll.h"

#include <sched.h>

#include <algorithm>
#include <chrono>

namespace beyondkv {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC through the vDSO: no system call

IdlePoll::IdlePoll(absl::Duration max)
    : max_ns_(std::max<int64_t>(0, absl::ToInt64Nanoseconds(max))) {}

int IdlePoll::Wait(int epoll_fd, epoll_event* events, int max_events, int timeout_ms) {
  if (timeout_ms == 0 || max_ns_ == 0) {
    return epoll_wait(epoll_fd, events, max_events, timeout_ms);
  }
  const Clock::time_point start = Clock::now();
  if (window_ns_ > 0) {
    const Clock::time_point deadline = start + std::chrono::nanoseconds(window_ns_);
    while (true) {
      const int n = epoll_wait(epoll_fd, events, max_events, 0);
      if (n != 0) return n;  // events (or an error) while polling: the window stays
      if (Clock::now() >= deadline) break;
      sched_yield();
    }
  }
  const int n = epoll_wait(epoll_fd, events, max_events, timeout_ms);
  if (n >= 0) Learn(n > 0, absl::FromChrono(Clock::now() - start));
  return n;
}

void IdlePoll::Learn(bool got_events, absl::Duration blocked_for) {
  if (max_ns_ == 0) return;
  const int64_t ns = absl::ToInt64Nanoseconds(blocked_for);
  const int64_t start = absl::ToInt64Nanoseconds(kGrowStart);
  if (got_events && ns <= max_ns_) {
    // Woken soon after blocking: polling a little longer would have saved the wake-up.
    window_ns_ = std::min(max_ns_, std::max(start, window_ns_ * 2));
  } else {
    // Blocked past the longest poll (or until the timeout): polling was wasted.
    window_ns_ /= 2;
    if (window_ns_ < start) window_ns_ = 0;
  }
}

}  // namespace beyondkv
