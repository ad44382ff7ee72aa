// How much of a shard's engine thread its background work may take (reclaim, hint files, the
// expiry sweep: engine::Engine::RunBackgroundWork). Between batches that work runs in slices of
// at most `max_slice`. An idle thread gives each slice its whole `max_slice`; while batches
// keep coming, a slice gets only the credit earned since the previous one, `share` of the
// thread's time: the time spent elsewhere times share / (1 - share), capped at `max_slice`.
//
// Why: a fixed 2 ms slice after every batch gave background work 2/3 of the thread when
// batches took ~1 ms, and more when they were shorter: a hint file or reclaim of one 64 MiB
// segment cut MSET throughput to a third while it ran (docs/benchmarks.md, twelfth session).
// With a share, requests keep the rest of the thread whatever the batch length, and the
// background work still advances at `share` of the thread under any load (the engine
// worker gives it a third: enough for hint files and reclaim to keep up with sustained
// writes of small records, which need about that much).
//
// Times are std::chrono::steady_clock's. Thread contract: one thread (the engine thread).
#ifndef BEYONDKV_SERVICES_KV_SHARD_BACKGROUND_SHARE_H_
#define BEYONDKV_SERVICES_KV_SHARD_BACKGROUND_SHARE_H_

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "absl/time/time.h"

namespace beyondkv::shard {

class BackgroundShare {
 public:
  using Clock = std::chrono::steady_clock;

  // Requires 0 < share < 1.
  BackgroundShare(double share, absl::Duration max_slice)
      : ratio_(share / (1 - share)), max_ns_(absl::ToInt64Nanoseconds(max_slice)) {}

  // The budget of a slice starting at `now`; `busy`: a batch ran since the previous slice.
  absl::Duration Budget(Clock::time_point now, bool busy) {
    if (credited_ != Clock::time_point() && now > credited_) {
      credit_ns_ = std::min<double>(max_ns_, credit_ns_ + ratio_ * Ns(now - credited_));
    }
    credited_ = std::max(credited_, now);
    if (!busy) return absl::Nanoseconds(max_ns_);
    return absl::Nanoseconds(static_cast<int64_t>(std::max(0.0, credit_ns_)));
  }

  // Records a slice that ran from `start` to `end`.
  void Ran(Clock::time_point start, Clock::time_point end) {
    // Debt (a slice that overran its budget: each duty makes some progress) is repaid from
    // later credit, down to one max_slice.
    credit_ns_ = std::max<double>(-max_ns_, credit_ns_ - Ns(end - start));
    credited_ = std::max(credited_, end);  // a slice's own time earns nothing
  }

 private:
  static int64_t Ns(Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  }

  double ratio_;
  int64_t max_ns_;
  double credit_ns_ = 0;
  Clock::time_point credited_;  // credit is earned up to this time (epoch: not yet started)
};

}  // namespace beyondkv::shard

#endif  // BEYONDKV_SERVICES_KV_SHARD_BACKGROUND_SHARE_H_
