// kv-bench: an open-loop (or closed-loop) load generator for Redis-protocol servers. Turns
// flags into BenchOptions, runs the benchmark and prints the report to stdout; progress and
// errors go to stderr. Exit codes: 0 after a run (even one with error replies: they are in
// the report), 1 when the run could not start (no connection), 2 for a usage error.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "tools/kv-bench/bench.h"
#include "tools/kv-bench/report.h"
#include "tools/kv-bench/workload.h"

int main(int argc, char** argv) {
  using beyondkv::kvbench::BenchOptions;
  using beyondkv::kvbench::KeyDistribution;

  BenchOptions options;
  std::string mix = "get:80,set:20";
  std::string key_dist = "uniform";
  bool json = false;

  CLI::App app{
      "kv-bench: load generator for Redis-protocol servers (RESP2).\n"
      "Open loop (default): requests are scheduled at --rate as a Poisson process whatever the\n"
      "server's replies do, and latency runs from each request's scheduled time, so queueing\n"
      "shows as latency (coordinated-omission correction). --closed: every connection keeps\n"
      "--pipeline requests in flight, for peak throughput."};
  app.add_option("--host", options.host, "server address")->capture_default_str();
  app.add_option("--port", options.port, "server RESP port")->capture_default_str();
  app.add_option("--rate", options.rate_per_sec, "open loop: total requests per second")
      ->capture_default_str();
  app.add_flag("--closed", options.closed_loop, "closed loop: measure peak throughput");
  app.add_option("--duration-secs", options.duration_secs,
                 "measured time, in seconds (0 with --load: load only)")
      ->capture_default_str();
  app.add_option("--warmup-secs", options.warmup_secs, "unmeasured time before it, in seconds")
      ->capture_default_str();
  app.add_option("--drain-secs", options.drain_secs,
                 "after the measured time, wait this long for outstanding replies; requests "
                 "still unanswered are recorded at their age then and counted as unfinished")
      ->capture_default_str();
  app.add_option("--connections", options.connections, "TCP connections in total")
      ->capture_default_str();
  app.add_option("--threads", options.threads, "event-loop threads sharing the connections")
      ->capture_default_str();
  app.add_option("--pipeline", options.pipeline, "most requests in flight per connection")
      ->capture_default_str();
  app.add_option("--keys", options.workload.keys, "key count: keys kvb:0000000000 and up")
      ->capture_default_str();
  app.add_option("--value-bytes", options.workload.value_bytes, "SET/MSET value size")
      ->capture_default_str();
  app.add_option("--key-dist", key_dist, "key distribution")
      ->capture_default_str()
      ->check(CLI::IsMember({"uniform", "zipf"}));
  app.add_option("--zipf-alpha", options.workload.zipf_alpha, "Zipf exponent (> 0)")
      ->capture_default_str();
  app.add_option("--mix", mix, "command mix, name:weight,... with get, set, mget, mset, incr, ping")
      ->capture_default_str();
  app.add_option("--keys-per-call", options.workload.keys_per_call,
                 "keys per MGET, key-value pairs per MSET")
      ->capture_default_str();
  app.add_flag("--load", options.load, "store every key (MSET batches) before measuring");
  app.add_option("--load-batch", options.load_batch_keys, "keys per MSET while loading (1: SET)")
      ->capture_default_str();
  app.add_option("--seed", options.seed, "random seed")->capture_default_str();
  app.add_flag("--json", json, "print one JSON object instead of text");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  absl::StatusOr<std::vector<beyondkv::kvbench::MixEntry>> parsed =
      beyondkv::kvbench::ParseMix(mix);
  if (!parsed.ok()) {
    std::cerr << "kv-bench: --mix: " << parsed.status().message() << "\n";
    return 2;
  }
  options.workload.mix = *parsed;
  options.workload.key_distribution =
      key_dist == "zipf" ? KeyDistribution::kZipf : KeyDistribution::kUniform;
  if (absl::Status s = beyondkv::kvbench::ValidateOptions(options); !s.ok()) {
    std::cerr << "kv-bench: " << s.message() << "\n";
    return 2;
  }

  absl::StatusOr<beyondkv::kvbench::BenchResult> result = beyondkv::kvbench::RunBench(options);
  if (!result.ok()) {
    std::cerr << "kv-bench: " << result.status().ToString() << "\n";
    return 1;
  }
  std::cout << (json ? beyondkv::kvbench::FormatJson(options, *result)
                     : beyondkv::kvbench::FormatText(options, *result));
  return 0;
}
