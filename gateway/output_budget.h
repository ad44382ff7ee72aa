// How much output a RESP client may have the gateway hold for it (Redis's
// client-output-buffer-limit, plus back-pressure Redis does not have).
//
// A reply is produced asynchronously: a command is dispatched to the shards and its bytes
// arrive later, so what a client can make the gateway hold is (commands in flight) x (reply
// size) plus the output it has not read. Three rules bound it, per connection:
//   1. In-flight cap: at most InFlightCap() commands are dispatched and unanswered. The cap is
//      kOutputSoftLimit divided by the connection's recent average reply size (starting at
//      kInitialReplyEstimate, so a new connection gets 4 in flight), between 1 and
//      kMaxPendingReplies: small replies keep deep pipelines, 1 MiB replies get 4 in flight.
//      Commands parsed past the cap wait, parsed, and the socket is not read meanwhile.
//   2. Soft limit: while more than kOutputSoftLimit bytes of output wait to be written, no
//      further command is dispatched and the socket is not read (TCP pushes back on the
//      client); reading resumes once below half of it.
//   3. Hard limit (--client-output-buffer-limit-bytes, 0 = none): a client with more unwritten
//      output than that is disconnected and logged, as Redis does. Checked when completed
//      replies join the output, before writing it, as Redis checks when a reply is added
//      (so it does not depend on how much the kernel's socket buffers take). With
//      rules 1-2 only a single large reply (MGET of many large values, a huge LRANGE...) or a
//      small limit can reach it.
#ifndef BEYONDKV_GATEWAY_OUTPUT_BUDGET_H_
#define BEYONDKV_GATEWAY_OUTPUT_BUDGET_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace beyondkv::gateway {

struct OutputBudget {
  static constexpr size_t kOutputSoftLimit = 4u << 20;        // bytes
  static constexpr size_t kMaxPendingReplies = 4096;          // commands
  static constexpr size_t kInitialReplyEstimate = 1u << 20;  // bytes -> 4 in flight
  // Default of --client-output-buffer-limit-bytes: 4 times the largest value (64 MiB by
  // default), so one GET or a small MGET of maximal values always fits.
  static constexpr uint64_t kDefaultHardLimit = 256ull << 20;

  // Commands a connection whose replies average `avg_reply_bytes` may have in flight.
  static size_t InFlightCap(size_t avg_reply_bytes) {
    return std::clamp<size_t>(kOutputSoftLimit / std::max<size_t>(avg_reply_bytes, 1), 1,
                              kMaxPendingReplies);
  }

  // Moving average (weight 1/8) after a reply of `reply_bytes`.
  static size_t UpdateAverage(size_t avg_reply_bytes, size_t reply_bytes) {
    return avg_reply_bytes - avg_reply_bytes / 8 + reply_bytes / 8;
  }

  // Whether one more command may be dispatched now.
  static bool MayDispatch(size_t replies_pending, size_t avg_reply_bytes, size_t unwritten) {
    return replies_pending < InFlightCap(avg_reply_bytes) && unwritten < kOutputSoftLimit;
  }

  // Whether a paused connection may be read (and its parsed commands dispatched) again.
  static bool MayResume(size_t replies_pending, size_t avg_reply_bytes, size_t unwritten) {
    return replies_pending < InFlightCap(avg_reply_bytes) && unwritten < kOutputSoftLimit / 2;
  }

  // Whether `unwritten` bytes exceed the hard limit (0 = no limit).
  static bool OverHardLimit(size_t unwritten, uint64_t hard_limit) {
    return hard_limit > 0 && unwritten > hard_limit;
  }
};

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_OUTPUT_BUDGET_H_
