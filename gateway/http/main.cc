// kv-http-gateway: serves the Beyond KV HTTP API (docs/openapi.json) and routes each key to
// its kv-shard. Normally started by `beyond-kv`; can be run alone against running shards.
#include <glog/logging.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/process.h"
#include "gateway/http/http_gateway.h"

namespace {

// Descriptors besides client connections: listen socket, epoll, eventfds, shard links, logs.
constexpr uint64_t kReservedFds = 64;

// Raises the soft RLIMIT_NOFILE toward `wanted` (up to the hard limit), so that --max-conns
// connections can be open; past the limit accept() fails and is retried on the next event.
void RaiseOpenFilesLimit(uint64_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY ||
      limit.rlim_cur >= wanted) {
    return;
  }
  const rlim_t old = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted
                                                   : std::min<rlim_t>(wanted, limit.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    PLOG(WARNING) << "setrlimit(RLIMIT_NOFILE, " << limit.rlim_cur << ")";
  } else if (limit.rlim_cur < wanted) {
    LOG(WARNING) << "the open files limit is " << limit.rlim_cur << " (was " << old
                 << "), below --max-conns + " << kReservedFds << " = " << wanted;
  }
}

}  // namespace

int main(int argc, char** argv) {
  beyondkv::gateway::http::HttpConfig config;
  CLI::App app{"kv-http-gateway: the HTTP gateway of beyond-kv (REST API, health, metrics)"};
  app.add_option("--bind", config.bind, "listen address")->capture_default_str();
  app.add_option("--port", config.port, "TCP port")->capture_default_str();
  app.add_option("--socket-dir", config.socket_dir,
                 "directory of the shards' unix sockets (shard-<i>.sock)")
      ->required();
  app.add_option("--shard-count", config.shard_count, "number of shards S")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--threads", config.threads,
                 "worker threads = connections served at once (more wait for a free one)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--max-value-bytes", config.max_value_bytes,
                 "largest request body (a value, or a whole batch), bytes; larger gets 413")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{512} << 20));
  app.add_option("--idle-timeout-secs", config.idle_timeout_secs,
                 "close keep-alive connections idle this long; 0 = 5 s")
      ->capture_default_str();
  app.add_option("--max-conns", config.max_conns,
                 "connections open at once; one more is answered 503 and closed")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  app.add_option("--header-timeout-secs", config.header_timeout_secs,
                 "a request line and headers must arrive within this many seconds of their "
                 "first byte, else 408")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{3600}));
  app.add_option("--max-inflight-per-shard", config.max_inflight_per_shard,
                 "Execute calls in flight per shard; further ops are batched into the next")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--shard-transport", config.shard_transport,
                 "how ops reach the shards: link (framed, on shard-<i>.link) or grpc")
      ->envname("KV_SHARD_TRANSPORT")->capture_default_str()
      ->check(CLI::IsMember({"link", "grpc"}));
  app.add_option("--sse-heartbeat-ms", config.sse_heartbeat_ms,
                 "SSE watch streams get a `: heartbeat` comment after this many ms idle")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{10}, uint64_t{3600000}));
  app.add_option("--max-sse-streams", config.max_sse_streams,
                 "SSE watch streams open at once (each holds a worker thread); 0 = half of "
                 "--threads; more get 503")
      ->capture_default_str();
  app.add_option("--sse-max-buffer-bytes", config.sse_max_buffer_bytes,
                 "a watch stream whose client reads too slowly is ended once this many bytes "
                 "of events wait for it")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1} << 16, uint64_t{1} << 32));
  app.add_option("--http-token", config.token,
                 "bearer token every route but /livez and /readyz requires; empty = none "
                 "(pass it in the environment: argv is world-readable)")
      ->envname("KV_HTTP_TOKEN");
  CLI11_PARSE(app, argc, argv);

  beyondkv::InitLogging(argv[0], "kv-http-gateway");
  RaiseOpenFilesLimit(config.max_conns + kReservedFds);
  // Before any other thread (gRPC's start with the gateway) exists.
  auto shutdown = std::make_shared<absl::Notification>();
  beyondkv::InitServerProcess([shutdown] { shutdown->Notify(); });

  beyondkv::gateway::http::HttpGateway gateway(config);
  absl::Status status = gateway.Run(*shutdown);
  if (!status.ok()) {
    LOG(ERROR) << "fatal: " << status;
    return 1;
  }
  return 0;
}
