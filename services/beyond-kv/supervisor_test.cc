// Runs the real beyond-kv binary with testing/fake_child standing in for kv-shard,
// kv-resp-gateway and kv-http-gateway (through KV_BIN_DIR), and checks what a user and an operator see: start-up
// order, restarts, shutdown, refusals, and that no child outlives the supervisor.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace beyondkv::services {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

struct Process {
  pid_t pid;
  std::vector<std::string> argv;
  std::vector<std::string> env;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> SplitNul(const std::string& s) {
  return absl::StrSplit(s, '\0', absl::SkipEmpty());
}

// Live (not zombie) children of `parent`, from /proc.
std::vector<Process> ChildrenOf(pid_t parent) {
  std::vector<Process> children;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
    pid_t pid;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    const std::string stat = ReadFile(entry.path() / "stat");
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
    pid_t ppid;
    if (fields.size() < 2 || fields[0] == "Z" || !absl::SimpleAtoi(fields[1], &ppid) ||
        ppid != parent) {
      continue;
    }
    children.push_back({pid, SplitNul(ReadFile(entry.path() / "cmdline")),
                        SplitNul(ReadFile(entry.path() / "environ"))});
  }
  return children;
}

bool Alive(pid_t pid) {
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && stat.substr(paren + 2, 1) != "Z";
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool WaitUntil(const std::function<bool()>& done, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

bool TcpAccepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Not under $TEST_TMPDIR: Bazel's is too deep for a 107-byte unix socket path.
    char dir[] = "/tmp/beyond_kv_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
    fs::create_directories(root_ / "bin");
    const fs::path fake = fs::absolute("services/beyond-kv/fake_child");
    ASSERT_TRUE(fs::exists(fake)) << fake;
    fs::create_symlink(fake, root_ / "bin/kv-shard");
    fs::create_symlink(fake, root_ / "bin/kv-resp-gateway");
    fs::create_symlink(fake, root_ / "bin/kv-http-gateway");
    port_ = FreePort();
    http_port_ = FreePort();
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(root_);
  }

  std::vector<std::string> BaseArgs(int threads) const {
    return {absl::StrCat("--data-dir=", (root_ / "data").string()),
            absl::StrCat("--threads=", threads), absl::StrCat("--resp-port=", port_),
            absl::StrCat("--http-port=", http_port_)};
  }

  // Starts beyond-kv with `args` and KV_BIN_DIR plus `env` ("NAME=value") in its
  // environment; stdout and stderr go to files read by Out() and Log().
  void Start(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    const std::string exe = fs::absolute("services/beyond-kv/beyond-kv").string();
    const std::string bin_dir = (root_ / "bin").string();
    const std::string out = (root_ / "stdout").string();
    const std::string log = (root_ / "stderr").string();
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      setenv("KV_BIN_DIR", bin_dir.c_str(), 1);
      for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
      int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out_fd, 1);
      dup2(log_fd, 2);
      std::vector<char*> argv = {const_cast<char*>(exe.c_str())};
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(exe.c_str(), argv.data());
      _exit(127);
    }
  }

  // The exit status of the supervisor, or -1 if it still runs after `timeout`.
  int WaitExit(milliseconds timeout) {
    int status = -1;
    bool exited = WaitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
    if (!exited) return -1;
    pid_ = -1;
    return status;
  }

  // True once both gateways accept connections (only RESP with `http` false); false if the
  // supervisor exits first.
  bool WaitReady(bool http = true) {
    bool gone = false;
    auto up = [&] { return TcpAccepts(port_) && (!http || TcpAccepts(http_port_)); };
    WaitUntil([&] { return up() || (gone = !Alive(pid_)); }, milliseconds(15000));
    return !gone && up();
  }

  std::string Log() const { return ReadFile(root_ / "stderr"); }
  std::string Out() const { return ReadFile(root_ / "stdout"); }

  // The child whose argv contains `arg`; pid -1 if none.
  Process ChildWith(const std::string& arg) const {
    for (Process& p : ChildrenOf(pid_)) {
      if (Contains(p.argv, arg)) return p;
    }
    return {-1, {}, {}};
  }

  fs::path root_;
  int port_ = 0;
  int http_port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(SupervisorTest, StartsShardsThenGatewaysAndStopsOnSigterm) {
  std::vector<std::string> args = BaseArgs(2);
  args.push_back("--requirepass=s3cret");
  Start(args, {"KV_HTTP_TOKEN=t0ken"});
  ASSERT_TRUE(WaitReady()) << Log();
  ASSERT_TRUE(WaitUntil([&] { return absl::StrContains(Log(), "beyond-kv ready"); },
                        milliseconds(5000)));
  const std::string log = Log();
  EXPECT_TRUE(absl::StrContains(
      log, absl::StrCat("beyond-kv ready: RESP on 127.0.0.1:", port_, ", HTTP on 127.0.0.1:",
                        http_port_, ", 2 shards, data in ")))
      << log;
  // The gateways start only once every shard serves.
  for (const char* started : {"started RESP gateway", "started HTTP gateway"}) {
    const size_t gateway_started = log.find(started);
    ASSERT_NE(gateway_started, std::string::npos) << started;
    EXPECT_LT(log.find("shard 0 (pid"), gateway_started);
    EXPECT_LT(log.find("shard 1 (pid"), gateway_started);
    EXPECT_LT(log.find(") ready on unix:"), gateway_started);
    EXPECT_LT(log.rfind(") ready on unix:"), gateway_started);
  }

  std::vector<Process> children = ChildrenOf(pid_);
  ASSERT_EQ(children.size(), 4u);
  const std::string data = fs::canonical(root_ / "data").string();
  const Process shard = ChildWith("--shard-id=1");
  EXPECT_TRUE(Contains(shard.argv, "--shard-count=2"));
  EXPECT_TRUE(Contains(shard.argv, "--data-dir=" + data));
  EXPECT_TRUE(Contains(shard.argv, "--socket=" + data + "/run/shard-1.sock"));
  EXPECT_TRUE(Contains(shard.argv, "--memory-bytes=536870912"));
  EXPECT_FALSE(Contains(shard.env, "KV_REQUIREPASS=s3cret"));
  EXPECT_FALSE(Contains(shard.env, "KV_HTTP_TOKEN=t0ken"));
  const Process gateway = ChildWith(absl::StrCat("--port=", port_));
  EXPECT_TRUE(Contains(gateway.argv, "--socket-dir=" + data + "/run"));
  EXPECT_TRUE(Contains(gateway.argv, "--max-conns=10000"));  // Redis's maxclients
  EXPECT_TRUE(Contains(gateway.env, "KV_REQUIREPASS=s3cret"));
  EXPECT_FALSE(Contains(gateway.env, "KV_HTTP_TOKEN=t0ken"));
  for (const std::string& arg : gateway.argv) EXPECT_FALSE(absl::StrContains(arg, "s3cret"));
  // Each secret reaches only its own gateway, in the environment.
  const Process http = ChildWith(absl::StrCat("--port=", http_port_));
  ASSERT_GT(http.pid, 0);
  EXPECT_TRUE(absl::StrContains(http.argv[0], "kv-http-gateway"));
  EXPECT_TRUE(Contains(http.argv, "--socket-dir=" + data + "/run"));
  EXPECT_TRUE(Contains(http.argv, "--shard-count=2"));
  EXPECT_TRUE(Contains(http.argv, "--threads=128"));
  EXPECT_TRUE(Contains(http.argv, "--max-value-bytes=67108864"));
  EXPECT_TRUE(Contains(http.env, "KV_HTTP_TOKEN=t0ken"));
  EXPECT_FALSE(Contains(http.env, "KV_REQUIREPASS=s3cret"));
  for (const std::string& arg : http.argv) EXPECT_FALSE(absl::StrContains(arg, "t0ken"));
  EXPECT_EQ(ReadFile(root_ / "data/MANIFEST"), "beyond-kv-manifest 1\nshard_count 2\n");

  kill(pid_, SIGTERM);
  const int status = WaitExit(milliseconds(10000));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const std::string final_log = Log();
  EXPECT_TRUE(absl::StrContains(final_log, "shutdown complete"));
  // Both gateways stop before the shards.
  const size_t shards_stopping = final_log.find("stopping 2 shards");
  ASSERT_NE(shards_stopping, std::string::npos) << final_log;
  EXPECT_LT(final_log.find("stopping RESP gateway"), shards_stopping);
  EXPECT_LT(final_log.find("stopping HTTP gateway"), shards_stopping);
  EXPECT_LT(final_log.find("HTTP gateway (pid"), shards_stopping);
  for (const Process& child : children) EXPECT_FALSE(Alive(child.pid)) << child.pid;
  EXPECT_EQ(Out(), "");  // logs go to stderr only
}

TEST_F(SupervisorTest, RefusesMaxClientsOutOfRange) {
  std::vector<std::string> args = BaseArgs(1);
  args.push_back("--max-clients=0");
  Start(args);
  const int status = WaitExit(milliseconds(5000));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_TRUE(absl::StrContains(Log(), "--max-clients=0 is out of range")) << Log();
}

TEST_F(SupervisorTest, RefusesStartupTimeoutOutOfRange) {
  std::vector<std::string> args = BaseArgs(1);
  args.push_back("--startup-timeout-secs=0");
  Start(args);
  const int status = WaitExit(milliseconds(5000));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_TRUE(absl::StrContains(Log(), "--startup-timeout-secs=0 is out of range")) << Log();
}

TEST_F(SupervisorTest, MaxClientsReachesTheGateway) {
  std::vector<std::string> args = BaseArgs(2);
  args.push_back("--max-clients=77");
  Start(args);
  ASSERT_TRUE(WaitReady()) << Log();
  EXPECT_TRUE(Contains(ChildWith(absl::StrCat("--port=", port_)).argv, "--max-conns=77"));
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(milliseconds(10000)), 0);
}

TEST_F(SupervisorTest, StorageFlagsReachTheShards) {
  std::vector<std::string> args = BaseArgs(2);
  args.push_back("--reclaim-sealed-threshold=9");
  args.push_back("--reclaim-interval-secs=5");
  args.push_back("--segment-bytes=1048576");
  Start(args);
  ASSERT_TRUE(WaitReady()) << Log();
  for (const std::string shard : {"--shard-id=0", "--shard-id=1"}) {
    const std::vector<std::string> argv = ChildWith(shard).argv;
    EXPECT_TRUE(Contains(argv, "--reclaim-sealed-threshold=9")) << absl::StrJoin(argv, " ");
    EXPECT_TRUE(Contains(argv, "--reclaim-interval-secs=5")) << absl::StrJoin(argv, " ");
    EXPECT_TRUE(Contains(argv, "--segment-bytes=1048576")) << absl::StrJoin(argv, " ");
  }
  EXPECT_FALSE(absl::StrContains(Log(), "accepted and ignored")) << Log();
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(milliseconds(10000)), 0);
}

TEST_F(SupervisorTest, RefusesStorageSettingsOutOfRange) {
  for (const std::string flag :
       {"--reclaim-sealed-threshold=4294967296", "--reclaim-interval-secs=-1",
        "--segment-bytes=1000"}) {
    std::vector<std::string> args = BaseArgs(1);
    args.push_back(flag);
    Start(args);
    const int status = WaitExit(milliseconds(5000));
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 1) << flag;
    EXPECT_TRUE(absl::StrContains(Log(), flag + " is out of range")) << Log();
  }
}

TEST_F(SupervisorTest, RespThreadsDefaultToHalfTheShardsAndCanBeSet) {
  // The RESP gateway is the child started with --port=<resp port>.
  std::vector<std::string> args = BaseArgs(2);
  Start(args);
  ASSERT_TRUE(WaitReady()) << Log();
  std::vector<std::string> argv = ChildWith(absl::StrCat("--port=", port_)).argv;
  EXPECT_TRUE(Contains(argv, "--threads=1")) << absl::StrJoin(argv, " ");
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(milliseconds(10000)), 0);

  Start(args, {"KV_RESP_THREADS=3"});
  ASSERT_TRUE(WaitReady()) << Log();
  argv = ChildWith(absl::StrCat("--port=", port_)).argv;
  EXPECT_TRUE(Contains(argv, "--threads=3")) << absl::StrJoin(argv, " ");
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(milliseconds(10000)), 0);
}

TEST_F(SupervisorTest, RefusesRespThreadsOutOfRange) {
  std::vector<std::string> args = BaseArgs(1);
  args.push_back("--resp-threads=65");
  Start(args);
  const int status = WaitExit(milliseconds(5000));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_TRUE(absl::StrContains(Log(), "--resp-threads=65 is out of range")) << Log();
}

TEST_F(SupervisorTest, MaxClientsWinsOverTheDeprecatedAlias) {
  std::vector<std::string> args = BaseArgs(2);
  args.push_back("--max-clients=77");
  args.push_back("--max-conns-per-shard=3");
  Start(args);
  ASSERT_TRUE(WaitReady()) << Log();
  EXPECT_TRUE(Contains(ChildWith(absl::StrCat("--port=", port_)).argv, "--max-conns=77"));
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(milliseconds(10000)), 0);
}

TEST_F(SupervisorTest, DeprecatedMaxConnsPerShardStillWorks) {
  std::vector<std::string> args = BaseArgs(2);
  Start(args, {"KV_MAX_CONNS_PER_SHARD=3"});
  ASSERT_TRUE(WaitReady()) << Log();
  EXPECT_TRUE(Contains(ChildWith(absl::StrCat("--port=", port_)).argv, "--max-conns=6"));
  EXPECT_TRUE(absl::StrContains(Log(), "--max-conns-per-shard is deprecated")) << Log();
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(milliseconds(10000)), 0);
}

TEST_F(SupervisorTest, HttpPortZeroRunsNoHttpGateway) {
  std::vector<std::string> args = BaseArgs(1);
  args.back() = "--http-port=0";
  Start(args);
  ASSERT_TRUE(WaitReady(/*http=*/false)) << Log();
  ASSERT_TRUE(WaitUntil([&] { return absl::StrContains(Log(), "beyond-kv ready"); },
                        milliseconds(5000)));
  EXPECT_TRUE(absl::StrContains(Log(), ", HTTP off, 1 shards")) << Log();
  EXPECT_EQ(ChildrenOf(pid_).size(), 2u);
  kill(pid_, SIGTERM);
  EXPECT_EQ(WaitExit(milliseconds(10000)), 0);
}

TEST_F(SupervisorTest, AddressSetsTheHttpListenAddress) {
  std::vector<std::string> args = BaseArgs(1);
  args.pop_back();  // no --http-port: KV_ADDRESS gives it, as the public server's tests do
  const std::string address = absl::StrCat("KV_ADDRESS=127.0.0.1:", http_port_);
  Start(args, {address});
  ASSERT_TRUE(WaitReady()) << Log();
  const Process http = ChildWith(absl::StrCat("--port=", http_port_));
  ASSERT_GT(http.pid, 0) << Log();
  EXPECT_TRUE(Contains(http.argv, "--bind=127.0.0.1"));
}

TEST_F(SupervisorTest, RefusesTheSamePortForBothGateways) {
  std::vector<std::string> args = BaseArgs(1);
  args.back() = absl::StrCat("--http-port=", port_);
  Start(args);
  const int status = WaitExit(milliseconds(5000));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_TRUE(absl::StrContains(Log(), "--http-port and --resp-port are both")) << Log();
}

TEST_F(SupervisorTest, RestartsAKilledShardAndKeepsTheGateway) {
  Start(BaseArgs(2));
  ASSERT_TRUE(WaitReady()) << Log();
  const Process shard = ChildWith("--shard-id=0");
  const Process gateway = ChildWith(absl::StrCat("--port=", port_));
  ASSERT_GT(shard.pid, 0);
  kill(shard.pid, SIGKILL);
  ASSERT_TRUE(WaitUntil(
      [&] {
        const Process restarted = ChildWith("--shard-id=0");
        return restarted.pid > 0 && restarted.pid != shard.pid && restarted.argv == shard.argv;
      },
      milliseconds(5000)))
      << Log();
  EXPECT_EQ(ChildWith(absl::StrCat("--port=", port_)).pid, gateway.pid);
  EXPECT_TRUE(WaitUntil([&] { return absl::StrContains(Log(), "restarting in 100ms"); },
                        milliseconds(1000)));
  EXPECT_TRUE(absl::StrContains(Log(), "killed by signal 9"));
}

TEST_F(SupervisorTest, RefusesADifferentShardCount) {
  Start(BaseArgs(2));
  ASSERT_TRUE(WaitReady()) << Log();
  kill(pid_, SIGTERM);
  ASSERT_EQ(WaitExit(milliseconds(10000)), 0);

  Start(BaseArgs(3));
  const int status = WaitExit(milliseconds(5000));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_TRUE(absl::StrContains(
      Log(), "was created with 2 shards; --threads=3 would misroute keys; start with --threads=2"))
      << Log();
}

TEST_F(SupervisorTest, GivesUpWhenAShardKeepsFailingAtStartup) {
  Start(BaseArgs(1), {"FAKE_CHILD_EXIT_CODE=1"});
  const int status = WaitExit(milliseconds(15000));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_TRUE(absl::StrContains(Log(), "shard 0 did not start: it failed 5 times in a row"))
      << Log();
}

TEST_F(SupervisorTest, ChildrenDieWithAKilledSupervisor) {
  Start(BaseArgs(2));
  ASSERT_TRUE(WaitReady()) << Log();
  const std::vector<Process> children = ChildrenOf(pid_);
  ASSERT_EQ(children.size(), 4u);
  kill(pid_, SIGKILL);
  WaitExit(milliseconds(5000));
  for (const Process& child : children) {
    EXPECT_TRUE(WaitUntil([&] { return !Alive(child.pid); }, milliseconds(5000))) << child.pid;
  }
}

TEST_F(SupervisorTest, HelpListsDefaultsAndEnvironmentVariables) {
  Start({"--help"});
  ASSERT_EQ(WaitExit(milliseconds(5000)), 0);
  const std::string help = Out();
  EXPECT_TRUE(absl::StrContains(help, "--data-dir TEXT=./data (Env:KV_DATA_DIR)")) << help;
  EXPECT_TRUE(absl::StrContains(help, "--resp-port INT=6379 (Env:KV_RESP_PORT)"));
  EXPECT_TRUE(absl::StrContains(help, "--http-port INT=4869 (Env:KV_HTTP_PORT)")) << help;
  EXPECT_TRUE(absl::StrContains(help, "(Env:KV_HTTP_TOKEN)"));
  EXPECT_TRUE(absl::StrContains(help, "(Env:KV_HTTP_THREADS)"));
  EXPECT_FALSE(absl::StrContains(help, "not yet available"));
  EXPECT_FALSE(absl::StrContains(help, "HTTP not yet served"));
  EXPECT_TRUE(absl::StrContains(help, "(Env:KV_ADDRESS)"));
  EXPECT_TRUE(absl::StrContains(help, "--max-clients INT=10000 (Env:KV_MAX_CLIENTS)")) << help;
  EXPECT_TRUE(absl::StrContains(
      help, "--startup-timeout-secs INT=300 (Env:KV_STARTUP_TIMEOUT_SECS)")) << help;
  EXPECT_TRUE(absl::StrContains(help, "serve"));
}

}  // namespace
}  // namespace beyondkv::services
