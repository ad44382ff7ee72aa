#include "tools/kv-bench/report.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace beyondkv::kvbench {
namespace {

using nlohmann::json;

constexpr double kPercentiles[] = {50, 90, 99, 99.9};
constexpr const char* kPercentileNames[] = {"p50", "p90", "p99", "p99.9"};

double Us(int64_t ns) { return static_cast<double>(ns) / 1000.0; }

// Rounds to 0.1 so the JSON stays readable.
double Round1(double v) { return static_cast<double>(static_cast<int64_t>(v * 10 + 0.5)) / 10; }

int64_t Errors(const CommandStats& s) { return s.error_replies + s.failed; }

json LatencyJson(const Histogram& h) {
  json j;
  for (size_t i = 0; i < std::size(kPercentiles); ++i) {
    j[kPercentileNames[i]] = Round1(Us(h.ValueAtPercentile(kPercentiles[i])));
  }
  j["max"] = Round1(Us(h.max()));
  j["min"] = Round1(Us(h.min()));
  j["mean"] = Round1(Us(static_cast<int64_t>(h.Mean())));
  return j;
}

json StatsJson(const CommandStats& s, double window_secs) {
  json j;
  j["count"] = s.scheduled;
  j["scheduled_rate"] = Round1(s.scheduled / window_secs);
  j["achieved_rate"] = Round1(s.replies_in_window / window_secs);
  j["errors"] = Errors(s);
  j["error_replies"] = s.error_replies;
  j["failed"] = s.failed;
  j["unfinished"] = s.unfinished;
  j["latency_us"] = LatencyJson(s.latency_ns);
  return j;
}

const char* DistName(KeyDistribution d) { return d == KeyDistribution::kZipf ? "zipf" : "uniform"; }

std::string Ms(int64_t ns) { return absl::StrFormat("%.3f", static_cast<double>(ns) / 1e6); }

std::string TextRow(const std::string& name, const CommandStats& s, double window_secs) {
  const Histogram& h = s.latency_ns;
  return absl::StrFormat("%-8s %10d %10.0f %8d %9s %9s %9s %9s %9s\n", name, s.scheduled,
                         s.replies_in_window / window_secs, Errors(s), Ms(h.ValueAtPercentile(50)),
                         Ms(h.ValueAtPercentile(90)), Ms(h.ValueAtPercentile(99)),
                         Ms(h.ValueAtPercentile(99.9)), Ms(h.max()));
}

}  // namespace

std::string FormatJson(const BenchOptions& o, const BenchResult& r) {
  json j;
  j["mode"] = o.closed_loop ? "closed" : "open";
  j["target_rate"] = o.closed_loop ? 0.0 : o.rate_per_sec;
  j["duration_secs"] = r.window_secs;
  if (r.window_secs > 0) {
    const json overall = StatsJson(r.overall, r.window_secs);
    for (const char* key : {"count", "scheduled_rate", "achieved_rate", "errors", "error_replies",
                            "failed", "unfinished", "latency_us"}) {
      j[key] = overall[key];
    }
    j["connection_failures"] = r.run.connection_failures;
    j["first_error"] = r.run.first_error;
    json commands = json::object();
    for (int i = 0; i < kNumCommands; ++i) {
      const CommandStats& s = r.run.commands[i];
      if (s.scheduled > 0 || s.replies_in_window > 0) {
        commands[CommandName(static_cast<Command>(i))] = StatsJson(s, r.window_secs);
      }
    }
    j["commands"] = commands;
  }
  if (o.load) {
    int64_t errors = 0;
    for (const CommandStats& s : r.load.commands) errors += Errors(s);
    j["load"] = {{"keys", o.workload.keys},
                 {"secs", r.load_secs},
                 {"errors", errors},
                 {"connection_failures", r.load.connection_failures},
                 {"first_error", r.load.first_error}};
  }
  const WorkloadOptions& w = o.workload;
  j["options"] = {{"host", o.host},
                  {"port", o.port},
                  {"connections", o.connections},
                  {"threads", o.threads},
                  {"pipeline", o.pipeline},
                  {"warmup_secs", o.warmup_secs},
                  {"mix", FormatMix(w.mix)},
                  {"keys", w.keys},
                  {"value_bytes", w.value_bytes},
                  {"key_dist", DistName(w.key_distribution)},
                  {"zipf_alpha", w.zipf_alpha},
                  {"keys_per_call", w.keys_per_call}};
  return j.dump() + "\n";
}

std::string FormatText(const BenchOptions& o, const BenchResult& r) {
  const WorkloadOptions& w = o.workload;
  std::string out;
  absl::StrAppend(
      &out, "kv-bench ", o.host, ":", o.port, ": ",
      o.closed_loop ? "closed loop" : absl::StrFormat("open loop at %.0f req/s", o.rate_per_sec),
      ", ", o.connections, " connections x pipeline ", o.pipeline, ", ", o.threads, " thread(s)\n");
  absl::StrAppend(&out, "workload: ", FormatMix(w.mix), ", ", w.keys, " keys, ", w.value_bytes,
                  "-byte values, ", DistName(w.key_distribution));
  if (w.key_distribution == KeyDistribution::kZipf) {
    absl::StrAppend(&out, " (alpha ", w.zipf_alpha, ")");
  }
  absl::StrAppend(&out, ", ", w.keys_per_call, " keys per MGET/MSET\n");
  if (o.load) {
    int64_t errors = 0;
    for (const CommandStats& s : r.load.commands) errors += Errors(s);
    absl::StrAppend(&out,
                    absl::StrFormat("load: %d keys in %.2f s (%.0f keys/s), %d errors\n", w.keys,
                                    r.load_secs, w.keys / std::max(r.load_secs, 1e-9), errors));
    if (!r.load.first_error.empty())
      absl::StrAppend(&out, "  first error: ", r.load.first_error, "\n");
  }
  if (r.window_secs <= 0) return out;
  const CommandStats& all = r.overall;
  absl::StrAppend(
      &out, absl::StrFormat("%.1f s measured after %.1f s warm-up: scheduled %.0f req/s, achieved "
                            "%.0f req/s, %d requests, %d errors, %d unfinished, %d connection "
                            "failures\n",
                            r.window_secs, o.warmup_secs, all.scheduled / r.window_secs,
                            all.replies_in_window / r.window_secs, all.scheduled, Errors(all),
                            all.unfinished, r.run.connection_failures));
  if (!r.run.first_error.empty()) absl::StrAppend(&out, "first error: ", r.run.first_error, "\n");
  if (all.unfinished > 0) {
    absl::StrAppend(&out,
                    "note: unfinished requests count at their age when the run ended, so "
                    "the high percentiles are lower bounds\n");
  }
  absl::StrAppend(&out, absl::StrFormat("\n%-8s %10s %10s %8s %9s %9s %9s %9s %9s\n", "command",
                                        "count", "rate/s", "errors", "p50 ms", "p90 ms", "p99 ms",
                                        "p99.9 ms", "max ms"));
  for (int i = 0; i < kNumCommands; ++i) {
    const CommandStats& s = r.run.commands[i];
    if (s.scheduled > 0 || s.replies_in_window > 0) {
      out += TextRow(CommandName(static_cast<Command>(i)), s, r.window_secs);
    }
  }
  out += TextRow("all", all, r.window_secs);
  return out;
}

}  // namespace beyondkv::kvbench
