#include "services/kv-shard/engine_worker.h"

#include <glog/logging.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/process.h"
#include "services/kv-shard/op_table.h"

namespace beyondkv::shard {
namespace {

using v1::Op;
using v1::OpResult;

// How often an idle engine thread wakes up for periodic work (the everysec fdatasync, the
// expiry sweep) and, with watchers, to send them a watermark. A watch session that holds
// another shard's events back does not wait for this tick: it asks the shard (a PING batch
// whose observed_revision is the revision it waits for; shardlink::WatchSession), and the
// watermark sent after that batch releases them. Replay slices and background work
// (reclaim, hint files) advance every kBusyInterval while they have work.
constexpr absl::Duration kIdleWakeup = absl::Milliseconds(100);
constexpr absl::Duration kBusyInterval = absl::Milliseconds(1);

// Submission slots of the engine thread's io_uring (a batch's reads beyond this are
// submitted in several rounds), and how long one wait for completions lasts before the
// thread looks again.
constexpr unsigned kRingEntries = 256;
constexpr absl::Duration kIoWait = absl::Milliseconds(50);

// Time the watch replays may take between two batches, shared by the watchers replaying.
constexpr absl::Duration kReplaySlice = absl::Milliseconds(2);
// A replaying watcher with more events than this queued gets no slice until it drains.
constexpr size_t kReplayQueueHighWater = 20'000;
constexpr absl::Duration kReplayStallLimit = absl::Seconds(30);

// Background work's share of the engine thread while batches keep coming, and its longest
// slice (background_share.h).
constexpr double kBackgroundShare = 1.0 / 3;

v1::WatchEvent ToEvent(const engine::Change& change) {
  v1::WatchEvent event;
  switch (change.kind) {
    case engine::Change::Kind::kSet:
      event.set_kind(v1::WatchEvent::SET);
      break;
    case engine::Change::Kind::kDelete:
      event.set_kind(v1::WatchEvent::DEL);
      break;
    case engine::Change::Kind::kFlush:
      event.set_kind(v1::WatchEvent::FLUSH);
      break;
  }
  event.set_key(change.key);
  event.set_value(change.value);
  event.set_revision(change.revision);
  event.set_expire_at_ms(change.expire_at_ms);
  event.set_metadata(change.metadata);
  return event;
}

}  // namespace

constexpr uint64_t kWakeTag = 1;

EngineWorker::EngineWorker(std::unique_ptr<engine::Engine> engine)
    : engine_(std::move(engine)),
      epoll_(kWakeTag),
      background_share_(kBackgroundShare, engine::Engine::kBackgroundBudget) {}

EngineWorker::~EngineWorker() {
  Stop();
  if (link_listen_fd_ >= 0) close(link_listen_fd_);
}

void EngineWorker::ServeLink(const LinkServerOptions& options, int listen_fd) {
  link_options_ = options;
  link_listen_fd_ = listen_fd;
}

void EngineWorker::Start() { thread_ = std::thread([this] { Loop(); }); }

void EngineWorker::Wake() { epoll_.Wake(); }

void EngineWorker::WaitForRequests(absl::Duration wait) {
  epoll_event events[64];
  const int timeout_ms =
      static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
  const int n = idle_poll_.Wait(epoll_.fd(), events, 64, timeout_ms);
  if (n < 0 && errno != EINTR) PLOG(FATAL) << "epoll_wait";
  for (int i = 0; i < n; ++i) {
    const uint64_t tag = events[i].data.u64;
    if (tag == kWakeTag) {
      epoll_.Drain();
    } else if (link_ != nullptr && link_->OwnsTag(tag)) {
      link_->OnEvent(tag, events[i].events);
    }
  }
}

void EngineWorker::Submit(const v1::BatchRequest* request, v1::BatchResponse* response,
                          Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      const bool was_empty = queue_.empty();
      queue_.push_back(Call{request, response, std::move(done)});
      if (was_empty) Wake();
      return;
    }
  }
  for (int i = 0; i < request->ops_size(); ++i) {
    OpResult* result = response->add_results();
    result->set_code(OpResult::INTERNAL);
    result->set_message("shard is shutting down");
  }
  done();
}

void EngineWorker::AddWatcher(std::shared_ptr<WatcherHandle> watcher) {
  absl::MutexLock lock(&mu_);
  if (stopped_) {
    watcher->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shard is shutting down"));
    return;
  }
  new_watchers_.push_back(std::move(watcher));
  Wake();
}

void EngineWorker::CloseWatchers() {
  {
    absl::MutexLock lock(&mu_);
    close_watchers_ = true;
  }
  Wake();
}

void EngineWorker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
}

void EngineWorker::Loop() {
  if (absl::StatusOr<std::unique_ptr<engine::Uring>> ring = engine::Uring::Create(kRingEntries);
      ring.ok()) {
    ring_ = *std::move(ring);
    engine_->AttachRing(ring_.get());
  } else {
    LOG(WARNING) << "io_uring unavailable (" << ring.status()
                 << "); the engine thread uses blocking file I/O";
  }
  if (link_listen_fd_ >= 0) {
    link_ = std::make_unique<LinkServer>(link_options_, link_listen_fd_, epoll_.fd());
    link_listen_fd_ = -1;
  }
  std::vector<Call> calls;
  std::vector<std::shared_ptr<WatcherHandle>> new_watchers;
  while (true) {
    bool stop = false;
    if (batch_.phase != Batch::Phase::kIdle) {
      // A batch's reads or commit are in flight: wait for completions, not for requests
      // (those queue up for the next batch).
      ring_->Run(kIoWait);
      AdvanceBatch();
      if (batch_.phase != Batch::Phase::kIdle) continue;
      // Done: the duties between batches below, then the next batch.
    } else {
      // Replays, reclaim and hint files advance in 2 ms slices between batches: while they
      // have work, take the next slice after 1 ms instead of the idle interval (an idle shard
      // then reclaims at about 2/3 of a core instead of 2%).
      const absl::Duration wait =
          !replaying_.empty() || engine_->background_pending() ? kBusyInterval : kIdleWakeup;
      bool has_work;
      {
        absl::MutexLock lock(&mu_);
        has_work = !queue_.empty() || !new_watchers_.empty() || stopping_ || close_watchers_;
      }
      // Link lanes are read here; gRPC calls and other requests wake the thread through
      // the eventfd (pushed after the check above: the wake-up is not lost).
      const bool buffered = link_ != nullptr && link_->HasBufferedBatches();
      WaitForRequests(has_work || buffered ? absl::ZeroDuration() : wait);
      bool stopping;
      {
        absl::MutexLock lock(&mu_);
        calls.swap(queue_);
        stopping = stopping_;
        if (stopping_ && calls.empty()) {
          stopped_ = true;
          stop = true;
        }
      }
      // Batches from the link join gRPC's in one engine batch (group commit); while
      // stopping, none is taken: the gateways see the link close and fail them.
      if (link_ != nullptr && !stopping) link_->TakeCalls(&calls);
      if (link_ != nullptr) link_->Flush();  // WELCOMEs of new lanes
      if (!calls.empty()) {
        StartBatch(std::move(calls));
        calls.clear();
        if (batch_.phase != Batch::Phase::kIdle) continue;
      }
    }
    // Between batches: reap other completions (the everysec fdatasync), start new watchers,
    // run background duties and send watermarks.
    if (ring_ != nullptr && ring_->pending() > 0) ring_->Run(absl::ZeroDuration());
    {
      absl::MutexLock lock(&mu_);
      new_watchers.swap(new_watchers_);
      if (close_watchers_) {
        close_watchers_ = false;
        for (auto& watcher : new_watchers) watchers_.push_back(watcher);
        new_watchers.clear();
        FinishAllWatchers();
      }
    }
    for (auto& watcher : new_watchers) StartWatcher(watcher);
    new_watchers.clear();
    // Periodic sync, expiry sweep, reclaim and hint files, within this slice's share of the
    // thread (background_share.h).
    const BackgroundShare::Clock::time_point slice_start = BackgroundShare::Clock::now();
    const absl::Duration budget = background_share_.Budget(slice_start, batched_since_slice_);
    batched_since_slice_ = false;
    if (absl::Status done = engine_->RunBackgroundWork(budget); !done.ok()) {
      LOG_EVERY_N(ERROR, 100) << "background work failed: " << done;
    }
    background_share_.Ran(slice_start, BackgroundShare::Clock::now());
    // Watchers started above may have expired keys on reading them (tombstones with fresh
    // revisions): commit those as a batch of their own before any watermark passes them.
    StartBackgroundCommit();
    if (batch_.phase != Batch::Phase::kIdle) continue;
    // Replays only here, with nothing in flight: every committed change is in the log.
    AdvanceReplays();
    SendWatermarks();
    if (stop) break;
  }
  // Shutting down: let I/O in flight (an everysec fdatasync) complete, then sync everything.
  while (ring_ != nullptr && engine_->io_pending()) ring_->Run(kIoWait);
  if (absl::Status synced = engine_->SyncAll(); !synced.ok()) {
    LOG(ERROR) << "final sync failed: " << synced;
  }
  engine_->AttachRing(nullptr);
  ring_.reset();
  FinishAllWatchers();
  link_.reset();  // closes every lane: gateways fail what they have in flight
}

void EngineWorker::FinishAllWatchers() {
  const grpc::Status status(grpc::StatusCode::UNAVAILABLE, "shard is shutting down");
  for (auto& watcher : watchers_) watcher->Finish(status);
  watchers_.clear();
  for (Replaying& r : replaying_) {
    engine_->EndReplay(r.cursor);
    r.watcher->Finish(status);
  }
  replaying_.clear();
}

void EngineWorker::StartBatch(std::vector<Call> calls) {
  CHECK(batch_.phase == Batch::Phase::kIdle);
  batched_since_slice_ = true;
  batch_.calls = std::move(calls);
  batch_.phase = Batch::Phase::kReading;
  batch_.reads_done = false;
  // The records this batch's ops will read: read them all at once through the ring, so
  // the ops below find them in memory.
  std::vector<engine::ReadAheadKey>& keys = read_ahead_keys_;
  keys.clear();
  for (const Call& call : batch_.calls) {
    for (const Op& op : call.request->ops()) AddReadAheadKeys(op, &keys);
  }
  // MGET/MPUT/MDELETE/MEXISTS list one read-ahead key per key of their single op.
  batch_.large = keys.size() > kLargeBatchKeys;
  if (keys.empty()) {
    batch_.reads_done = true;
  } else {
    engine_->ReadAhead(keys, [this] { batch_.reads_done = true; });
  }
  // The engine keeps no view of the list itself (only of the ops' keys); a large batch's list
  // is not kept.
  if (batch_.large) std::vector<engine::ReadAheadKey>().swap(keys);
  AdvanceBatch();
}

void EngineWorker::StartBackgroundCommit() {
  CHECK(batch_.phase == Batch::Phase::kIdle);
  batch_.phase = Batch::Phase::kReading;
  batch_.reads_done = true;
  AdvanceBatch();
}

void EngineWorker::AdaptScheduling(int64_t apply_ns) {
  if (!sched_adapter_.Observe(apply_ns)) return;
  const SchedPolicy next = sched_adapter_.batch() ? SchedPolicy::kNormal : SchedPolicy::kBatch;
  if (absl::Status s = SetSchedPolicy(next); !s.ok()) {
    LOG(WARNING) << "adaptive scheduling stops, the engine thread keeps its policy: " << s;
    adaptive_sched_ = false;  // no system call per batch from here on
    return;
  }
  sched_adapter_.Switched();
}

void EngineWorker::AdvanceBatch() {
  if (batch_.phase == Batch::Phase::kReading) {
    if (!batch_.reads_done) return;
    const int64_t apply_start_ns = adaptive_sched_ ? absl::GetCurrentTimeNanos() : 0;
    OpContext ctx{engine_.get(), ops_executed_};
    for (Call& call : batch_.calls) ApplyBatch(ctx, *call.request, call.response);
    ops_executed_ = ctx.ops_executed;
    if (adaptive_sched_) AdaptScheduling(absl::GetCurrentTimeNanos() - apply_start_ns);
    engine_->DropReadAhead();
    // Group commit: one write per namespace for everything applied above.
    batch_.phase = Batch::Phase::kCommitting;
    batch_.commit_done = false;
    engine_->CommitAsync([this](absl::Status status) {
      batch_.commit_status = std::move(status);
      batch_.commit_done = true;
    });
  }
  if (batch_.phase != Batch::Phase::kCommitting || !batch_.commit_done) return;
  const absl::Status& committed = batch_.commit_status;
  if (!committed.ok()) {
    LOG_EVERY_N(ERROR, 100) << "commit failed, failing the batch's writes: " << committed;
    for (Call& call : batch_.calls) {
      for (int i = 0; i < call.request->ops_size(); ++i) {
        if (!IsMutation(call.request->ops(i).type())) continue;
        OpResult* result = call.response->mutable_results(i);
        result->Clear();
        result->set_code(OpResult::INTERNAL);
        if (absl::IsResourceExhausted(committed)) result->set_reason(OpResult::NO_SPACE);
        result->set_message("write failed: " + std::string(committed.message()));
      }
    }
  }
  PublishChanges();
  const uint64_t high_revision = engine_->LastRevision();
  for (Call& call : batch_.calls) {
    call.response->set_high_revision(high_revision);
    call.done();
  }
  batch_.calls.clear();
  if (link_ != nullptr) link_->Flush();  // one write per lane for the whole batch
  if (batch_.large) {
    last_large_batch_ms_.store(absl::ToUnixMillis(absl::Now()), std::memory_order_relaxed);
  }
  batch_.phase = Batch::Phase::kIdle;
}

// Registers a watcher between batches, so nothing committed can fall between its replay (or
// initial values) and its live changes. A replay runs in slices (AdvanceReplays) so that a
// long history does not stall the shard.
void EngineWorker::StartWatcher(const std::shared_ptr<WatcherHandle>& watcher) {
  const v1::WatchRequest& request = watcher->request();
  if (request.ns() >= engine::kNamespaceCount) {
    watcher->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "namespace out of range"));
    return;
  }
  if (request.has_since()) {
    absl::StatusOr<engine::ReplayCursor> cursor =
        engine_->StartReplay(request.ns(), request.since_revision());
    if (!cursor.ok()) {
      watcher->Finish(grpc::Status(cursor.status().code() == absl::StatusCode::kFailedPrecondition
                                       ? grpc::StatusCode::FAILED_PRECONDITION
                                       : grpc::StatusCode::INTERNAL,
                                   std::string(cursor.status().message())));
      return;
    }
    replaying_.push_back(Replaying{watcher, *cursor});
    return;
  }
  for (const std::string& key : request.keys()) {
    absl::StatusOr<engine::Entry> entry = engine_->Get(request.ns(), key);
    if (!entry.ok()) continue;
    v1::WatchEvent event;
    event.set_kind(v1::WatchEvent::SET);
    event.set_key(key);
    event.set_value(std::move(entry->value));
    event.set_revision(entry->revision);
    event.set_expire_at_ms(entry->expire_at_ms);
    event.set_metadata(std::move(entry->metadata));
    watcher->Push(std::move(event));
  }
  GoLive(watcher);
}

void EngineWorker::AdvanceReplays() {
  if (replaying_.empty()) return;
  const absl::Duration slice = kReplaySlice / static_cast<int64_t>(replaying_.size());
  std::vector<Replaying> still;
  for (Replaying& r : replaying_) {
    const std::shared_ptr<WatcherHandle>& watcher = r.watcher;
    if (watcher->queued() > kReplayQueueHighWater) {
      // The stream has not written what the replay gave it yet: wait rather than run into
      // the watcher queue's limit. A reader that stops is cut off after kReplayStallLimit,
      // so an open replay cannot hold reclaim back for long.
      const absl::Time now = absl::Now();
      if (r.stalled_since == absl::InfiniteFuture()) r.stalled_since = now;
      if (watcher->done() || now - r.stalled_since > kReplayStallLimit) {
        engine_->EndReplay(r.cursor);
        watcher->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                     "watcher stopped reading its replay and was cut off: "
                                     "resume with SINCE"));
        continue;
      }
      still.push_back(std::move(r));
      continue;
    }
    r.stalled_since = absl::InfiniteFuture();
    bool open = true;
    absl::StatusOr<bool> done =
        engine_->ReplayStep(&r.cursor, slice, [&](const engine::Change& c) {
          if (!open) return;
          if (c.kind == engine::Change::Kind::kFlush || watcher->Matches(c.key)) {
            open = watcher->Push(ToEvent(c));  // false: the watcher was cut off or went away
          }
        });
    if (!done.ok()) {
      engine_->EndReplay(r.cursor);
      watcher->Finish(grpc::Status(grpc::StatusCode::INTERNAL, std::string(done.status().message())));
      continue;
    }
    if (!open) {
      engine_->EndReplay(r.cursor);
      continue;
    }
    if (*done) {
      engine_->EndReplay(r.cursor);
      GoLive(watcher);
      continue;
    }
    // Still replaying: a watermark lets the gateway release what other shards replayed
    // below it, instead of holding every shard's replay until the slowest is done.
    if (r.cursor.last_revision > r.cursor.since) {
      v1::WatchEvent mark;
      mark.set_kind(v1::WatchEvent::WATERMARK);
      mark.set_revision(r.cursor.last_revision);
      if (!watcher->Push(std::move(mark))) {
        engine_->EndReplay(r.cursor);
        continue;
      }
    }
    still.push_back(std::move(r));
  }
  replaying_.swap(still);
}

void EngineWorker::GoLive(const std::shared_ptr<WatcherHandle>& watcher) {
  v1::WatchEvent ready;
  ready.set_kind(v1::WatchEvent::READY);
  ready.set_revision(engine_->Watermark());
  if (watcher->Push(std::move(ready))) {
    if (watchers_.empty()) engine_->set_collect_changes(true);
    watchers_.push_back(watcher);
  }
}

void EngineWorker::PublishChanges() {
  if (watchers_.empty()) return;
  std::vector<engine::Change> changes = engine_->TakeChanges();
  if (changes.empty()) return;
  for (auto& watcher : watchers_) {
    const uint32_t ns = watcher->request().ns();
    for (const engine::Change& c : changes) {
      if (c.ns != ns) continue;
      if (c.kind == engine::Change::Kind::kFlush || watcher->Matches(c.key)) {
        if (!watcher->Push(ToEvent(c))) break;
      }
    }
  }
}

// Tells every watcher that nothing at or below the current watermark will follow, and drops
// watchers whose stream has ended.
void EngineWorker::SendWatermarks() {
  if (watchers_.empty()) return;
  v1::WatchEvent mark;
  mark.set_kind(v1::WatchEvent::WATERMARK);
  mark.set_revision(engine_->Watermark());
  std::vector<std::shared_ptr<WatcherHandle>> live;
  for (auto& watcher : watchers_) {
    if (watcher->Push(mark)) live.push_back(watcher);
  }
  watchers_.swap(live);
  if (watchers_.empty()) engine_->set_collect_changes(false);
}

}  // namespace beyondkv::shard
