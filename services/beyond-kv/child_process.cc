#include "services/beyond-kv/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace beyondkv::services {
namespace {

// Runs in the forked child: only async-signal-safe calls from here to execve. On failure,
// reports errno through `report_fd` (closed on exec, so the parent reads EOF on success).
[[noreturn]] void FailChild(int report_fd) {
  int err = errno;
  ssize_t ignored = write(report_fd, &err, sizeof(err));
  (void)ignored;
  _exit(127);
}

[[noreturn]] void ExecChild(const char* path, char* const* argv, char* const* envp,
                            pid_t parent, int report_fd) {
  auto fail = [report_fd]() { FailChild(report_fd); };
  // Our own process group: Ctrl-C in a terminal signals the foreground group, and the
  // supervisor, not the terminal, decides the order in which children stop.
  if (setpgid(0, 0) != 0) fail();
  // Die with the supervisor even if it is SIGKILLed. The parent may already have died between
  // fork and prctl, in which case we were reparented and must not run.
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) fail();
  if (getppid() != parent) _exit(1);

  for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD}) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) fail();

  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd < 0) fail();
  if (dup2(null_fd, STDIN_FILENO) < 0) fail();
  if (null_fd != STDIN_FILENO) close(null_fd);
  if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) fail();

  execve(path, argv, envp);
  FailChild(report_fd);
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

absl::StatusOr<pid_t> SpawnChild(const ChildCommand& command) {
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv = CStrings(command.argv);
  std::vector<char*> envp = CStrings(command.env);
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(report[0]);
    close(report[1]);
    return absl::InternalError(absl::StrCat("fork: ", strerror(err)));
  }
  if (pid == 0) {
    close(report[0]);
    ExecChild(command.path.c_str(), argv.data(), envp.data(), parent, report[1]);
  }
  close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == 0) return pid;  // the pipe closed on exec
  // The child failed before or at execve and exits at once: reap it here.
  int ignored;
  while (waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
  }
  if (n != sizeof(child_errno)) {
    return absl::InternalError(absl::StrCat("cannot start ", command.path));
  }
  return absl::InternalError(
      absl::StrCat("cannot execute ", command.path, ": ", strerror(child_errno)));
}

std::vector<std::string> MakeEnvironment(
    const char* const* base, const std::vector<std::string>& unset,
    const std::vector<std::pair<std::string, std::string>>& set) {
  absl::flat_hash_set<std::string> drop(unset.begin(), unset.end());
  for (const auto& [name, value] : set) drop.insert(name);
  std::vector<std::string> env;
  for (const char* const* entry = base; entry != nullptr && *entry != nullptr; ++entry) {
    const char* eq = strchr(*entry, '=');
    std::string name = eq == nullptr ? std::string(*entry) : std::string(*entry, eq - *entry);
    if (!drop.contains(name)) env.emplace_back(*entry);
  }
  for (const auto& [name, value] : set) env.push_back(absl::StrCat(name, "=", value));
  return env;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exit code ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    return absl::StrCat("killed by signal ", sig, " (", strsignal(sig), ")",
                        WCOREDUMP(wait_status) ? ", core dumped" : "");
  }
  return absl::StrCat("wait status ", wait_status);
}

}  // namespace beyondkv::services
