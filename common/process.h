// Process set-up shared by the server binaries (kv-shard, kv-resp-gateway, kv-http-gateway).
#ifndef BEYONDKV_COMMON_PROCESS_H_
#define BEYONDKV_COMMON_PROCESS_H_

#include <functional>

#include "absl/status/status.h"

namespace beyondkv {

// Call once in main() after InitLogging(), before starting other threads:
// - SIGTERM and SIGINT are blocked in every thread and handled by one thread (sigwait), which
//   logs the signal and calls `on_shutdown` once, on that thread;
// - SIGPIPE is ignored (a client that hangs up must not kill the server);
// - Abseil's mutex deadlock detection, which Debian's build leaves on and which builds a lock
//   graph on every acquisition, is turned off (our lock order is trivial).
void InitServerProcess(std::function<void()> on_shutdown);

// CPU scheduling policies (sched(7)) a server thread may choose without privileges.
//   kNormal: SCHED_OTHER, the default.
//   kBatch: SCHED_BATCH: the same CPU share as SCHED_OTHER at nice 0, but a thread woken up
//     does not preempt the one running on its CPU; it waits for that thread to block or use
//     up its slice (or takes an idle CPU at once).
// A shard wakes for every batch the gateway sends. Under kBatch the gateway is no longer
// descheduled mid-iteration by each wake-up, so it gathers larger batches and the shard does
// more per wake-up (kv-bench 80/20 at 64 connections on 2 cores: context switches per command
// 0.25 -> 0.10, docs/benchmarks.md). kv-shard --sched-policy chooses (and its adaptive
// default switches the engine thread: services/kv-shard/sched_adapter.h).
enum class SchedPolicy { kNormal, kBatch };

// Puts the calling thread under `policy`; threads it starts afterwards inherit it. Errors:
// what sched_setscheduler(2) reports (errno).
absl::Status SetSchedPolicy(SchedPolicy policy);

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_PROCESS_H_
