// kv-shard: serves one shard of the keyspace over gRPC on a unix socket. Normally started by
// `beyond-kv`; can be run alone for debugging or under another supervisor.
#include <glog/logging.h>

#include <CLI/CLI.hpp>
#include <map>
#include <string>

#include "common/idle_poll.h"
#include "common/logging.h"
#include "common/process.h"
#include "common/socket_paths.h"
#include "services/kv-shard/shard_server.h"

int main(int argc, char** argv) {
  using beyondkv::engine::FsyncPolicy;
  CLI::App app{"kv-shard: one storage shard of beyond-kv, serving gRPC on a unix socket"};
  uint32_t shard_id = 0;
  uint32_t shard_count = 1;
  std::string data_dir = "./data";
  std::string socket_path;
  std::string fsync = "everysec";
  uint64_t max_value_bytes = 64ull << 20;
  uint64_t memory_bytes = 256ull << 20;
  uint64_t segment_bytes = 64ull << 20;
  uint32_t reclaim_sealed_threshold = 4;
  int64_t reclaim_interval_secs = 60;
  app.add_option("--shard-id", shard_id, "this shard's index")->capture_default_str()
      ->check(CLI::Range(0, 63));  // engine/revision_clock.h: 64 shards at most
  app.add_option("--shard-count", shard_count, "number of shards S")->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--data-dir", data_dir, "data directory; the shard uses <data-dir>/shard-<id>")
      ->capture_default_str();
  std::string link_socket_path;
  app.add_option("--socket", socket_path, "unix socket path to serve gRPC on")->required();
  app.add_option("--link-socket", link_socket_path,
                 "unix socket path of the shard link (the gateways' framed hot path); "
                 "default: the --socket path with .link instead of .sock; 'none' disables it");
  app.add_option("--fsync", fsync, "log sync policy")->capture_default_str()
      ->check(CLI::IsMember({"always", "everysec", "never"}));
  app.add_option("--max-value-bytes", max_value_bytes, "largest value accepted, in bytes")
      ->capture_default_str();
  app.add_option("--memory-bytes", memory_bytes, "value cache budget of this shard, in bytes")
      ->capture_default_str();
  app.add_option("--segment-bytes", segment_bytes,
                 "seal a namespace's active log segment once it grows past this, in bytes")
      ->capture_default_str();
  app.add_option("--reclaim-sealed-threshold", reclaim_sealed_threshold,
                 "reclaim a namespace once it has this many sealed segments")
      ->capture_default_str();
  app.add_option("--reclaim-interval-secs", reclaim_interval_secs,
                 "how often to check whether a namespace needs reclaim, in seconds, besides "
                 "when it seals a segment")
      ->capture_default_str();
  std::string sched_policy = "adaptive";
  app.add_option("--sched-policy", sched_policy,
                 "CPU scheduling policy of the shard's threads (common/process.h): batch "
                 "(SCHED_BATCH: a wake-up does not preempt the running thread), normal "
                 "(SCHED_OTHER), or adaptive (batch, but the engine thread runs normal while "
                 "its batches take long to apply: sched_adapter.h)")
      ->capture_default_str()
      ->check(CLI::IsMember({"adaptive", "batch", "normal"}));
  int64_t idle_poll_us = beyondkv::IdlePoll::kDefaultMaxUs;
  app.add_option("--idle-poll-us", idle_poll_us,
                 "the longest the engine thread polls for requests before it sleeps, in µs "
                 "(adaptive, yielding the CPU between checks: common/idle_poll.h); 0 = never")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  CLI11_PARSE(app, argc, argv);
  if (shard_id >= shard_count) {
    std::cerr << "--shard-id must be below --shard-count\n";
    return 2;
  }

  beyondkv::InitLogging(argv[0], "kv-shard[" + std::to_string(shard_id) + "]");
  bool under_batch = false;
  if (sched_policy != "normal") {
    // First, so that every thread of the shard (engine, gRPC, io_uring workers) inherits it.
    if (absl::Status s = beyondkv::SetSchedPolicy(beyondkv::SchedPolicy::kBatch); !s.ok()) {
      LOG(WARNING) << "staying with the default scheduling policy: " << s;
    } else {
      under_batch = true;
    }
  }

  beyondkv::InitServerProcess([] { beyondkv::shard::RequestShutdown(); });

  const std::map<std::string, FsyncPolicy> policies = {{"always", FsyncPolicy::kAlways},
                                                       {"everysec", FsyncPolicy::kEverySec},
                                                       {"never", FsyncPolicy::kNever}};
  beyondkv::shard::ShardServerOptions options;
  options.engine.shard_id = shard_id;
  options.engine.shard_count = shard_count;
  options.engine.fsync = policies.at(fsync);
  options.engine.max_value_bytes = max_value_bytes;
  options.engine.memory_bytes = memory_bytes;
  options.engine.segment_bytes = segment_bytes;
  options.engine.reclaim_sealed_threshold = reclaim_sealed_threshold;
  options.engine.reclaim_interval_secs = reclaim_interval_secs;
  options.shard_dir = data_dir + "/shard-" + std::to_string(shard_id);
  options.socket_path = socket_path;
  if (link_socket_path.empty()) {
    link_socket_path = beyondkv::LinkSocketPath(socket_path);
  } else if (link_socket_path == "none") {
    link_socket_path.clear();
  }
  options.link_socket_path = link_socket_path;
  options.adaptive_scheduling = sched_policy == "adaptive" && under_batch;
  options.idle_poll = absl::Microseconds(idle_poll_us);
  LOG(INFO) << "starting shard " << shard_id << "/" << shard_count << " in " << options.shard_dir
            << " (fsync " << fsync << ")";
  absl::Status status = beyondkv::shard::RunShardServer(options);
  if (!status.ok()) {
    LOG(ERROR) << "fatal: " << status;
    return 1;
  }
  return 0;
}
