#include "common/process.h"

#include <glog/logging.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace beyondkv {

absl::Status SetSchedPolicy(SchedPolicy policy) {
  sched_param param{};
  param.sched_priority = 0;  // the only priority SCHED_OTHER and SCHED_BATCH have
  const int which = policy == SchedPolicy::kBatch ? SCHED_BATCH : SCHED_OTHER;
  if (sched_setscheduler(0, which, &param) != 0) {
    return absl::ErrnoToStatus(errno, "sched_setscheduler");
  }
  return absl::OkStatus();
}

void InitServerProcess(std::function<void()> on_shutdown) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals, on_shutdown = std::move(on_shutdown)] {
    int signo = 0;
    sigwait(&signals, &signo);
    LOG(INFO) << "received " << strsignal(signo);
    on_shutdown();
  }).detach();
}

}  // namespace beyondkv
