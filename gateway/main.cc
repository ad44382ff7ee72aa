// kv-resp-gateway: serves the Redis protocol on TCP and routes each key to its kv-shard.
// Normally started by `beyond-kv`; can be run alone against running shards.
#include <glog/logging.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <string>

#include "common/logging.h"
#include "common/process.h"
#include "gateway/resp_gateway.h"

namespace {

// Descriptors the gateway needs besides its clients: listen socket, epoll and event fds, shard
// links and sockets, logs (Redis reserves 32 as well: CONFIG_MIN_RESERVED_FDS).
constexpr uint64_t kReservedFds = 32;

// Raises the soft RLIMIT_NOFILE toward max_conns + kReservedFds, up to the hard limit, as
// Redis's adjustOpenFilesLimit does; if the limit stays lower, reduces max_conns to what it
// allows (as Redis reduces maxclients, with the same warning), so that clients beyond it get
// "max number of clients reached" rather than an accept() failing for lack of descriptors.
void AdjustOpenFilesLimit(uint64_t* max_conns) {
  const rlim_t wanted = static_cast<rlim_t>(*max_conns + kReservedFds);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    PLOG(WARNING) << "getrlimit(RLIMIT_NOFILE): cannot check the open files limit for "
                  << *max_conns << " clients";
    return;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted) return;
  const rlim_t old = limit.rlim_cur;
  const rlim_t target =
      limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  if (target > old) {
    limit.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
      LOG(INFO) << "raised the open files limit from " << old << " to " << target;
    } else {
      PLOG(WARNING) << "setrlimit(RLIMIT_NOFILE, " << target << ") failed";
      limit.rlim_cur = old;
    }
  }
  if (limit.rlim_cur >= wanted) return;
  const uint64_t allowed =
      limit.rlim_cur > kReservedFds + 1 ? static_cast<uint64_t>(limit.rlim_cur) - kReservedFds : 1;
  LOG(WARNING) << "the open files limit is " << limit.rlim_cur << " (hard limit "
               << limit.rlim_max << "), below --max-conns=" << *max_conns << " + "
               << kReservedFds << " reserved: max clients reduced to " << allowed
               << " (raise it with ulimit -n " << wanted << ")";
  *max_conns = allowed;
}

}  // namespace

int main(int argc, char** argv) {
  beyondkv::gateway::GatewayConfig config;
  CLI::App app{"kv-resp-gateway: the Redis-protocol gateway of beyond-kv"};
  app.add_option("--bind", config.bind, "listen address")->capture_default_str();
  app.add_option("--port", config.port, "TCP port")->capture_default_str();
  app.add_option("--socket-dir", config.socket_dir,
                 "directory of the shards' unix sockets (shard-<i>.sock)")
      ->required();
  app.add_option("--shard-count", config.shard_count, "number of shards S")
      ->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--threads", config.threads, "I/O threads")->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--max-value-bytes", config.max_value_bytes, "largest value accepted, bytes")
      ->capture_default_str();
  app.add_option("--max-conns,--max-clients", config.max_conns,
                 "maximum open client connections (Redis's maxclients)")
      ->capture_default_str()->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  app.add_option("--idle-timeout-secs", config.idle_timeout_secs,
                 "close clients idle this long; 0 = never")
      ->capture_default_str();
  app.add_option("--client-output-buffer-limit-bytes", config.client_output_buffer_limit_bytes,
                 "disconnect a client with more unread output than this (Redis's "
                 "client-output-buffer-limit); 0 = no limit")
      ->capture_default_str();
  app.add_option("--fsync", config.fsync, "the shards' fsync policy, reported by CONFIG GET")
      ->capture_default_str();
  app.add_option("--shard-transport", config.shard_transport,
                 "how batches reach the shards: link (framed, on shard-<i>.link) or grpc")
      ->envname("KV_SHARD_TRANSPORT")->capture_default_str()->check(CLI::IsMember({"link", "grpc"}));
  app.add_option("--socket-io", config.socket_io,
                 "client socket I/O: batched (io_uring, one submission per loop iteration for "
                 "all reads, one for all writes) or syscalls (read/write per connection)")
      ->envname("KV_SOCKET_IO")
      ->capture_default_str()
      ->check(CLI::IsMember({"batched", "syscalls"}));
  app.add_option("--idle-poll-us", config.idle_poll_us,
                 "the longest an I/O loop polls for events before it sleeps, in µs (adaptive, "
                 "yielding the CPU between checks: common/idle_poll.h); 0 = never")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  app.add_option("--requirepass", config.requirepass, "password clients must AUTH with")
      ->envname("KV_REQUIREPASS");
  CLI11_PARSE(app, argc, argv);

  beyondkv::InitLogging(argv[0], "kv-resp-gateway");
  AdjustOpenFilesLimit(&config.max_conns);
  beyondkv::InitServerProcess([] { beyondkv::gateway::RequestGatewayShutdown(); });

  absl::Status status = beyondkv::gateway::RunRespGateway(config);
  if (!status.ok()) {
    LOG(ERROR) << "fatal: " << status;
    return 1;
  }
  return 0;
}
