// The shard's engine thread and its request queue (architecture §2).
//
// Batches are completion-driven on the thread's io_uring (engine/uring.h): the thread drains
// the queue into one batch, submits the reads of the records its ops will need that are not
// in memory (Engine::ReadAhead), applies the ops once those reads completed, submits the
// batch's appends with their fdatasyncs linked after them (Engine::CommitAsync), and answers
// every call once the commit completed. While a batch's I/O is in flight the thread waits on
// the ring, not on a file; requests arriving meanwhile form the next batch (group commit).
// Where io_uring is unavailable (old kernel, a seccomp profile forbidding it) the same steps
// run with blocking I/O, which the log at startup says.
//
// Requests reach the thread two ways: the shard link (link_server.h), whose sockets the
// engine thread reads and writes itself in its own epoll loop, and Submit() from gRPC
// threads, which appends to a mutex-guarded queue and wakes the thread through an eventfd.
// An idle thread sleeps in epoll_wait on both.
//
// Thread contract: Submit(), AddWatcher(), CloseWatchers() and Stop() may be called from any
// thread. Everything else runs on the engine thread, which is the only thread that touches
// the Engine.
#ifndef BEYONDKV_SERVICES_KV_SHARD_ENGINE_WORKER_H_
#define BEYONDKV_SERVICES_KV_SHARD_ENGINE_WORKER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/idle_poll.h"
#include "common/wakeable_epoll.h"
#include "engine/engine.h"
#include "engine/uring.h"
#include "proto/shard.pb.h"
#include "services/kv-shard/background_share.h"
#include "services/kv-shard/link_server.h"
#include "services/kv-shard/sched_adapter.h"
#include "services/kv-shard/shard_call.h"
#include "services/kv-shard/watcher.h"

namespace beyondkv::shard {

class EngineWorker {
 public:
  // Called on the engine thread once the call's ops are applied and committed.
  using Done = std::function<void()>;

  explicit EngineWorker(std::unique_ptr<engine::Engine> engine);
  ~EngineWorker();  // Stop()s if still running

  // Serves the shard link on `listen_fd` (from LinkServer::Listen; taken over) from the
  // engine thread. Call before Start().
  void ServeLink(const LinkServerOptions& options, int listen_fd);

  // Adaptive CPU scheduling of the engine thread, for a shard started under SCHED_BATCH
  // (common/process.h): the engine thread moves between SCHED_BATCH and SCHED_OTHER by how
  // long its batches take to apply (sched_adapter.h); one system call per switch. Call before
  // Start().
  void SetAdaptiveScheduling(bool on) { adaptive_sched_ = on; }

  // The longest the engine thread polls for requests before it blocks (common/idle_poll.h);
  // 0 = never polls. Call before Start().
  void SetIdlePoll(absl::Duration max) { idle_poll_ = IdlePoll(max); }

  // Starts the engine thread.
  void Start();

  // Queues one batch. `request` and `response` must stay valid until `done` runs.
  // After Stop(), the batch is answered at once with a single INTERNAL result per op.
  void Submit(const v1::BatchRequest* request, v1::BatchResponse* response, Done done);

  // Registers a watcher; the engine thread replays or sends initial values, then READY, then
  // live changes and watermarks. Any thread.
  void AddWatcher(std::shared_ptr<WatcherHandle> watcher);

  // Ends every watch stream (at shutdown, before the gRPC server drains). Any thread.
  void CloseWatchers();

  // Applies whatever is queued, syncs every log, and joins the engine thread.
  void Stop();

  // When (ms since the epoch) the engine thread last finished a batch of more than
  // kLargeBatchKeys keys (those its read-ahead lists; 0: never). Such a batch frees, at once,
  // memory that glibc keeps in the engine thread's arena; the shard's main thread then returns
  // it to the system (memory_release.h) for a while after, and does not walk a large arena
  // otherwise. Any thread.
  int64_t last_large_batch_ms() const {
    return last_large_batch_ms_.load(std::memory_order_relaxed);
  }
  static constexpr size_t kLargeBatchKeys = 65536;

 private:
  using Call = ShardCall;

  // A batch in flight: its calls and how far it got.
  struct Batch {
    enum class Phase { kIdle, kReading, kCommitting };
    Phase phase = Phase::kIdle;
    std::vector<Call> calls;
    bool reads_done = false;
    bool commit_done = false;
    absl::Status commit_status;
    bool large = false;  // over kLargeBatchKeys keys (last_large_batch_ms)
  };

  void Loop();
  // Sleeps up to `wait` in epoll_wait for link traffic or a wake-up, and handles the events.
  void WaitForRequests(absl::Duration wait);
  // Wakes the engine thread from WaitForRequests (any thread).
  void Wake();
  // Starts `calls` as the batch (phase kReading) and advances it as far as completions allow.
  void StartBatch(std::vector<Call> calls);
  // Starts a batch without calls that commits what background work staged.
  void StartBackgroundCommit();
  // Moves the batch on: applies its ops once its reads completed, starts its commit, and
  // answers its calls once the commit completed (phase back to kIdle).
  void AdvanceBatch();
  void StartWatcher(const std::shared_ptr<WatcherHandle>& watcher);
  // Advances the replays of watchers started with SINCE by a bounded slice each; a watcher
  // whose replay delivered every committed change gets READY and joins watchers_.
  void AdvanceReplays();
  // Sends READY and starts live changes for a watcher whose initial events are out.
  void GoLive(const std::shared_ptr<WatcherHandle>& watcher);
  // Ends every live and replaying watcher's stream (UNAVAILABLE: shutting down).
  void FinishAllWatchers();
  void PublishChanges();
  void SendWatermarks();

  std::unique_ptr<engine::Engine> engine_;  // engine thread only
  std::unique_ptr<engine::Uring> ring_;     // engine thread only; null: blocking I/O
  WakeableEpoll epoll_;  // woken by Submit, AddWatcher, CloseWatchers, Stop
  IdlePoll idle_poll_{absl::ZeroDuration()};  // engine thread only after Start()
  BackgroundShare background_share_;  // engine thread only
  bool batched_since_slice_ = false;  // a batch started since the last background slice
  LinkServerOptions link_options_;
  int link_listen_fd_ = -1;             // until the engine thread takes it over
  std::unique_ptr<LinkServer> link_;    // engine thread only
  Batch batch_;                             // engine thread only
  // The batch's read-ahead list, kept between batches so listing allocates nothing.
  std::vector<engine::ReadAheadKey> read_ahead_keys_;  // engine thread only
  std::thread thread_;
  uint64_t ops_executed_ = 0;  // engine thread only
  std::atomic<int64_t> last_large_batch_ms_{0};
  // Adaptive scheduling (SetAdaptiveScheduling); engine thread only after Start().
  void AdaptScheduling(int64_t apply_ns);
  bool adaptive_sched_ = false;
  SchedAdapter sched_adapter_;
  std::vector<std::shared_ptr<WatcherHandle>> watchers_;  // engine thread only (live)
  struct Replaying {
    std::shared_ptr<WatcherHandle> watcher;
    engine::ReplayCursor cursor;
    absl::Time stalled_since = absl::InfiniteFuture();  // waiting for its stream to drain
  };
  std::vector<Replaying> replaying_;  // engine thread only

  absl::Mutex mu_;
  std::vector<Call> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<WatcherHandle>> new_watchers_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool close_watchers_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace beyondkv::shard

#endif  // BEYONDKV_SERVICES_KV_SHARD_ENGINE_WORKER_H_
