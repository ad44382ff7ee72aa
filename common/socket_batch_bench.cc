// What one SocketBatch submission saves over a system call per socket: N loopback TCP
// connections (TCP_NODELAY, as the gateway's clients), each sent a RESP status reply or each
// read a PING request, per iteration. Counters: per_socket = time per socket operation.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/socket_batch.h"

namespace beyondkv {
namespace {

constexpr char kReply[] = "+OK\r\n";
constexpr char kRequest[] = "*1\r\n$4\r\nPING\r\n";

// N connected loopback TCP pairs: server[i] is the gateway's end, client[i] the client's.
struct Connections {
  explicit Connections(int n) {
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listener, n) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::perror("listen");
      std::abort();
    }
    for (int i = 0; i < n; ++i) {
      const int c = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) std::abort();
      const int s = accept(listener, nullptr, nullptr);
      const int one = 1;
      setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      client.push_back(c);
      server.push_back(s);
    }
    close(listener);
  }
  ~Connections() {
    for (int fd : client) close(fd);
    for (int fd : server) close(fd);
  }
  std::vector<int> client;
  std::vector<int> server;
};

void Drain(const std::vector<int>& fds) {
  char buf[4096];
  for (int fd : fds) {
    if (read(fd, buf, sizeof(buf)) <= 0) std::abort();
  }
}

void Fill(const std::vector<int>& fds) {
  for (int fd : fds) {
    if (write(fd, kRequest, sizeof(kRequest) - 1) <= 0) std::abort();
  }
}

// Time per socket operation: iterations x sockets.
void SetPerSocket(benchmark::State& state) {
  state.counters["per_socket"] = benchmark::Counter(
      static_cast<double>(state.iterations() * state.range(0)),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_WritePerSocket(benchmark::State& state) {
  Connections conns(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    for (int fd : conns.server) {
      if (write(fd, kReply, sizeof(kReply) - 1) <= 0) std::abort();
    }
    state.PauseTiming();
    Drain(conns.client);
    state.ResumeTiming();
  }
  SetPerSocket(state);
}

void BM_SendBatched(benchmark::State& state) {
  Connections conns(static_cast<int>(state.range(0)));
  auto batch = SocketBatch::Create(static_cast<unsigned>(state.range(0)));
  if (!batch.ok()) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  for (auto _ : state) {
    for (int fd : conns.server) (*batch)->AddSend(fd, kReply, sizeof(kReply) - 1);
    (*batch)->Run();
    state.PauseTiming();
    Drain(conns.client);
    state.ResumeTiming();
  }
  SetPerSocket(state);
}

void BM_ReadPerSocket(benchmark::State& state) {
  Connections conns(static_cast<int>(state.range(0)));
  char buf[4096];
  for (auto _ : state) {
    state.PauseTiming();
    Fill(conns.client);
    state.ResumeTiming();
    for (int fd : conns.server) {
      if (read(fd, buf, sizeof(buf)) <= 0) std::abort();
    }
  }
  SetPerSocket(state);
}

void BM_RecvBatched(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Connections conns(n);
  auto batch = SocketBatch::Create(static_cast<unsigned>(n));
  if (!batch.ok()) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  std::vector<char> bufs(static_cast<size_t>(n) * 4096);
  for (auto _ : state) {
    state.PauseTiming();
    Fill(conns.client);
    state.ResumeTiming();
    for (int i = 0; i < n; ++i) (*batch)->AddRecv(conns.server[i], &bufs[i * 4096], 4096);
    (*batch)->Run();
  }
  SetPerSocket(state);
}

BENCHMARK(BM_WritePerSocket)->Arg(1)->Arg(8)->Arg(32);
BENCHMARK(BM_SendBatched)->Arg(1)->Arg(8)->Arg(32);
BENCHMARK(BM_ReadPerSocket)->Arg(1)->Arg(8)->Arg(32);
BENCHMARK(BM_RecvBatched)->Arg(1)->Arg(8)->Arg(32);

}  // namespace
}  // namespace beyondkv
