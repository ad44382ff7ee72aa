// Prometheus metrics of the HTTP gateway (text exposition format 0.0.4): request counts by
// route and status, latency histograms by route, open connections, and the shards' own
// figures (keys, bytes, cache, log, reclaim), labelled by shard and namespace.
//
// Thread-safety: Record*, Connection* and Render* may be called from any thread; recording
// is lock-free except for statuses outside the usual set.
#ifndef BEYONDKV_GATEWAY_HTTP_METRICS_H_
#define BEYONDKV_GATEWAY_HTTP_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/http/routes.h"
#include "proto/shard.pb.h"

namespace beyondkv::gateway::http {

class HttpMetrics {
 public:
  // Upper bounds of the latency histogram's buckets, seconds (+Inf is implicit).
  static constexpr std::array<double, 16> kLatencyBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

  HttpMetrics();

  // A request to `route` answered `status` after `latency` (from its first byte parsed to
  // its response written). A request whose start is unknown (malformed, refused before
  // routing) passes a negative latency: counted, not timed.
  void RecordRequest(Route route, int status, absl::Duration latency);

  void ConnectionOpened() {
    open_connections_.fetch_add(1, std::memory_order_relaxed);
    connections_total_.fetch_add(1, std::memory_order_relaxed);
  }
  void ConnectionClosed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }

  // SSE watch streams: counts one more open stream and returns true, unless `max` are open.
  bool TryOpenSseStream(int64_t max);
  void SseStreamClosed() { sse_streams_.fetch_sub(1, std::memory_order_relaxed); }
  // `events` set/del/flush events written to watch streams.
  void SseEventsSent(uint64_t events) {
    sse_events_total_.fetch_add(events, std::memory_order_relaxed);
  }
  int64_t sse_streams() const { return sse_streams_.load(std::memory_order_relaxed); }

  // The gateway's own metrics.
  std::string RenderHttp() const;

  // The shards' figures from one STATS result per shard (element i = shard i); a shard that
  // did not answer has beyondkv_shard_up 0 and no other samples.
  static std::string RenderShards(const std::vector<absl::StatusOr<v1::OpResult>>& stats);

 private:
  // Statuses counted without a lock; others go to other_statuses_.
  static constexpr std::array<int, 13> kStatuses = {200, 204, 400, 401, 404, 405, 409,
                                                    413, 416, 500, 501, 503, 504};
  static constexpr size_t kBuckets = kLatencyBuckets.size() + 1;  // + Inf

  struct RouteStats {
    std::array<std::atomic<uint64_t>, kStatuses.size()> by_status{};
    std::array<std::atomic<uint64_t>, kBuckets> buckets{};  // not cumulative
    std::atomic<uint64_t> timed{0};
    std::atomic<uint64_t> sum_ns{0};
  };

  std::array<RouteStats, kRouteCount> routes_;
  std::atomic<int64_t> open_connections_{0};
  std::atomic<uint64_t> connections_total_{0};
  std::atomic<int64_t> sse_streams_{0};
  std::atomic<uint64_t> sse_events_total_{0};
  mutable absl::Mutex mu_;
  std::map<std::pair<int, int>, uint64_t> other_statuses_ ABSL_GUARDED_BY(mu_);  // (route, status)
};

// A Prometheus label value with \, " and newline escaped.
std::string EscapeLabelValue(std::string_view value);

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_METRICS_H_
