// beyond-kv: the command a user runs. Turns flags (and KV_* environment variables) into
// SupervisorOptions and runs the supervisor, which starts and watches kv-shard,
// kv-resp-gateway and kv-http-gateway. Logs go to stderr; stdout is never written except by
// --help.
#include <glog/logging.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "services/beyond-kv/supervisor.h"

namespace {

using beyondkv::services::SupervisorOptions;

int DefaultThreads() {
  return std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 64);  // revision_clock.h: at most 64 shards
}

// Applies --address (KV_ADDRESS), "host:port" or "[v6]:port", the public Beyond KV server's
// HTTP listen address: host -> --bind, port -> --http-port. Refuses a contradiction with an
// explicit --bind / --http-port.
bool ApplyAddress(const std::string& address, bool bind_given, bool http_port_given,
                  SupervisorOptions& options) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    LOG(ERROR) << "--address=" << address << " is not host:port";
    return false;
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!host.empty()) {
    if (bind_given && host != options.bind) {
      LOG(ERROR) << "--address=" << address << " contradicts --bind=" << options.bind;
      return false;
    }
    options.bind = host;
  }
  if (http_port_given && port != options.http_port) {
    LOG(ERROR) << "--address=" << address << " contradicts --http-port=" << options.http_port;
    return false;
  }
  options.http_port = port;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  beyondkv::InitLogging(argv[0], "beyond-kv");

  SupervisorOptions options;
  options.threads = DefaultThreads();
  std::string address;

  CLI::App app{
      "beyond-kv: a Redis-compatible, disk-backed key-value store.\n"
      "Starts one kv-shard process per shard, the RESP gateway (kv-resp-gateway) and the HTTP\n"
      "gateway (kv-http-gateway), restarts them if they die, and stops them in order on\n"
      "SIGTERM/SIGINT. Every flag can also be set through the environment variable shown. The\n"
      "child executables are looked up in $KV_BIN_DIR, the Bazel runfiles, and next to this\n"
      "executable."};
  // `beyond-kv serve ...` == `beyond-kv ...`, as the public Beyond KV server is started.
  app.fallthrough();
  app.require_subcommand(0, 1);
  app.add_subcommand("serve", "run the server (the default; accepted for compatibility)");

  app.add_option("--data-dir", options.data_dir, "data directory")
      ->envname("KV_DATA_DIR")->capture_default_str();
  app.add_option("--resp-port", options.resp_port, "RESP (Redis protocol) TCP port")
      ->envname("KV_RESP_PORT")->capture_default_str();
  CLI::Option* http_port =
      app.add_option("--http-port", options.http_port,
                     "HTTP (REST API, /livez, /readyz, /metrics) TCP port; 0 = no HTTP gateway")
          ->envname("KV_HTTP_PORT")->capture_default_str();
  app.add_option("--http-token", options.http_token,
                 "bearer token every HTTP route but /livez and /readyz requires "
                 "(Authorization: Bearer <token>); empty = none")
      ->envname("KV_HTTP_TOKEN");
  app.add_option("--resp-threads", options.resp_threads,
                 "I/O threads of the RESP gateway; 0 = half the shards, at least 1")
      ->envname("KV_RESP_THREADS")->capture_default_str();
  app.add_option("--http-threads", options.http_threads,
                 "HTTP worker threads: connections served at once (more wait for a free one)")
      ->envname("KV_HTTP_THREADS")->capture_default_str();
  app.add_option("--sse-heartbeat-ms", options.sse_heartbeat_ms,
                 "SSE watch streams (GET /v1/watch...) get a heartbeat comment after this many "
                 "ms without an event")
      ->envname("KV_SSE_HEARTBEAT_MS")->capture_default_str();
  CLI::Option* bind = app.add_option("--bind", options.bind, "listen address of the gateways")
                          ->envname("KV_BIND")->capture_default_str();
  app.add_option("--threads", options.threads,
                 "number of shards S, one process each (default: number of CPUs); fixed when "
                 "the data directory is created")
      ->envname("KV_THREADS")->capture_default_str();
  app.add_option("--memory-bytes", options.memory_bytes,
                 "cache budget in bytes, split evenly across the shards")
      ->envname("KV_MEMORY_BYTES")->capture_default_str();
  app.add_option("--max-value-bytes", options.max_value_bytes,
                 "largest value accepted, in bytes (at most 512 MiB)")
      ->envname("KV_MAX_VALUE_BYTES")->capture_default_str();
  CLI::Option* max_clients =
      app.add_option("--max-clients", options.max_clients,
                     "maximum open client connections of the RESP gateway (Redis's maxclients; "
                     "CONFIG GET maxclients)")
          ->envname("KV_MAX_CLIENTS")->capture_default_str();
  CLI::Option* max_conns_per_shard =
      app.add_option("--max-conns-per-shard", options.max_conns_per_shard,
                     "deprecated, use --max-clients: the RESP gateway accepts up to this many "
                     "connections per shard (this x the shard count in all)")
          ->envname("KV_MAX_CONNS_PER_SHARD");
  app.add_option("--startup-timeout-secs", options.startup_timeout_secs,
                 "at start-up, seconds each shard and gateway may take to serve (a shard "
                 "recovers its log first) before beyond-kv gives up")
      ->envname("KV_STARTUP_TIMEOUT_SECS")->capture_default_str();
  app.add_option("--idle-timeout-secs", options.idle_timeout_secs,
                 "close client connections idle this long, in seconds; 0 = never")
      ->envname("KV_IDLE_TIMEOUT_SECS")->capture_default_str();
  app.add_option("--client-output-buffer-limit-bytes", options.client_output_buffer_limit_bytes,
                 "disconnect a RESP client with more unread output than this, in bytes "
                 "(Redis's client-output-buffer-limit); 0 = no limit")
      ->envname("KV_CLIENT_OUTPUT_BUFFER_LIMIT_BYTES")->capture_default_str();
  app.add_option("--segment-bytes", options.segment_bytes,
                 "seal a shard's log segment (and start the next) at this many bytes")
      ->envname("KV_SEGMENT_BYTES")->capture_default_str();
  app.add_option("--reclaim-sealed-threshold", options.reclaim_sealed_threshold,
                 "reclaim a namespace's log once it has this many sealed segments and a third "
                 "of their bytes is garbage; 0 = only on request (BGREWRITEAOF)")
      ->envname("KV_RECLAIM_SEALED_THRESHOLD")->capture_default_str();
  app.add_option("--reclaim-interval-secs", options.reclaim_interval_secs,
                 "how often the shards check whether a namespace needs reclaim, in seconds, "
                 "besides when it seals a segment; 0 = at every background step")
      ->envname("KV_RECLAIM_INTERVAL_SECS")->capture_default_str();
  app.add_option("--fsync", options.fsync,
                 "when the shards sync their logs: always (before replying), everysec, never")
      ->envname("KV_FSYNC")->capture_default_str()
      ->check(CLI::IsMember({"always", "everysec", "never"}));
  app.add_option("--shard-transport", options.shard_transport,
                 "how the gateways reach the shards: link (framed batches on a unix socket, "
                 "served by each shard's engine thread) or grpc (the shards' gRPC service)")
      ->envname("KV_SHARD_TRANSPORT")->capture_default_str()
      ->check(CLI::IsMember({"link", "grpc"}));
  app.add_option("--socket-io", options.socket_io,
                 "the RESP gateway's client socket I/O: batched (one io_uring submission per "
                 "loop iteration for all reads, one for all writes) or syscalls (a read and a "
                 "write per connection)")
      ->envname("KV_SOCKET_IO")->capture_default_str()
      ->check(CLI::IsMember({"batched", "syscalls"}));
  app.add_option("--shard-sched-policy", options.shard_sched_policy,
                 "the shards' CPU scheduling policy: batch (SCHED_BATCH: a shard woken for a "
                 "batch does not preempt the running gateway; fewer context switches), normal "
                 "(SCHED_OTHER), or adaptive (batch, but a shard whose batches take long to "
                 "apply, such as MGETs of many keys, runs normal)")
      ->envname("KV_SHARD_SCHED_POLICY")->capture_default_str()
      ->check(CLI::IsMember({"adaptive", "batch", "normal"}));
  app.add_option("--idle-poll-us", options.idle_poll_us,
                 "the longest a shard's engine thread or a RESP gateway loop polls for work "
                 "before it sleeps, in µs: adaptive per thread, yielding the CPU between "
                 "checks; saves a wake-up per hop for clients that wait for each reply "
                 "(docs/benchmarks.md); 0 = never poll")
      ->envname("KV_IDLE_POLL_US")->capture_default_str()
      ->check(CLI::Range(0, 10000));
  app.add_option("--requirepass", options.requirepass,
                 "password clients must give with AUTH; empty = none")
      ->envname("KV_REQUIREPASS")->capture_default_str();
  app.add_option("--address", address,
                 "host:port: sets the HTTP listen address (--bind and --http-port), as the "
                 "public Beyond KV server takes it")
      ->envname("KV_ADDRESS")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; usage errors exit 2, configuration and start-up errors 1.
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (!address.empty() &&
      !ApplyAddress(address, bind->count() > 0, http_port->count() > 0, options)) {
    return 1;
  }
  if (max_conns_per_shard->count() > 0) {
    if (max_clients->count() > 0) {
      LOG(WARNING) << "--max-conns-per-shard is deprecated and --max-clients is given: using "
                      "--max-clients="
                   << options.max_clients;
      options.max_conns_per_shard = 0;
    } else {
      LOG(WARNING) << "--max-conns-per-shard is deprecated: use --max-clients (the total; "
                      "here --max-conns-per-shard x shards)";
    }
  }
  if (const char* bin_dir = std::getenv("KV_BIN_DIR"); bin_dir != nullptr) {
    options.bin_dir = bin_dir;
  }

  absl::Status status = beyondkv::services::RunSupervisor(options);
  if (!status.ok()) {
    LOG(ERROR) << status.message();
    return 1;
  }
  return 0;
}
