#include "services/beyond-kv/supervisor.h"

#include <glog/logging.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/beyond-kv/child_binaries.h"
#include "services/beyond-kv/child_process.h"
#include "services/beyond-kv/data_dir.h"
#include "services/beyond-kv/readiness.h"

extern char** environ;

namespace beyondkv::services {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// engine/revision_clock.h: a revision's low 6 bits name its shard.
constexpr int kMaxShards = 64;
constexpr int64_t kMaxValueBytesLimit = 512ll << 20;
constexpr int64_t kMaxConnsPerShardLimit = 1 << 20;
// The shards take the reclaim threshold as a u32; an interval of ten years is "never" enough
// (and seconds x 10^6 must fit in the engine's µs clock arithmetic).
constexpr int64_t kMaxReclaimSealedThreshold = std::numeric_limits<uint32_t>::max();
constexpr int64_t kMaxReclaimIntervalSecs = 10ll * 365 * 24 * 3600;
// Segments: at least 64 KiB (a seal, a hint file and their fsyncs per segment), at most
// 16 GiB (a hint file is built in memory, up to ~1.1x its segment).
constexpr int64_t kMinSegmentBytes = 64ll << 10;
constexpr int64_t kMaxSegmentBytes = 16ll << 30;
constexpr int64_t kMaxClientsLimit = 1 << 20;
constexpr int kMaxHttpThreads = 4096;
constexpr char kPasswordEnv[] = "KV_REQUIREPASS";
constexpr char kHttpTokenEnv[] = "KV_HTTP_TOKEN";

constexpr Clock::duration kReadyPollInterval = milliseconds(20);
constexpr Clock::duration kInitialBackoff = milliseconds(100);
constexpr Clock::duration kMaxBackoff = seconds(5);
// A child that ran at least this long before dying is restarted after kInitialBackoff again.
constexpr Clock::duration kStableRunTime = seconds(10);
// Consecutive deaths of one child before it ever served, during start-up, that end the run:
// a configuration error (exit code 1) would otherwise restart forever.
constexpr int kMaxStartupFailures = 5;
constexpr Clock::duration kGatewayStopTimeout = seconds(10);
constexpr Clock::duration kShardStopTimeout = seconds(30);

// "1.234s", "100ms".
std::string Pretty(Clock::duration d) {
  return absl::FormatDuration(absl::Trunc(absl::FromChrono(d), absl::Milliseconds(1)));
}

std::string HostPort(const std::string& host, int port) {
  return host.find(':') == std::string::npos ? absl::StrCat(host, ":", port)
                                             : absl::StrCat("[", host, "]:", port);
}

absl::Status OutOfRange(absl::string_view flag, int64_t value, absl::string_view range) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "=", value, " is out of range: must be ", range));
}

// Runs the children of one data directory. Single-threaded: everything happens in Run()'s
// loop, which sleeps in poll() on a signalfd (SIGCHLD, SIGTERM, SIGINT) with a timeout set by
// the next readiness probe, restart or shutdown deadline.
class Supervisor {
 public:
  // The HTTP gateway runs if `http_gateway_binary` is non-empty.
  Supervisor(const SupervisorOptions& options, const DataDir& data_dir,
             const std::string& shard_binary, const std::string& gateway_binary,
             const TcpEndpoint& gateway_endpoint, const std::string& http_gateway_binary,
             const TcpEndpoint& http_endpoint, int signal_fd);

  // Returns when every child has exited after a shutdown: OK if a signal asked for it, the
  // reason otherwise.
  absl::Status Run();

 private:
  enum class State {
    kStopped,   // not running and not to be restarted (before the first start, after stop)
    kStarting,  // running, readiness probe not yet passed
    kReady,     // running and serving
    kBackoff,   // died; restarts at restart_at
  };
  enum class Phase {
    kStarting,          // shards, then the gateways, are being started
    kServing,           // every gateway served once: "beyond-kv ready"
    kStoppingGateways,  // SIGTERM sent to the gateways; shards still up
    kStoppingShards,   // SIGTERM sent to the shards
    kStopped,          // every child has exited
  };
  struct Child {
    std::string name;  // "shard 3", "RESP gateway", "HTTP gateway"
    ChildCommand command;
    std::string socket_path;     // shards only: the unix socket it serves on
    std::string serves_on;       // what the probe connects to, for messages
    std::function<bool()> probe;  // true once the child accepts connections
    State state = State::kStopped;
    pid_t pid = -1;
    Clock::time_point started_at;
    Clock::time_point ready_deadline;
    Clock::time_point restart_at;
    Clock::duration backoff = kInitialBackoff;
    int failures_before_ready = 0;  // consecutive, during start-up
    bool slow_start_reported = false;
  };

  std::vector<Child*> Children();
  bool Running(const Child& child) const { return child.pid > 0; }
  // True until a shutdown began.
  bool Serving() const { return phase_ == Phase::kStarting || phase_ == Phase::kServing; }

  void Start(Child& child);
  void HandleSignals();
  void ReapChildren();
  void OnExit(Child& child, int wait_status);
  // `child` died (or could not be started) while it should run: schedule a restart, or give up
  // during start-up after kMaxStartupFailures. `what` says what happened ("exited
  // unexpectedly after 2s: exit code 1"), `last` the same for the final message.
  void OnFailure(Child& child, const std::string& what, const std::string& last,
                 Clock::duration ran_for);
  void ProbeStartingChildren();
  void RestartDueChildren();
  void MaybeStartGateways();

  void BeginShutdown(absl::Status reason);
  void StopShards();
  void AdvanceShutdown();
  void KillAll(absl::string_view why);
  int PollTimeoutMs() const;

  const SupervisorOptions& options_;
  const DataDir& data_dir_;
  const int signal_fd_;
  std::vector<Child> shards_;
  std::vector<Child> gateways_;  // RESP, then HTTP if enabled
  bool gateways_started_ = false;
  Phase phase_ = Phase::kStarting;
  Clock::time_point now_;
  Clock::time_point stop_deadline_;  // of the current kStopping* phase
  bool stop_killed_ = false;         // SIGKILL already sent in the current kStopping* phase
  bool escalated_ = false;           // KillAll() ran: every child got SIGKILL
  absl::Status result_;
};

Supervisor::Supervisor(const SupervisorOptions& options, const DataDir& data_dir,
                       const std::string& shard_binary, const std::string& gateway_binary,
                       const TcpEndpoint& gateway_endpoint,
                       const std::string& http_gateway_binary, const TcpEndpoint& http_endpoint,
                       int signal_fd)
    : options_(options), data_dir_(data_dir), signal_fd_(signal_fd) {
  const int s = options.threads;
  // Each secret reaches only the gateway that needs it, and only through its environment:
  // argv is world-readable in /proc.
  const std::vector<std::string> secrets = {kPasswordEnv, kHttpTokenEnv};
  const std::vector<std::string> shard_env = MakeEnvironment(environ, secrets, {});
  std::vector<std::pair<std::string, std::string>> gateway_vars;
  if (!options.requirepass.empty()) gateway_vars.emplace_back(kPasswordEnv, options.requirepass);
  const std::vector<std::string> gateway_env = MakeEnvironment(environ, secrets, gateway_vars);
  std::vector<std::pair<std::string, std::string>> http_vars;
  if (!options.http_token.empty()) http_vars.emplace_back(kHttpTokenEnv, options.http_token);
  const std::vector<std::string> http_env = MakeEnvironment(environ, secrets, http_vars);

  shards_.resize(s);
  for (int i = 0; i < s; ++i) {
    Child& shard = shards_[i];
    const std::string socket = data_dir.SocketPath(i);
    shard.name = absl::StrCat("shard ", i);
    shard.command.path = shard_binary;
    shard.command.argv = {
        shard_binary,
        absl::StrCat("--shard-id=", i),
        absl::StrCat("--shard-count=", s),
        absl::StrCat("--data-dir=", data_dir.path()),
        absl::StrCat("--socket=", socket),
        absl::StrCat("--fsync=", options.fsync),
        absl::StrCat("--max-value-bytes=", options.max_value_bytes),
        absl::StrCat("--memory-bytes=", options.memory_bytes / s),
        absl::StrCat("--segment-bytes=", options.segment_bytes),
        absl::StrCat("--sched-policy=", options.shard_sched_policy),
        absl::StrCat("--idle-poll-us=", options.idle_poll_us),
        absl::StrCat("--reclaim-sealed-threshold=", options.reclaim_sealed_threshold),
        absl::StrCat("--reclaim-interval-secs=", options.reclaim_interval_secs),
    };
    shard.command.env = shard_env;
    shard.socket_path = socket;
    shard.serves_on = "unix:" + socket;
    shard.probe = [socket] { return UnixSocketAccepts(socket); };
  }
  gateways_.resize(http_gateway_binary.empty() ? 1 : 2);
  Child& resp = gateways_[0];
  resp.name = "RESP gateway";
  resp.command.path = gateway_binary;
  resp.command.argv = {
      gateway_binary,
      absl::StrCat("--bind=", options.bind),
      absl::StrCat("--port=", options.resp_port),
      absl::StrCat("--socket-dir=", data_dir.run_dir()),
      absl::StrCat("--shard-count=", s),
      absl::StrCat("--threads=", EffectiveRespThreads(options, s)),
      absl::StrCat("--max-value-bytes=", options.max_value_bytes),
      absl::StrCat("--max-conns=", EffectiveMaxClients(options, s)),
      absl::StrCat("--idle-timeout-secs=", options.idle_timeout_secs),
      absl::StrCat("--client-output-buffer-limit-bytes=",
                   options.client_output_buffer_limit_bytes),
      // Only reported by CONFIG GET; the shards apply it.
      absl::StrCat("--fsync=", options.fsync),
      absl::StrCat("--shard-transport=", options.shard_transport),
      absl::StrCat("--socket-io=", options.socket_io),
      absl::StrCat("--idle-poll-us=", options.idle_poll_us),
  };
  resp.command.env = gateway_env;
  resp.serves_on = gateway_endpoint.ToString();
  resp.probe = [gateway_endpoint] { return TcpAccepts(gateway_endpoint); };
  if (!http_gateway_binary.empty()) {
    Child& http = gateways_[1];
    http.name = "HTTP gateway";
    http.command.path = http_gateway_binary;
    http.command.argv = {
        http_gateway_binary,
        absl::StrCat("--bind=", options.bind),
        absl::StrCat("--port=", options.http_port),
        absl::StrCat("--socket-dir=", data_dir.run_dir()),
        absl::StrCat("--shard-count=", s),
        absl::StrCat("--threads=", options.http_threads),
        absl::StrCat("--max-value-bytes=", options.max_value_bytes),
        absl::StrCat("--idle-timeout-secs=", options.idle_timeout_secs),
        absl::StrCat("--sse-heartbeat-ms=", options.sse_heartbeat_ms),
        absl::StrCat("--shard-transport=", options.shard_transport),
    };
    http.command.env = http_env;
    http.serves_on = http_endpoint.ToString();
    http.probe = [http_endpoint] { return TcpAccepts(http_endpoint); };
  }
}

std::vector<Supervisor::Child*> Supervisor::Children() {
  std::vector<Child*> all;
  for (Child& shard : shards_) all.push_back(&shard);
  for (Child& gateway : gateways_) all.push_back(&gateway);
  return all;
}

absl::Status Supervisor::Run() {
  now_ = Clock::now();
  // All shards start at once: each recovers its own log, so start-up takes as long as the
  // slowest shard, not the sum. The gateways start when every shard serves.
  for (Child& shard : shards_) Start(shard);
  while (phase_ != Phase::kStopped) {
    pollfd pfd = {signal_fd_, POLLIN, 0};
    if (poll(&pfd, 1, PollTimeoutMs()) < 0 && errno != EINTR) {
      PLOG(FATAL) << "poll on signalfd";
    }
    now_ = Clock::now();
    // Signals first: a child that exits in the same wake-up as a SIGTERM is not restarted.
    HandleSignals();
    ReapChildren();
    // Each step may begin a shutdown; the later ones then must not start or promote anyone.
    if (Serving()) RestartDueChildren();
    if (Serving()) ProbeStartingChildren();
    if (Serving()) MaybeStartGateways();
    if (!Serving()) AdvanceShutdown();
  }
  return result_;
}

void Supervisor::Start(Child& child) {
  if (!child.socket_path.empty()) {
    // A shard killed by SIGKILL leaves its socket file behind. We hold the data directory's
    // lock, so no other process serves on it.
    if (unlink(child.socket_path.c_str()) != 0 && errno != ENOENT) {
      PLOG(WARNING) << "cannot remove stale socket " << child.socket_path;
    }
  }
  child.started_at = now_;
  absl::StatusOr<pid_t> pid = SpawnChild(child.command);
  if (!pid.ok()) {
    child.state = State::kStopped;
    const std::string why(pid.status().message());
    OnFailure(child, "could not be started: " + why, why, Clock::duration::zero());
    return;
  }
  child.pid = *pid;
  child.state = State::kStarting;
  // During start-up a child that does not serve within this time stops the whole server; a
  // child restarted later is only reported (it may be recovering a large log).
  child.ready_deadline = now_ + seconds(options_.startup_timeout_secs);
  child.slow_start_reported = false;
  LOG(INFO) << "started " << child.name << " (pid " << child.pid
            << "): " << absl::StrJoin(child.command.argv, " ");
}

void Supervisor::HandleSignals() {
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
    const int sig = static_cast<int>(info.ssi_signo);
    if (sig == SIGCHLD) continue;  // ReapChildren() runs after every wake-up
    if (Serving()) {
      LOG(INFO) << "received " << strsignal(sig) << " from pid " << info.ssi_pid
                << ": shutting down";
      BeginShutdown(absl::OkStatus());
    } else if (sig == SIGINT) {
      // A second Ctrl-C: the user does not want to wait for the shards to sync.
      KillAll("second interrupt during shutdown");
    } else {
      LOG(INFO) << "received " << strsignal(sig) << " again: already shutting down";
    }
  }
}

void Supervisor::ReapChildren() {
  int wait_status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &wait_status, WNOHANG)) > 0) {
    for (Child* child : Children()) {
      if (child->pid == pid) {
        OnExit(*child, wait_status);
        break;
      }
    }
  }
}

void Supervisor::OnExit(Child& child, int wait_status) {
  const pid_t pid = child.pid;
  const Clock::duration ran_for = now_ - child.started_at;
  const State state = child.state;
  child.pid = -1;
  child.state = State::kStopped;
  const std::string how = DescribeWaitStatus(wait_status);
  if (!Serving()) {
    const bool clean = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
    LOG_IF(WARNING, !clean) << child.name << " (pid " << pid << ") stopped: " << how;
    LOG_IF(INFO, clean) << child.name << " (pid " << pid << ") stopped";
    return;
  }
  if (state == State::kReady) child.failures_before_ready = 0;
  OnFailure(child,
            absl::StrCat("(pid ", pid, ") exited unexpectedly after ", Pretty(ran_for), ": ", how),
            absl::StrCat(how, " after ", Pretty(ran_for)), ran_for);
}

void Supervisor::OnFailure(Child& child, const std::string& what, const std::string& last,
                           Clock::duration ran_for) {
  if (phase_ == Phase::kStarting && ++child.failures_before_ready >= kMaxStartupFailures) {
    BeginShutdown(absl::FailedPreconditionError(absl::StrCat(
        child.name, " did not start: it failed ", child.failures_before_ready,
        " times in a row before serving (last: ", last, "); see its log lines above")));
    return;
  }
  if (ran_for >= kStableRunTime) child.backoff = kInitialBackoff;
  LOG(WARNING) << child.name << " " << what << "; restarting in " << Pretty(child.backoff);
  child.state = State::kBackoff;
  child.restart_at = now_ + child.backoff;
  child.backoff = std::min(child.backoff * 2, kMaxBackoff);
}

void Supervisor::RestartDueChildren() {
  for (Child* child : Children()) {
    if (child->state == State::kBackoff && now_ >= child->restart_at) Start(*child);
  }
}

void Supervisor::ProbeStartingChildren() {
  for (Child* child : Children()) {
    if (child->state != State::kStarting) continue;
    if (child->probe()) {
      child->state = State::kReady;
      child->failures_before_ready = 0;
      LOG(INFO) << child->name << " (pid " << child->pid << ") ready on " << child->serves_on
                << " after " << Pretty(Clock::now() - child->started_at);
      bool all_gateways_ready = true;
      for (const Child& gateway : gateways_) {
        all_gateways_ready = all_gateways_ready && gateway.state == State::kReady;
      }
      if (all_gateways_ready && phase_ == Phase::kStarting) {
        phase_ = Phase::kServing;
        LOG(INFO) << "beyond-kv ready: RESP on " << HostPort(options_.bind, options_.resp_port)
                  << ", HTTP "
                  << (gateways_.size() > 1
                          ? absl::StrCat("on ", HostPort(options_.bind, options_.http_port))
                          : std::string("off"))
                  << ", " << shards_.size() << " shards, data in " << data_dir_.path();
      }
    } else if (now_ >= child->ready_deadline) {
      const std::string what =
          absl::StrCat(child->name, " (pid ", child->pid, ") does not accept connections on ",
                       child->serves_on, " after ",
                       Pretty(seconds(options_.startup_timeout_secs)),
                       " (--startup-timeout-secs)");
      if (phase_ == Phase::kStarting) {
        BeginShutdown(absl::DeadlineExceededError(what + "; giving up"));
        return;
      }
      if (!child->slow_start_reported) {
        LOG(WARNING) << what << "; still waiting";
        child->slow_start_reported = true;
      }
    }
  }
}

void Supervisor::MaybeStartGateways() {
  if (phase_ != Phase::kStarting || gateways_started_) return;
  // Once started, a gateway is restarted through kBackoff like any child. The gateways need
  // every shard serving, or their first clients see errors.
  for (const Child& shard : shards_) {
    if (shard.state != State::kReady) return;
  }
  LOG(INFO) << "all " << shards_.size() << " shards ready";
  gateways_started_ = true;
  for (Child& gateway : gateways_) Start(gateway);
}

void Supervisor::BeginShutdown(absl::Status reason) {
  if (!reason.ok()) {
    LOG(ERROR) << reason.message() << "; stopping everything";
    result_ = std::move(reason);
  }
  for (Child* child : Children()) {
    if (child->state == State::kBackoff) child->state = State::kStopped;
  }
  phase_ = Phase::kStoppingGateways;
  stop_killed_ = false;
  stop_deadline_ = now_ + kGatewayStopTimeout;
  // Both gateways at once: each stops accepting and drains its own clients.
  for (Child& gateway : gateways_) {
    if (!Running(gateway)) continue;
    LOG(INFO) << "stopping " << gateway.name << " (pid " << gateway.pid << ")";
    kill(gateway.pid, SIGTERM);
  }
}

void Supervisor::StopShards() {
  phase_ = Phase::kStoppingShards;
  if (escalated_) return;  // KillAll() already sent SIGKILL to every shard
  stop_killed_ = false;
  stop_deadline_ = now_ + kShardStopTimeout;
  int running = 0;
  for (Child& shard : shards_) {
    if (!Running(shard)) continue;
    kill(shard.pid, SIGTERM);
    ++running;
  }
  if (running > 0) LOG(INFO) << "stopping " << running << " shards";
}

void Supervisor::AdvanceShutdown() {
  if (phase_ == Phase::kStopped) return;
  if (phase_ == Phase::kStoppingGateways) {
    bool any_running = false;
    for (Child& gateway : gateways_) {
      if (!Running(gateway)) continue;
      any_running = true;
      if (!stop_killed_ && now_ >= stop_deadline_) {
        LOG(WARNING) << gateway.name << " (pid " << gateway.pid << ") did not stop within "
                     << Pretty(kGatewayStopTimeout) << "; sending SIGKILL";
        kill(gateway.pid, SIGKILL);
      }
    }
    if (any_running) {
      if (now_ >= stop_deadline_) stop_killed_ = true;
      return;
    }
    StopShards();
  }
  bool any_running = false;
  for (Child& shard : shards_) {
    if (!Running(shard)) continue;
    any_running = true;
    if (!stop_killed_ && now_ >= stop_deadline_) {
      LOG(WARNING) << shard.name << " (pid " << shard.pid << ") did not stop within "
                   << Pretty(kShardStopTimeout) << "; sending SIGKILL (its last writes may "
                   << "not be synced)";
      kill(shard.pid, SIGKILL);
    }
  }
  if (any_running && !stop_killed_ && now_ >= stop_deadline_) stop_killed_ = true;
  if (!any_running) {
    LOG(INFO) << "shutdown complete";
    phase_ = Phase::kStopped;
  }
}

void Supervisor::KillAll(absl::string_view why) {
  for (Child* child : Children()) {
    if (!Running(*child)) continue;
    LOG(WARNING) << why << ": sending SIGKILL to " << child->name << " (pid " << child->pid
                 << ")";
    kill(child->pid, SIGKILL);
  }
  escalated_ = true;
  stop_killed_ = true;
}

int Supervisor::PollTimeoutMs() const {
  std::optional<Clock::time_point> wake;
  auto consider = [&wake](Clock::time_point t) {
    if (!wake || t < *wake) wake = t;
  };
  if (Serving()) {
    for (const Child& shard : shards_) {
      if (shard.state == State::kStarting) consider(now_ + kReadyPollInterval);
      if (shard.state == State::kBackoff) consider(shard.restart_at);
    }
    for (const Child& gateway : gateways_) {
      if (gateway.state == State::kStarting) consider(now_ + kReadyPollInterval);
      if (gateway.state == State::kBackoff) consider(gateway.restart_at);
    }
  } else if (!stop_killed_) {
    consider(stop_deadline_);
  }
  if (!wake) return -1;  // only a signal can change anything
  const auto ms = std::chrono::ceil<milliseconds>(*wake - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60'000));
}

}  // namespace

int EffectiveRespThreads(const SupervisorOptions& options, int shard_count) {
  if (options.resp_threads > 0) return options.resp_threads;
  return std::max(1, shard_count / 2);
}

int64_t EffectiveMaxClients(const SupervisorOptions& options, int shard_count) {
  if (options.max_conns_per_shard > 0) return options.max_conns_per_shard * shard_count;
  return options.max_clients;
}

absl::Status ValidateOptions(const SupervisorOptions& o) {
  if (o.data_dir.empty()) return absl::InvalidArgumentError("--data-dir must not be empty");
  if (o.bind.empty()) return absl::InvalidArgumentError("--bind must not be empty");
  if (o.resp_port < 1 || o.resp_port > 65535) {
    return OutOfRange("resp-port", o.resp_port, "1..65535");
  }
  if (o.http_port < 0 || o.http_port > 65535) {
    return OutOfRange("http-port", o.http_port, "1..65535, or 0 for no HTTP gateway");
  }
  if (o.http_port == o.resp_port) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http-port and --resp-port are both ", o.resp_port, ": give them different ports"));
  }
  if (o.resp_threads < 0 || o.resp_threads > kMaxShards) {
    return OutOfRange("resp-threads", o.resp_threads, absl::StrCat("0..", kMaxShards));
  }
  if (o.http_threads < 1 || o.http_threads > kMaxHttpThreads) {
    return OutOfRange("http-threads", o.http_threads, absl::StrCat("1..", kMaxHttpThreads));
  }
  if (o.startup_timeout_secs < 1 || o.startup_timeout_secs > 86400) {
    return OutOfRange("startup-timeout-secs", o.startup_timeout_secs, "1..86400");
  }
  if (o.sse_heartbeat_ms < 10 || o.sse_heartbeat_ms > 3600000) {
    return OutOfRange("sse-heartbeat-ms", o.sse_heartbeat_ms, "10..3600000");
  }
  if (o.threads < 1 || o.threads > kMaxShards) {
    return OutOfRange("threads", o.threads, absl::StrCat("1..", kMaxShards));
  }
  if (o.memory_bytes < o.threads) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--memory-bytes=", o.memory_bytes, " must be positive and at least 1 byte per shard (",
        o.threads, " shards)"));
  }
  if (o.max_value_bytes < 1 || o.max_value_bytes > kMaxValueBytesLimit) {
    return OutOfRange("max-value-bytes", o.max_value_bytes,
                      absl::StrCat("1..", kMaxValueBytesLimit, " (512 MiB)"));
  }
  if (o.max_clients < 1 || o.max_clients > kMaxClientsLimit) {
    return OutOfRange("max-clients", o.max_clients, absl::StrCat("1..", kMaxClientsLimit));
  }
  if (o.max_conns_per_shard < 0 || o.max_conns_per_shard > kMaxConnsPerShardLimit) {
    return OutOfRange("max-conns-per-shard", o.max_conns_per_shard,
                      absl::StrCat("1..", kMaxConnsPerShardLimit, " (0: not given)"));
  }
  if (o.idle_timeout_secs < 0) return OutOfRange("idle-timeout-secs", o.idle_timeout_secs, ">= 0");
  if (o.client_output_buffer_limit_bytes < 0) {
    return OutOfRange("client-output-buffer-limit-bytes", o.client_output_buffer_limit_bytes,
                      ">= 0");
  }
  if (o.segment_bytes < kMinSegmentBytes || o.segment_bytes > kMaxSegmentBytes) {
    return OutOfRange("segment-bytes", o.segment_bytes,
                      absl::StrCat(kMinSegmentBytes, "..", kMaxSegmentBytes));
  }
  if (o.reclaim_sealed_threshold < 0 || o.reclaim_sealed_threshold > kMaxReclaimSealedThreshold) {
    return OutOfRange("reclaim-sealed-threshold", o.reclaim_sealed_threshold,
                      absl::StrCat("0..", kMaxReclaimSealedThreshold));
  }
  if (o.reclaim_interval_secs < 0 || o.reclaim_interval_secs > kMaxReclaimIntervalSecs) {
    return OutOfRange("reclaim-interval-secs", o.reclaim_interval_secs,
                      absl::StrCat("0..", kMaxReclaimIntervalSecs));
  }
  if (o.fsync != "always" && o.fsync != "everysec" && o.fsync != "never") {
    return absl::InvalidArgumentError(
        absl::StrCat("--fsync=", o.fsync, " must be one of always, everysec, never"));
  }
  return absl::OkStatus();
}

absl::Status RunSupervisor(const SupervisorOptions& options) {
  if (absl::Status status = ValidateOptions(options); !status.ok()) return status;

  const SelfLocation self = CurrentSelfLocation();
  absl::StatusOr<std::string> shard_binary =
      LocateChildBinary(kShardBinary, options.bin_dir, self);
  if (!shard_binary.ok()) return shard_binary.status();
  absl::StatusOr<std::string> gateway_binary =
      LocateChildBinary(kGatewayBinary, options.bin_dir, self);
  if (!gateway_binary.ok()) return gateway_binary.status();
  absl::StatusOr<TcpEndpoint> endpoint = LocalEndpointFor(options.bind, options.resp_port);
  if (!endpoint.ok()) return endpoint.status();
  const bool http = options.http_port != 0;
  std::string http_gateway_binary;
  TcpEndpoint http_endpoint;
  if (http) {
    absl::StatusOr<std::string> binary =
        LocateChildBinary(kHttpGatewayBinary, options.bin_dir, self);
    if (!binary.ok()) return binary.status();
    http_gateway_binary = *binary;
    absl::StatusOr<TcpEndpoint> e = LocalEndpointFor(options.bind, options.http_port);
    if (!e.ok()) return e.status();
    http_endpoint = *e;
  }

  absl::StatusOr<std::unique_ptr<DataDir>> data_dir =
      DataDir::Open(options.data_dir, options.threads);
  if (!data_dir.ok()) return data_dir.status();
  // Fail now rather than after the shards started (and five gateway crashes later).
  if (absl::Status status = CheckTcpPortFree(options.bind, options.resp_port); !status.ok()) {
    return status;
  }
  if (http) {
    if (absl::Status status = CheckTcpPortFree(options.bind, options.http_port); !status.ok()) {
      return status;
    }
  }
  LOG(INFO) << "data directory " << (*data_dir)->path() << " (" << options.threads
            << " shards); kv-shard: " << *shard_binary << "; kv-resp-gateway: "
            << *gateway_binary << "; kv-http-gateway: "
            << (http ? http_gateway_binary : std::string("off (--http-port=0)"));

  // An inherited SIGCHLD = SIG_IGN would make the kernel reap children for us; waitpid would
  // then never report an exit.
  signal(SIGCHLD, SIG_DFL);
  sigset_t handled, previous;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  if (sigprocmask(SIG_BLOCK, &handled, &previous) != 0) {
    return absl::InternalError(absl::StrCat("sigprocmask: ", strerror(errno)));
  }
  const int signal_fd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    const int err = errno;
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    return absl::InternalError(absl::StrCat("signalfd: ", strerror(err)));
  }
  absl::Status status = Supervisor(options, **data_dir, *shard_binary, *gateway_binary,
                                   *endpoint, http_gateway_binary, http_endpoint, signal_fd)
                            .Run();
  // Consume signals still queued (say a second SIGTERM), which the restored mask would
  // otherwise deliver with their default action after a clean shutdown.
  signalfd_siginfo ignored;
  while (read(signal_fd, &ignored, sizeof(ignored)) == sizeof(ignored)) {
  }
  close(signal_fd);
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  return status;
}

}  // namespace beyondkv::services
