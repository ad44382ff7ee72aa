// Process set-up shared by the server binaries (kv-shard, kv-resp-gateway, kv-http-gateway).
#ifndef BEYONDKV_COMMON_PROCESS_H_
#define BEYONDKV_COMMON_PROCESS_H_

#include <functional>

namespace beyondkv {

// Call once in main() after InitLogging(), before starting other threads:
// - SIGTERM and SIGINT are blocked in every thread and handled by one thread (sigwait), which
//   logs the signal and calls `on_shutdown` once, on that thread;
// - SIGPIPE is ignored (a client that hangs up must not kill the server);
// - Abseil's mutex deadlock detection, which Debian's build leaves on and which builds a lock
//   graph on every acquisition, is turned off (our lock order is trivial).
void InitServerProcess(std::function<void()> on_shutdown);

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_PROCESS_H_
