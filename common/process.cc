#include "common/process.h"

#include <glog/logging.h>
#include <pthread.h>
#include <signal.h>

#include <cstring>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace beyondkv {

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
