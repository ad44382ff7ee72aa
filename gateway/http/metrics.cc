#include "gateway/http/metrics.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/http/strings.h"

namespace beyondkv::gateway::http {
namespace {

void Family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  absl::StrAppend(&out, "# HELP ", AV(name), " ", AV(help), "\n# TYPE ", AV(name), " ", AV(type),
                  "\n");
}

std::string FormatSeconds(double s) { return absl::StrFormat("%g", s); }

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

HttpMetrics::HttpMetrics() = default;

bool HttpMetrics::TryOpenSseStream(int64_t max) {
  int64_t open = sse_streams_.load(std::memory_order_relaxed);
  do {
    if (open >= max) return false;
  } while (!sse_streams_.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
  return true;
}

void HttpMetrics::RecordRequest(Route route, int status, absl::Duration latency) {
  RouteStats& r = routes_[static_cast<int>(route)];
  const auto* it = std::find(kStatuses.begin(), kStatuses.end(), status);
  if (it != kStatuses.end()) {
    r.by_status[it - kStatuses.begin()].fetch_add(1, std::memory_order_relaxed);
  } else {
    absl::MutexLock lock(&mu_);
    ++other_statuses_[{static_cast<int>(route), status}];
  }
  if (latency < absl::ZeroDuration()) return;
  const double seconds = absl::ToDoubleSeconds(latency);
  const size_t bucket = std::lower_bound(kLatencyBuckets.begin(), kLatencyBuckets.end(), seconds) -
                        kLatencyBuckets.begin();
  r.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  r.timed.fetch_add(1, std::memory_order_relaxed);
  r.sum_ns.fetch_add(static_cast<uint64_t>(absl::ToInt64Nanoseconds(latency)),
                     std::memory_order_relaxed);
}

std::string HttpMetrics::RenderHttp() const {
  std::string out;
  Family(out, "beyondkv_http_requests_total", "counter",
         "HTTP requests answered, by route (the OpenAPI operationId) and status code.");
  std::map<std::pair<int, int>, uint64_t> counts;
  for (int route = 0; route < kRouteCount; ++route) {
    for (size_t s = 0; s < kStatuses.size(); ++s) {
      const uint64_t n = routes_[route].by_status[s].load(std::memory_order_relaxed);
      if (n > 0) counts[{route, kStatuses[s]}] = n;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, n] : other_statuses_) counts[key] += n;
  }
  for (const auto& [key, n] : counts) {
    absl::StrAppend(&out, "beyondkv_http_requests_total{route=\"",
                    AV(RouteName(static_cast<Route>(key.first))), "\",status=\"", key.second,
                    "\"} ", n, "\n");
  }

  Family(out, "beyondkv_http_request_duration_seconds", "histogram",
         "Time from a request's parsing to its response, by route.");
  for (int route = 0; route < kRouteCount; ++route) {
    const RouteStats& r = routes_[route];
    const uint64_t timed = r.timed.load(std::memory_order_relaxed);
    if (timed == 0) continue;
    const std::string label =
        absl::StrCat("route=\"", AV(RouteName(static_cast<Route>(route))), "\"");
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      cumulative += r.buckets[b].load(std::memory_order_relaxed);
      const std::string le =
          b < kLatencyBuckets.size() ? FormatSeconds(kLatencyBuckets[b]) : "+Inf";
      absl::StrAppend(&out, "beyondkv_http_request_duration_seconds_bucket{", label, ",le=\"", le,
                      "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, "beyondkv_http_request_duration_seconds_sum{", label, "} ",
                    absl::StrFormat("%.9f", r.sum_ns.load(std::memory_order_relaxed) / 1e9), "\n");
    // The histogram's count is its +Inf bucket (buckets may have moved on since).
    absl::StrAppend(&out, "beyondkv_http_request_duration_seconds_count{", label, "} ", cumulative,
                    "\n");
  }

  Family(out, "beyondkv_http_open_connections", "gauge",
         "Client connections accepted and not yet closed (served or waiting for a thread).");
  absl::StrAppend(&out, "beyondkv_http_open_connections ",
                  open_connections_.load(std::memory_order_relaxed), "\n");
  Family(out, "beyondkv_http_connections_total", "counter", "Client connections accepted.");
  absl::StrAppend(&out, "beyondkv_http_connections_total ",
                  connections_total_.load(std::memory_order_relaxed), "\n");
  Family(out, "beyondkv_http_sse_streams", "gauge", "SSE watch streams open.");
  absl::StrAppend(&out, "beyondkv_http_sse_streams ", sse_streams_.load(std::memory_order_relaxed),
                  "\n");
  Family(out, "beyondkv_http_sse_events_total", "counter",
         "Set, del and flush events written to SSE watch streams.");
  absl::StrAppend(&out, "beyondkv_http_sse_events_total ",
                  sse_events_total_.load(std::memory_order_relaxed), "\n");
  return out;
}

std::string HttpMetrics::RenderShards(const std::vector<absl::StatusOr<v1::OpResult>>& stats) {
  std::string out;
  Family(out, "beyondkv_shard_up", "gauge", "1 if the shard answered STATS for this scrape.");
  for (size_t i = 0; i < stats.size(); ++i) {
    const bool up = stats[i].ok() && stats[i]->code() == v1::OpResult::OK;
    absl::StrAppend(&out, "beyondkv_shard_up{shard=\"", i, "\"} ", up ? 1 : 0, "\n");
  }

  struct NsFamily {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (v1::NamespaceStats::*field)() const;
  };
  static const NsFamily kNsFamilies[] = {
      {"beyondkv_keys", "gauge", "Live keys, by shard and namespace.", &v1::NamespaceStats::keys},
      {"beyondkv_keys_with_expiry", "gauge", "Live keys that have an expiry.",
       &v1::NamespaceStats::expires},
      {"beyondkv_live_bytes", "gauge", "Bytes of live records in the log.",
       &v1::NamespaceStats::live_bytes},
      {"beyondkv_log_bytes", "gauge", "Bytes of all segment files of the namespace's log.",
       &v1::NamespaceStats::log_bytes},
      {"beyondkv_sealed_segments", "gauge", "Sealed (immutable) segments of the log.",
       &v1::NamespaceStats::sealed_segments},
  };
  for (const NsFamily& f : kNsFamilies) {
    Family(out, f.name, f.type, f.help);
    for (size_t i = 0; i < stats.size(); ++i) {
      if (!stats[i].ok() || stats[i]->code() != v1::OpResult::OK) continue;
      for (const v1::NamespaceStats& ns : stats[i]->stats().namespaces()) {
        absl::StrAppend(&out, f.name, "{shard=\"", i, "\",ns=\"", ns.ns(), "\"} ", (ns.*f.field)(),
                        "\n");
      }
    }
  }

  struct ShardFamily {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (v1::ShardStats::*field)() const;
  };
  static const ShardFamily kShardFamilies[] = {
      {"beyondkv_cache_hits_total", "counter", "Value cache hits.", &v1::ShardStats::cache_hits},
      {"beyondkv_cache_misses_total", "counter", "Value cache misses.",
       &v1::ShardStats::cache_misses},
      {"beyondkv_cache_bytes", "gauge", "Bytes held by the value cache.",
       &v1::ShardStats::cache_bytes},
      {"beyondkv_cache_budget_bytes", "gauge", "The value cache's budget.",
       &v1::ShardStats::cache_budget_bytes},
      {"beyondkv_reclaim_runs_total", "counter", "Reclaim (compaction) runs completed.",
       &v1::ShardStats::reclaim_runs},
      {"beyondkv_corrupt_records_total", "counter", "Records that failed their checksum.",
       &v1::ShardStats::corrupt_records},
      {"beyondkv_index_bytes", "gauge", "Estimated memory of the key index.",
       &v1::ShardStats::index_bytes},
      {"beyondkv_expired_keys_total", "counter", "Keys removed by expiry.",
       &v1::ShardStats::expired_keys},
      {"beyondkv_shard_ops_total", "counter", "Ops executed by the shard, from any gateway.",
       &v1::ShardStats::commands},
      {"beyondkv_shard_io_uring", "gauge",
       "1 if the shard's engine thread uses io_uring, 0 if it fell back to blocking I/O "
       "(kernel or seccomp profile refused io_uring).",
       &v1::ShardStats::io_uring},
      {"beyondkv_shard_inline_appends", "gauge",
       "1 if log appends are pwrite()s on the engine thread (no non-blocking buffered "
       "writes on this filesystem, or no io_uring).",
       &v1::ShardStats::inline_appends},
  };
  for (const ShardFamily& f : kShardFamilies) {
    Family(out, f.name, f.type, f.help);
    for (size_t i = 0; i < stats.size(); ++i) {
      if (!stats[i].ok() || stats[i]->code() != v1::OpResult::OK) continue;
      absl::StrAppend(&out, f.name, "{shard=\"", i, "\"} ", (stats[i]->stats().*f.field)(), "\n");
    }
  }
  return out;
}

}  // namespace beyondkv::gateway::http
