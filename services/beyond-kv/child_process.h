// Starting one child process of the supervisor (fork + execve) and describing how it ended.
#ifndef BEYONDKV_SERVICES_BEYOND_KV_CHILD_PROCESS_H_
#define BEYONDKV_SERVICES_BEYOND_KV_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace beyondkv::services {

struct ChildCommand {
  std::string path;               // executable to run
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // the complete environment, "NAME=value" each
};

// Starts `command` and returns its pid once execve() succeeded; the caller reaps it with
// waitpid(). Returns an error (and leaves no child behind) if fork or execve failed.
//
// The child: gets an empty signal mask and default SIGINT/SIGTERM/SIGPIPE/SIGCHLD
// dispositions; runs in its own process group, so a terminal's Ctrl-C reaches only the
// supervisor, which then stops the children in order; receives SIGTERM when the calling
// thread exits, so a SIGKILLed supervisor leaves no children behind (PR_SET_PDEATHSIG);
// reads /dev/null; writes stdout and stderr to the supervisor's stderr (the children log there,
// and a never-read stdout pipe must not block them). Descriptors without FD_CLOEXEC leak into
// it: open everything with O_CLOEXEC.
absl::StatusOr<pid_t> SpawnChild(const ChildCommand& command);

// `base` ("NAME=value" entries, e.g. from environ) without the variables named in `unset`,
// followed by the `set` ones.
std::vector<std::string> MakeEnvironment(
    const char* const* base, const std::vector<std::string>& unset,
    const std::vector<std::pair<std::string, std::string>>& set);

// "exit code 1", "killed by signal 9 (Killed)", from a waitpid() status.
std::string DescribeWaitStatus(int wait_status);

}  // namespace beyondkv::services

#endif  // BEYONDKV_SERVICES_BEYOND_KV_CHILD_PROCESS_H_
