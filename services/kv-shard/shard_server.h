// kv-shard: one storage shard as a process (architecture §1, §2).
//
// One engine thread owns the shard's Engine (index, logs); nothing else touches it. gRPC
// callback handlers only enqueue each Execute call and return; the engine thread drains the
// queue in batches, applies every op of every drained call, group-commits the records with
// Engine::Commit() (one write per namespace, one fdatasync under --fsync always), and then
// completes the calls. Reads see writes queued before them (calls are applied in arrival
// order). Under --fsync everysec the engine thread also syncs about once a second.
#ifndef BEYONDKV_SERVICES_KV_SHARD_SHARD_SERVER_H_
#define BEYONDKV_SERVICES_KV_SHARD_SHARD_SERVER_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/engine.h"

namespace beyondkv::shard {

struct ShardServerOptions {
  engine::Options engine;     // shard id/count, fsync policy, sizes, cache budget, reclaim
  std::string shard_dir;      // <data-dir>/shard-<i>
  std::string socket_path;    // unix socket the gRPC server listens on; replaced if stale
  // Unix socket of the shard link (the gateways' hot path, link_server.h); replaced if
  // stale. Empty: no link, gRPC only.
  std::string link_socket_path;
  // EngineWorker::SetAdaptiveScheduling (for a shard started under SCHED_BATCH).
  bool adaptive_scheduling = false;
  // EngineWorker::SetIdlePoll: how long the engine thread polls before it blocks; 0 = never.
  absl::Duration idle_poll = absl::ZeroDuration();
};

// Opens the engine (recovery), serves the shard link (when a path is set) and gRPC on their
// unix sockets until `*stop` becomes true (the
// caller sets it from a signal-handling thread and then calls NotifyStop()), then stops
// accepting, completes in-flight calls, syncs every log and returns.
// Errors: the engine's Open() status (e.g. FailedPrecondition on a manifest mismatch), or
// Unavailable when a socket cannot be bound. The link is bound before gRPC, so a shard whose
// gRPC socket accepts also accepts links.
absl::Status RunShardServer(const ShardServerOptions& options);

// Asks a running RunShardServer() to shut down. Async-signal-unsafe: call from a normal
// thread (main.cc uses a sigwait thread).
void RequestShutdown();

}  // namespace beyondkv::shard

#endif  // BEYONDKV_SERVICES_KV_SHARD_SHARD_SERVER_H_
