// Runs kv-bench against an in-process fake RESP server on loopback.
#include "tools/kv-bench/bench.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tools/kv-bench/connection.h"
#include "tools/kv-bench/report.h"

namespace beyondkv::kvbench {
namespace {

// Answers GET with nil, SET/MSET with +OK, MGET with nils, PING with +PONG and INCR with an
// error. Can stall all replies until a given time, and close a connection after N requests.
class FakeServer {
 public:
  FakeServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listen_fd_, 128);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~FakeServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    accept_thread_.join();
    close(listen_fd_);
    std::lock_guard<std::mutex> lock(mu_);
    for (std::thread& t : conn_threads_) t.join();
  }

  int port() const { return port_; }
  int64_t keys_set() const { return keys_set_; }
  void StallUntil(int64_t monotonic_ns) { stall_until_ns_ = monotonic_ns; }
  void CloseAfter(int64_t requests) { close_after_ = requests; }

 private:
  void AcceptLoop() {
    while (true) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      conn_threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Parses one request "*N\r\n$len\r\narg\r\n..." at `pos`; returns false if incomplete.
  static bool ParseRequest(const std::string& buf, size_t* pos, std::vector<std::string>* args) {
    size_t p = *pos;
    auto read_line_int = [&](char prefix, int64_t* v) {
      if (p >= buf.size() || buf[p] != prefix) return false;
      const size_t eol = buf.find("\r\n", p);
      if (eol == std::string::npos) return false;
      *v = std::strtoll(buf.c_str() + p + 1, nullptr, 10);
      p = eol + 2;
      return true;
    };
    int64_t n = 0;
    if (!read_line_int('*', &n)) return false;
    args->clear();
    for (int64_t i = 0; i < n; ++i) {
      int64_t len = 0;
      if (!read_line_int('$', &len) || p + len + 2 > buf.size()) return false;
      args->push_back(buf.substr(p, len));
      p += len + 2;
    }
    *pos = p;
    return true;
  }

  void Serve(int fd) {
    std::string buf;
    char chunk[65536];
    int64_t served = 0;
    std::vector<std::string> args;
    while (true) {
      const ssize_t n = read(fd, chunk, sizeof(chunk));
      if (n <= 0) break;
      buf.append(chunk, n);
      std::string out;
      size_t pos = 0;
      while (ParseRequest(buf, &pos, &args)) {
        const std::string& cmd = args[0];
        if (cmd == "GET") {
          out += "$-1\r\n";
        } else if (cmd == "SET" || cmd == "MSET") {
          keys_set_ += static_cast<int64_t>(args.size() - 1) / 2;
          out += "+OK\r\n";
        } else if (cmd == "MGET") {
          out += "*" + std::to_string(args.size() - 1) + "\r\n";
          for (size_t i = 1; i < args.size(); ++i) out += "$-1\r\n";
        } else if (cmd == "PING") {
          out += "+PONG\r\n";
        } else {
          out += "-ERR value is not an integer or out of range\r\n";
        }
        ++served;
      }
      buf.erase(0, pos);
      while (MonotonicNowNs() < stall_until_ns_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (close_after_ > 0 && served >= close_after_) break;
      if (write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) break;
    }
    close(fd);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int64_t> keys_set_{0};
  std::atomic<int64_t> stall_until_ns_{0};
  std::atomic<int64_t> close_after_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> conn_threads_;
};

BenchOptions Options(int port, const std::string& mix) {
  BenchOptions o;
  o.port = port;
  o.workload.mix = *ParseMix(mix);
  o.workload.keys = 1000;
  o.workload.value_bytes = 16;
  o.connections = 4;
  o.threads = 2;
  o.rate_per_sec = 2000;
  o.duration_secs = 1;
  o.warmup_secs = 0.2;
  o.drain_secs = 1;
  return o;
}

TEST(BenchTest, OpenLoopAchievesTargetRate) {
  FakeServer server;
  absl::StatusOr<BenchResult> r = RunBench(Options(server.port(), "get:80,set:20"));
  ASSERT_TRUE(r.ok()) << r.status();
  const CommandStats& all = r->overall;
  // Poisson count over 1 s at 2000/s: sd ~45.
  EXPECT_NEAR(all.scheduled, 2000, 250);
  EXPECT_NEAR(all.replies_in_window, 2000, 250);
  EXPECT_EQ(all.error_replies + all.failed + all.unfinished, 0);
  EXPECT_EQ(all.latency_ns.count(), all.scheduled);
  EXPECT_NEAR(r->run.commands[static_cast<int>(Command::kGet)].scheduled, 0.8 * all.scheduled,
              0.05 * all.scheduled);
  EXPECT_LT(all.latency_ns.ValueAtPercentile(50), 50'000'000);  // well under 50 ms
  EXPECT_EQ(r->run.connection_failures, 0);
}

TEST(BenchTest, OpenLoopLatencyIncludesTimeQueuedBehindAStall) {
  // The server answers nothing for 300 ms in the middle of the window. An open-loop client keeps
  // scheduling, so ~30% of the requests wait behind the stall; their latency is counted from
  // their scheduled time (coordinated-omission correction), so p90 shows it.
  FakeServer server;
  BenchOptions o = Options(server.port(), "get:100");
  o.connections = 1;
  o.threads = 1;
  o.rate_per_sec = 1000;
  std::thread staller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(650));
    server.StallUntil(MonotonicNowNs() + 300'000'000);
  });
  absl::StatusOr<BenchResult> r = RunBench(o);
  staller.join();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->overall.latency_ns.ValueAtPercentile(90), 50'000'000);
  EXPECT_GT(r->overall.latency_ns.max(), 250'000'000);
  EXPECT_EQ(r->overall.unfinished, 0);
}

TEST(BenchTest, ClosedLoopKeepsPipelineFull) {
  FakeServer server;
  BenchOptions o = Options(server.port(), "mget:50,mset:50");
  o.closed_loop = true;
  o.pipeline = 8;
  o.workload.keys_per_call = 10;
  absl::StatusOr<BenchResult> r = RunBench(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->overall.replies_in_window, 1000);
  EXPECT_EQ(r->overall.error_replies + r->overall.failed, 0);
  EXPECT_GT(r->run.commands[static_cast<int>(Command::kMget)].scheduled, 0);
  EXPECT_GT(r->run.commands[static_cast<int>(Command::kMset)].scheduled, 0);
}

TEST(BenchTest, CountsErrorReplies) {
  FakeServer server;
  absl::StatusOr<BenchResult> r = RunBench(Options(server.port(), "incr:100"));
  ASSERT_TRUE(r.ok()) << r.status();
  const CommandStats& incr = r->run.commands[static_cast<int>(Command::kIncr)];
  EXPECT_GT(incr.scheduled, 0);
  EXPECT_EQ(incr.error_replies, incr.scheduled);
  EXPECT_NE(r->run.first_error.find("incr: ERR value is not an integer"), std::string::npos)
      << r->run.first_error;
}

TEST(BenchTest, CountsConnectionFailures) {
  FakeServer server;
  server.CloseAfter(100);
  absl::StatusOr<BenchResult> r = RunBench(Options(server.port(), "get:100"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->run.connection_failures, 4);
  EXPECT_NE(r->run.first_error.find("connection failed"), std::string::npos);
}

TEST(BenchTest, LoadStoresEveryKeyOnce) {
  FakeServer server;
  BenchOptions o = Options(server.port(), "get:100");
  o.load = true;
  o.load_batch_keys = 7;
  o.workload.keys = 1001;
  o.duration_secs = 0;
  absl::StatusOr<BenchResult> r = RunBench(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(server.keys_set(), 1001);
  EXPECT_EQ(r->load.connection_failures, 0);
}

TEST(BenchTest, RefusesUnreachableServer) {
  int port;
  {
    FakeServer server;
    port = server.port();
  }
  absl::StatusOr<BenchResult> r = RunBench(Options(port, "get:100"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST(BenchTest, JsonReportHasTheDocumentedFields) {
  FakeServer server;
  BenchOptions o = Options(server.port(), "get:80,set:20");
  o.load = true;
  absl::StatusOr<BenchResult> r = RunBench(o);
  ASSERT_TRUE(r.ok()) << r.status();
  const nlohmann::json j = nlohmann::json::parse(FormatJson(o, *r));
  for (const char* key :
       {"mode", "target_rate", "scheduled_rate", "achieved_rate", "count", "errors", "unfinished",
        "connection_failures", "latency_us", "commands", "load", "options"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* key : {"p50", "p90", "p99", "p99.9", "max"}) {
    EXPECT_TRUE(j["latency_us"].contains(key)) << key;
    EXPECT_TRUE(j["commands"]["get"]["latency_us"].contains(key)) << key;
  }
  EXPECT_EQ(j["mode"], "open");
  EXPECT_EQ(j["load"]["keys"], 1000);
  EXPECT_NE(FormatText(o, *r).find("achieved"), std::string::npos);
}

}  // namespace
}  // namespace beyondkv::kvbench
