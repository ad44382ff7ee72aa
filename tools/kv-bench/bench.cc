#include "tools/kv-bench/bench.h"

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/kv-bench/connection.h"

namespace beyondkv::kvbench {
namespace {

constexpr int64_t kNsPerSec = 1000000000;
// Time between "connections ready" and the first request, so every thread starts together.
constexpr int64_t kStartDelayNs = 50 * 1000 * 1000;

int64_t SecsToNs(double secs) { return static_cast<int64_t>(secs * kNsPerSec); }

}  // namespace

absl::Status ValidateOptions(const BenchOptions& o) {
  const WorkloadOptions& w = o.workload;
  if (o.port <= 0 || o.port > 65535) return absl::InvalidArgumentError("--port out of range");
  if (o.connections < 1) return absl::InvalidArgumentError("--connections must be >= 1");
  if (o.threads < 1) return absl::InvalidArgumentError("--threads must be >= 1");
  if (o.pipeline < 1) return absl::InvalidArgumentError("--pipeline must be >= 1");
  if (o.duration_secs < 0 || o.warmup_secs < 0 || o.drain_secs < 0) {
    return absl::InvalidArgumentError("durations must be >= 0");
  }
  if (o.duration_secs == 0 && !o.load) {
    return absl::InvalidArgumentError("--duration-secs 0 only makes sense with --load");
  }
  if (!o.closed_loop && o.rate_per_sec <= 0) {
    return absl::InvalidArgumentError("--rate must be > 0 (or use --closed)");
  }
  if (o.load_batch_keys < 1) return absl::InvalidArgumentError("--load-batch must be >= 1");
  if (w.mix.empty()) return absl::InvalidArgumentError("empty --mix");
  if (w.keys < 1) return absl::InvalidArgumentError("--keys must be >= 1");
  if (w.value_bytes < 0) return absl::InvalidArgumentError("--value-bytes must be >= 0");
  if (w.keys_per_call < 1) return absl::InvalidArgumentError("--keys-per-call must be >= 1");
  if (w.key_distribution == KeyDistribution::kZipf && !(w.zipf_alpha > 0)) {
    return absl::InvalidArgumentError("--zipf-alpha must be > 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<BenchResult> RunBench(const BenchOptions& options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  const int threads = std::min(options.threads, options.connections);

  // Connection i belongs to worker i % threads.
  std::vector<std::vector<std::unique_ptr<Connection>>> per_worker(threads);
  for (int i = 0; i < options.connections; ++i) {
    absl::StatusOr<std::unique_ptr<Connection>> conn = Connection::Open(options.host, options.port);
    if (!conn.ok()) return conn.status();
    per_worker[i % threads].push_back(*std::move(conn));
  }

  BenchResult result;
  std::vector<std::unique_ptr<BenchWorker>> workers;
  std::vector<int64_t> worker_connections;
  for (int t = 0; t < threads; ++t) {
    WorkerOptions wo;
    wo.pipeline = options.pipeline;
    wo.closed_loop = options.closed_loop;
    wo.rate_per_sec =
        options.rate_per_sec * per_worker[t].size() / static_cast<double>(options.connections);
    wo.workload = options.workload;
    wo.seed = options.seed * 1000003 + t;
    worker_connections.push_back(static_cast<int64_t>(per_worker[t].size()));
    workers.push_back(std::make_unique<BenchWorker>(std::move(per_worker[t]), wo));
  }

  // Runs fn(t) on one thread per worker and merges what they return.
  auto on_all_workers = [&](auto fn) {
    std::vector<WorkerStats> stats(threads);
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
      running.emplace_back([&, t] { stats[t] = fn(t); });
    }
    for (std::thread& th : running) th.join();
    WorkerStats merged;
    for (const WorkerStats& s : stats) merged.Merge(s);
    return merged;
  };

  if (options.load) {
    const int64_t keys = options.workload.keys;
    const int64_t start = MonotonicNowNs();
    // Worker t stores a share of the keys proportional to its connections.
    std::vector<int64_t> bounds = {0};
    int64_t conns_before = 0;
    for (int t = 0; t < threads; ++t) {
      conns_before += worker_connections[t];
      bounds.push_back(keys * conns_before / options.connections);
    }
    result.load = on_all_workers(
        [&](int t) { return workers[t]->Load(bounds[t], bounds[t + 1], options.load_batch_keys); });
    result.load_secs = static_cast<double>(MonotonicNowNs() - start) / kNsPerSec;
  }

  if (options.duration_secs > 0) {
    Schedule schedule;
    schedule.start_ns = MonotonicNowNs() + kStartDelayNs;
    schedule.measure_begin_ns = schedule.start_ns + SecsToNs(options.warmup_secs);
    schedule.measure_end_ns = schedule.measure_begin_ns + SecsToNs(options.duration_secs);
    schedule.drain_end_ns = schedule.measure_end_ns + SecsToNs(options.drain_secs);
    result.window_secs = options.duration_secs;
    result.run = on_all_workers([&](int t) { return workers[t]->Run(schedule); });
    for (const CommandStats& c : result.run.commands) result.overall.Merge(c);
  }
  return result;
}

}  // namespace beyondkv::kvbench
