// Polling before sleeping: an event loop about to block in epoll_wait(2) first checks for
// events for a short window, yielding its CPU between checks, and only then blocks.
//
// Why: a request-reply chain of ours crosses four wake-ups per command (client -> RESP
// gateway -> shard -> gateway -> client) where Redis has two. On a virtual machine a thread
// blocked on an idle vCPU costs ~10-50 µs to wake (the vCPU halted; the host has to run it
// again: `perf sched timehist` in docs/benchmarks.md, "eleventh session"). A result or a next
// command that arrives while the thread polls costs no wake-up at all.
//
// How long: the window adapts per thread the way KVM's halt-polling does
// (Documentation/virt/kvm/halt-polling.rst in the Linux tree): it starts at 0; a wait that
// blocked and was ended by an event within `max` of its start grows it (x2, from
// kGrowStart), since polling that long would have caught the event; a wait that blocked
// longer than `max` (or until its timeout) halves it, and below kGrowStart it is 0. So a
// thread serving one client at a time polls just long enough, an idle thread or one woken
// only by its timers stops polling after a few waits, and a busy thread finds its events
// within a check or two (docs/benchmarks.md: ~0.5 extra system calls per command at 64
// connections, no measurable CPU).
//
// Polling never holds a CPU another thread needs: between two checks the thread calls
// sched_yield(2), so a runnable thread on the same CPU (the client, the other end of the
// link) runs first.
//
// Thread-safety: one IdlePoll per event loop thread; not thread-safe.
#ifndef BEYONDKV_COMMON_IDLE_POLL_H_
#define BEYONDKV_COMMON_IDLE_POLL_H_

#include <sys/epoll.h>

#include <cstdint>

#include "absl/time/time.h"

namespace beyondkv {

class IdlePoll {
 public:
  // The smallest window polling grows to from 0 (KVM's halt_poll_ns_grow_start).
  static constexpr absl::Duration kGrowStart = absl::Microseconds(10);
  // The default maximum of the servers' --idle-poll-us, in µs (KVM's default halt_poll_ns).
  static constexpr int64_t kDefaultMaxUs = 200;

  // Polls for at most `max` before blocking; `max` <= 0 never polls (Wait is epoll_wait).
  explicit IdlePoll(absl::Duration max);

  // epoll_wait(epoll_fd, events, max_events, timeout_ms), polling first for the current
  // window when timeout_ms != 0. Returns what epoll_wait returns (-1 with errno on error).
  int Wait(int epoll_fd, epoll_event* events, int max_events, int timeout_ms);

  // How a wait that blocked ended, `blocked_for` after the wait started (polling included):
  // `got_events` false means it timed out. Adapts the window; Wait calls it.
  void Learn(bool got_events, absl::Duration blocked_for);

  absl::Duration window() const { return absl::Nanoseconds(window_ns_); }
  absl::Duration max() const { return absl::Nanoseconds(max_ns_); }

 private:
  int64_t max_ns_;
  int64_t window_ns_ = 0;
};

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_IDLE_POLL_H_
