// The beyond-kv supervisor: the process a user runs (architecture §1). It prepares the data
// directory, starts S kv-shard processes, waits until each serves on its unix socket, starts
// the gateways (kv-resp-gateway, and kv-http-gateway unless --http-port=0), restarts a child
// that dies (with backoff), and on SIGTERM/SIGINT stops the gateways first and the shards after
// them, so the shards can finish and sync their logs.
//
// Children are found with LocateChildBinary() (child_binaries.h), started with SpawnChild()
// (child_process.h); the data directory is set up by DataDir (data_dir.h).
#ifndef BEYONDKV_SERVICES_BEYOND_KV_SUPERVISOR_H_
#define BEYONDKV_SERVICES_BEYOND_KV_SUPERVISOR_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/idle_poll.h"

namespace beyondkv::services {

struct SupervisorOptions {
  std::string data_dir = "./data";  // created if missing; holds MANIFEST, run/, shard-<i>/
  std::string bind = "127.0.0.1";   // listen address of the gateways
  int resp_port = 6379;             // RESP TCP port, 1..65535
  int http_port = 4869;             // HTTP TCP port, 1..65535; 0 = no HTTP gateway
  int threads = 1;                        // shard count S, 1..256; must match the MANIFEST
  int64_t memory_bytes = 1ll << 30;       // cache budget; each shard gets memory_bytes / S
  // A shard's active log segment is sealed (and a new one started) once it reaches this many
  // bytes; passed to the shards (engine/engine.h Options::segment_bytes).
  int64_t segment_bytes = 64ll << 20;
  int64_t max_value_bytes = 64ll << 20;   // largest value accepted, 1..512 MiB
  int64_t max_clients = 10000;            // open client connections of the RESP gateway
                                          // (Redis's maxclients), 1..1048576
  // Deprecated alias (--max-conns-per-shard): when > 0, the RESP gateway accepts this x S
  // connections instead of max_clients. 0 = not given.
  int64_t max_conns_per_shard = 0;
  int64_t idle_timeout_secs = 0;          // close idle client connections; 0 = never
  // RESP clients with more unread output are disconnected (Redis's client-output-buffer-limit);
  // 0 = no limit.
  int64_t client_output_buffer_limit_bytes = 256ll << 20;
  // Automatic reclaim, passed to the shards (engine/engine.h Options): a namespace is
  // reclaimed once it holds this many sealed segments and a third of the bytes of all but the
  // newest is garbage (0 = only on request: BGREWRITEAOF), checked when it seals a segment
  // and every reclaim_interval_secs (0 = at every background step).
  int64_t reclaim_sealed_threshold = 4;
  int64_t reclaim_interval_secs = 60;
  std::string fsync = "everysec";  // always | everysec | never, passed to the shards
  std::string shard_transport = "link";  // link | grpc, passed to the gateways
  std::string socket_io = "batched";     // batched | syscalls, passed to the RESP gateway
  std::string shard_sched_policy = "adaptive";  // adaptive | batch | normal, for the shards
  // The longest the shards' engine threads and the RESP gateway's loops poll for work before
  // they sleep, in µs (common/idle_poll.h); 0 = never. Passed to both.
  int64_t idle_poll_us = IdlePoll::kDefaultMaxUs;
  // Password for AUTH; "" = none. Handed to the RESP gateway as KV_REQUIREPASS in its
  // environment, never on a command line; no other child sees it.
  std::string requirepass;
  // Bearer token of the HTTP API; "" = none. Handed to the HTTP gateway as KV_HTTP_TOKEN in its
  // environment, never on a command line; no other child sees it.
  std::string http_token;
  int http_threads = 128;  // HTTP worker threads (connections served at once), 1..4096
  // I/O threads (event loops) of the RESP gateway, 0..64; 0 = half the shards, at least 1
  // (EffectiveRespThreads): the gateway's threads and the shards share the cores.
  int resp_threads = 0;
  // Idle time, ms, after which an SSE watch stream gets a `: heartbeat` comment; 10..3600000.
  int64_t sse_heartbeat_ms = 15000;
  // At start-up, how long each child may take to serve (a shard serves once it has recovered
  // its log: ~0.5 s per million keys, docs/benchmarks/engine.md) before the whole server gives
  // up; a child restarted later is only reported when slow. Seconds, 1..86400.
  int64_t startup_timeout_secs = 300;
  // Directory holding kv-shard and the gateways; "" = search the usual places (see
  // LocateChildBinary). main() fills it from KV_BIN_DIR.
  std::string bin_dir;
};

// The RESP gateway's I/O threads: --resp-threads, or half the shards (at least 1) when 0.
// On 2 cores one thread beat two by ~25% at 64 connections without pipelining (less contention
// with the shards and the clients for the cores) and lost ~13% on MGET of 100 keys
// (docs/benchmarks.md).
int EffectiveRespThreads(const SupervisorOptions& options, int shard_count);
// The RESP gateway's connection limit: max_conns_per_shard x S if that deprecated alias is
// given (> 0), else max_clients.
int64_t EffectiveMaxClients(const SupervisorOptions& options, int shard_count);

// OK if every field is in range; InvalidArgument naming the flag otherwise.
absl::Status ValidateOptions(const SupervisorOptions& options);

// Runs the whole server in the calling process until SIGTERM or SIGINT, then shuts it down
// in order and returns OK. Returns an error without starting anything when the options, the
// data directory (e.g. a MANIFEST recording a different shard count) or the child binaries
// are unusable, and after stopping everything when a child keeps failing before it serves
// (5 times in a row) or does not serve within 30 s during start-up.
//
// Call from main() of a single-threaded process: it blocks SIGCHLD, SIGTERM and SIGINT in the
// calling thread (restoring the mask on return), reaps every child process of the calling
// process, and its children are bound to the calling thread's lifetime (PR_SET_PDEATHSIG).
absl::Status RunSupervisor(const SupervisorOptions& options);

}  // namespace beyondkv::services

#endif  // BEYONDKV_SERVICES_BEYOND_KV_SUPERVISOR_H_
