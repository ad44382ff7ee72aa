// kv-bench: one benchmark run. Opens the connections, spreads them over worker threads,
// optionally loads every key, then runs the measured phase (open or closed loop) and merges
// the workers' results. Library entry point of //tools/kv-bench:kv-bench; defines no flags.
#ifndef BEYONDKV_TOOLS_KV_BENCH_BENCH_H_
#define BEYONDKV_TOOLS_KV_BENCH_BENCH_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "tools/kv-bench/bench_worker.h"
#include "tools/kv-bench/workload.h"

namespace beyondkv::kvbench {

struct BenchOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  bool closed_loop = false;
  double rate_per_sec = 10000;  // open loop: total scheduled rate over all connections
  double duration_secs = 10;    // measured window; 0 = only load (with load = true)
  double warmup_secs = 2;       // run before the window, not measured
  double drain_secs = 2;        // after the window, wait this long for outstanding replies
  int connections = 64;
  int threads = 1;
  int pipeline = 1;           // most requests in flight per connection
  bool load = false;          // store every key before the warm-up
  int load_batch_keys = 100;  // keys per MSET while loading (1 = SET)
  WorkloadOptions workload;
  uint64_t seed = 1;
};

struct BenchResult {
  // Loading (when requested): per-command stats of the SET/MSET requests, and wall time.
  WorkerStats load;
  double load_secs = 0;

  WorkerStats run;         // the measured phase, per command
  CommandStats overall;    // run.commands merged
  double window_secs = 0;  // length of the measured window
};

// Checks option ranges (positive counts, rate, a non-empty mix...). InvalidArgument says which.
absl::Status ValidateOptions(const BenchOptions& options);

// Runs the benchmark. InvalidArgument for bad options, Unavailable when a connection cannot be
// opened. Failures during the run (error replies, lost connections) are counted in the result.
absl::StatusOr<BenchResult> RunBench(const BenchOptions& options);

}  // namespace beyondkv::kvbench

#endif  // BEYONDKV_TOOLS_KV_BENCH_BENCH_H_
