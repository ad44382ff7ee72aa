#include "gateway/resp_gateway.h"

#include <glog/logging.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "common/memory_release.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/socket_paths.h"
#include "gateway/io_loop.h"

namespace beyondkv::gateway {
namespace {

constexpr absl::Duration kReleaseInterval = absl::Seconds(2);
constexpr size_t kReleaseThreshold = 16 << 20;

absl::Mutex g_mu;
bool g_shutdown ABSL_GUARDED_BY(g_mu) = false;

absl::StatusOr<int> Listen(const std::string& address, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  addrinfo* result = nullptr;
  std::string port_text = std::to_string(port);
  int rc = getaddrinfo(address.c_str(), port_text.c_str(), &hints, &result);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad --bind address ", address, ": ", gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(result, freeaddrinfo);
  int fd = socket(result->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, result->ai_addr, result->ai_addrlen) != 0 || listen(fd, 511) != 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ":", port, ": ", strerror(err)));
  }
  return fd;
}

}  // namespace

void RequestGatewayShutdown() {
  absl::MutexLock lock(&g_mu);
  g_shutdown = true;
}

absl::Status RunRespGateway(const GatewayConfig& config) {
  absl::StatusOr<int> listen_fd = Listen(config.bind, config.port);
  if (!listen_fd.ok()) return listen_fd.status();

  GatewayShared shared;
  shared.config = config;
  shared.started_ms = absl::ToUnixMillis(absl::Now());
  for (uint32_t i = 0; i < config.shard_count; ++i) {
    shared.shards.push_back(std::make_unique<shardlink::ShardClient>(
        i, ShardSocketPath(config.socket_dir, i)));
  }
  std::vector<std::unique_ptr<IoLoop>> loops;
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < std::max<uint32_t>(1, config.threads); ++i) {
    loops.push_back(std::make_unique<IoLoop>(&shared, *listen_fd));
  }
  for (auto& loop : loops) shared.loops.push_back(loop.get());
  for (auto& loop : loops) threads.emplace_back([&loop] { loop->Run(); });
  LOG(INFO) << "RESP listening on " << config.bind << ":" << config.port << " with "
            << loops.size() << " I/O threads, routing to " << config.shard_count << " shards in "
            << config.socket_dir << " over the " << config.shard_transport << " transport";
  {
    absl::MutexLock lock(&g_mu);
    // Meanwhile, return what bursts of clients left free in the allocator (memory_release.h).
    while (!g_mu.AwaitWithTimeout(absl::Condition(&g_shutdown), kReleaseInterval)) {
      g_mu.Unlock();
      MaybeReleaseFreeMemory(kReleaseThreshold);
      g_mu.Lock();
    }
  }
  LOG(INFO) << "shutting down: closing client connections";
  close(*listen_fd);
  for (auto& loop : loops) loop->Stop();
  for (auto& thread : threads) thread.join();
  loops.clear();
  LOG(INFO) << "shutdown complete";
  return absl::OkStatus();
}

}  // namespace beyondkv::gateway
