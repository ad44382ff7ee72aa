#include "gateway/http/metrics.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace beyondkv::gateway::http {
namespace {

TEST(HttpMetricsTest, CountsRequestsAndFillsCumulativeBuckets) {
  HttpMetrics m;
  m.RecordRequest(Route::kGetValue, 200, absl::Microseconds(80));
  m.RecordRequest(Route::kGetValue, 404, absl::Milliseconds(3));
  m.RecordRequest(Route::kGetValue, 418, absl::Seconds(20));
  m.RecordRequest(Route::kUnmatched, 400, -absl::Nanoseconds(1));
  m.ConnectionOpened();
  const std::string text = m.RenderHttp();
  EXPECT_TRUE(absl::StrContains(
      text, "beyondkv_http_requests_total{route=\"get_value\",status=\"200\"} 1\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(
      text, "beyondkv_http_requests_total{route=\"get_value\",status=\"418\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "beyondkv_http_requests_total{route=\"unmatched\",status=\"400\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text,
      "beyondkv_http_request_duration_seconds_bucket{route=\"get_value\",le=\"0.0001\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "beyondkv_http_request_duration_seconds_bucket{route=\"get_value\",le=\"0.005\"} 2\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "beyondkv_http_request_duration_seconds_bucket{route=\"get_value\",le=\"10\"} 2\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "beyondkv_http_request_duration_seconds_bucket{route=\"get_value\",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "beyondkv_http_request_duration_seconds_count{route=\"get_value\"} 3\n"));
  EXPECT_FALSE(absl::StrContains(text, "duration_seconds_count{route=\"unmatched\"}"));
  EXPECT_TRUE(absl::StrContains(text, "beyondkv_http_open_connections 1\n"));
  m.ConnectionClosed();
  EXPECT_TRUE(absl::StrContains(m.RenderHttp(), "beyondkv_http_open_connections 0\n"));
}

TEST(HttpMetricsTest, RendersShardStatsAndDownShards) {
  v1::OpResult stats;
  stats.set_code(v1::OpResult::OK);
  stats.mutable_stats()->set_cache_hits(7);
  v1::NamespaceStats* ns = stats.mutable_stats()->add_namespaces();
  ns->set_ns(3);
  ns->set_keys(12);
  ns->set_live_bytes(345);
  std::vector<absl::StatusOr<v1::OpResult>> all = {stats, absl::UnavailableError("down")};
  const std::string text = HttpMetrics::RenderShards(all);
  EXPECT_TRUE(absl::StrContains(text, "beyondkv_shard_up{shard=\"0\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "beyondkv_shard_up{shard=\"1\"} 0\n"));
  EXPECT_TRUE(absl::StrContains(text, "beyondkv_keys{shard=\"0\",ns=\"3\"} 12\n"));
  EXPECT_TRUE(absl::StrContains(text, "beyondkv_live_bytes{shard=\"0\",ns=\"3\"} 345\n"));
  EXPECT_TRUE(absl::StrContains(text, "beyondkv_cache_hits_total{shard=\"0\"} 7\n"));
  EXPECT_FALSE(absl::StrContains(text, "shard=\"1\"} 7"));
}

TEST(EscapeLabelValueTest, EscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

}  // namespace
}  // namespace beyondkv::gateway::http
