#include "services/kv-shard/engine_worker.h"

#include <glog/logging.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmath>
#include <utility>

#include "absl/time/time.h"
#include "common/numbers.h"
#include "common/glob.h"

namespace beyondkv::shard {
namespace {

using v1::Op;
using v1::OpResult;

// How often an idle engine thread wakes up for periodic work (the everysec fdatasync, the
// expiry sweep). With watchers it wakes every 1 ms: the gateway releases an event only once
// every shard's watermark has passed it, so the idle shards' tick is the push latency
// (5 ms gave a p50 of 4.2 ms, 1 ms gives 0.4 ms; docs/benchmarks.md).
constexpr absl::Duration kIdleWakeup = absl::Milliseconds(100);
constexpr absl::Duration kWatermarkInterval = absl::Milliseconds(1);

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

bool IsMutation(Op::Type type) {
  switch (type) {
    case Op::PUT:
    case Op::DELETE:
    case Op::INCR:
    case Op::INCR_FLOAT:
    case Op::APPEND:
    case Op::SETRANGE:
    case Op::EXPIRE:
    case Op::FLUSH:
    case Op::RENAME:
    case Op::MPUT:
    case Op::MDELETE:
      return true;
    default:
      return false;
  }
}

// Largest string SETRANGE/APPEND may build: Redis's default proto-max-bulk-len.
constexpr int64_t kMaxStringBytes = 512ll << 20;

// Maps an engine status to the wire result code. The message travels to the gateway, which
// turns it into a RESP error.
void SetError(const absl::Status& status, OpResult* result) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      result->set_code(OpResult::NOT_FOUND);
      return;
    case absl::StatusCode::kInvalidArgument:
      result->set_code(OpResult::INVALID_ARGUMENT);
      break;
    default:
      result->set_code(OpResult::INTERNAL);
      break;
  }
  result->set_message(std::string(status.message()));
}

engine::PutOptions::Condition ToCondition(Op::Condition condition) {
  switch (condition) {
    case Op::IF_ABSENT:
      return engine::PutOptions::Condition::kIfAbsent;
    case Op::IF_PRESENT:
      return engine::PutOptions::Condition::kIfPresent;
    case Op::IF_REVISION:
      return engine::PutOptions::Condition::kIfRevision;
    default:
      return engine::PutOptions::Condition::kAlways;
  }
}

void SetEntry(const engine::Entry& entry, OpResult* result) {
  result->set_revision(entry.revision);
  result->set_expire_at_ms(entry.expire_at_ms);
  result->set_metadata(entry.metadata);
}

void SetOld(engine::Entry* old, OpResult* result) {
  result->set_has_old(old->revision != 0);
  if (old->revision == 0) return;
  result->set_value(std::move(old->value));
  result->set_metadata(std::move(old->metadata));
  result->set_old_revision(old->revision);
  result->set_expire_at_ms(old->expire_at_ms);
}

void Invalid(std::string message, OpResult* result) {
  result->set_code(OpResult::INVALID_ARGUMENT);
  result->set_message(std::move(message));
}

void Invalid(OpResult::Reason reason, OpResult* result) {
  result->set_code(OpResult::INVALID_ARGUMENT);
  result->set_reason(reason);
  result->set_message(OpResult::Reason_Name(reason));
}


}  // namespace

constexpr uint64_t kWakeTag = 1;

EngineWorker::EngineWorker(std::unique_ptr<engine::Engine> engine) : engine_(std::move(engine)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  PCHECK(epoll_fd_ >= 0) << "epoll_create1";
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  PCHECK(wake_fd_ >= 0) << "eventfd";
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  PCHECK(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) == 0);
}

EngineWorker::~EngineWorker() {
  Stop();
  if (link_listen_fd_ >= 0) close(link_listen_fd_);
  close(wake_fd_);
  close(epoll_fd_);
}

void EngineWorker::ServeLink(const LinkServerOptions& options, int listen_fd) {
  link_options_ = options;
  link_listen_fd_ = listen_fd;
}

void EngineWorker::Start() { thread_ = std::thread([this] { Loop(); }); }

void EngineWorker::Wake() {
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void EngineWorker::WaitForRequests(absl::Duration wait) {
  epoll_event events[64];
  const int timeout_ms =
      static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
  const int n = epoll_wait(epoll_fd_, events, 64, timeout_ms);
  if (n < 0 && errno != EINTR) PLOG(FATAL) << "epoll_wait";
  for (int i = 0; i < n; ++i) {
    const uint64_t tag = events[i].data.u64;
    if (tag == kWakeTag) {
      uint64_t count;
      (void)!read(wake_fd_, &count, sizeof(count));
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
    link_ = std::make_unique<LinkServer>(link_options_, link_listen_fd_, epoll_fd_);
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
      const bool watching = !watchers_.empty() || !replaying_.empty();
      // Reclaim and hint files advance in 2 ms slices between batches: while they have work,
      // take the next slice after 1 ms instead of the idle interval (an idle shard then
      // reclaims at about 2/3 of a core instead of 2%).
      const absl::Duration wait =
          watching || engine_->background_pending() ? kWatermarkInterval : kIdleWakeup;
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
    // Periodic sync, expiry sweep and reclaim steps, each within a small time budget.
    if (absl::Status done = engine_->RunBackgroundWork(); !done.ok()) {
      LOG_EVERY_N(ERROR, 100) << "background work failed: " << done;
    }
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
  batch_.calls = std::move(calls);
  batch_.phase = Batch::Phase::kReading;
  batch_.reads_done = false;
  // The records this batch's ops will read: read them all at once through the ring, so
  // the ops below find them in memory.
  std::vector<engine::ReadAheadKey> keys;
  for (const Call& call : batch_.calls) {
    for (const Op& op : call.request->ops()) {
      switch (op.type()) {
        case Op::GET:
          keys.push_back({op.ns(), op.key(), !op.no_value()});
          break;
        case Op::PUT:
          if (op.return_old()) {
            keys.push_back({op.ns(), op.key(), true});
          } else if (op.keep_metadata()) {
            keys.push_back({op.ns(), op.key(), false});
          }
          break;
        case Op::DELETE:
          if (op.return_old()) keys.push_back({op.ns(), op.key(), true});
          break;
        case Op::INCR:
        case Op::INCR_FLOAT:
        case Op::APPEND:
        case Op::SETRANGE:
        case Op::RENAME:
          keys.push_back({op.ns(), op.key(), true});
          break;
        case Op::EXPIRE:
          keys.push_back({op.ns(), op.key(), op.return_value()});
          break;
        case Op::MGET:
          for (const std::string& key : op.keys()) keys.push_back({op.ns(), key, true});
          break;
        default:
          break;
      }
    }
  }
  if (keys.empty()) {
    batch_.reads_done = true;
  } else {
    engine_->ReadAhead(keys, [this] { batch_.reads_done = true; });
  }
  AdvanceBatch();
}

void EngineWorker::StartBackgroundCommit() {
  CHECK(batch_.phase == Batch::Phase::kIdle);
  batch_.phase = Batch::Phase::kReading;
  batch_.reads_done = true;
  AdvanceBatch();
}

void EngineWorker::AdvanceBatch() {
  if (batch_.phase == Batch::Phase::kReading) {
    if (!batch_.reads_done) return;
    for (Call& call : batch_.calls) {
      for (const Op& op : call.request->ops()) ApplyOp(op, call.response->add_results());
      ops_executed_ += static_cast<uint64_t>(call.request->ops_size());
    }
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
        result->set_message("write failed: " + std::string(committed.message()));
      }
    }
  }
  PublishChanges();
  for (Call& call : batch_.calls) call.done();
  batch_.calls.clear();
  if (link_ != nullptr) link_->Flush();  // one write per lane for the whole batch
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

void EngineWorker::ApplyOp(const Op& op, OpResult* result) {
  switch (op.type()) {
    case Op::GET: {
      engine::ReadOptions options;
      options.value = !op.no_value();
      absl::StatusOr<engine::Entry> entry = engine_->Get(op.ns(), op.key(), options);
      if (!entry.ok()) return SetError(entry.status(), result);
      SetEntry(*entry, result);
      result->set_value(std::move(entry->value));
      return;
    }
    case Op::PUT: {
      engine::PutOptions options;
      options.condition = ToCondition(op.condition());
      options.if_revision = op.if_revision();
      options.expire_at_ms = op.expire_at_ms();
      options.keep_ttl = op.keep_ttl();
      options.metadata = op.metadata();
      options.keep_metadata = op.keep_metadata();
      engine::Entry old;
      absl::StatusOr<engine::PutResult> put =
          engine_->Put(op.ns(), op.key(), op.value(), options, op.return_old() ? &old : nullptr);
      if (!put.ok()) return SetError(put.status(), result);
      if (!put->written) result->set_code(OpResult::CONDITION_FAILED);
      result->set_revision(put->revision);
      if (op.return_old()) SetOld(&old, result);
      return;
    }
    case Op::DELETE: {
      engine::DeleteOptions options;
      if (op.condition() == Op::IF_REVISION) options.if_revision = op.if_revision();
      engine::Entry old;
      absl::StatusOr<engine::DeleteResult> deleted =
          engine_->Delete(op.ns(), op.key(), options, op.return_old() ? &old : nullptr);
      if (!deleted.ok()) return SetError(deleted.status(), result);
      if (deleted->condition_failed) {
        result->set_code(OpResult::CONDITION_FAILED);
      } else if (!deleted->deleted) {
        result->set_code(OpResult::NOT_FOUND);
      }
      result->set_revision(deleted->revision);
      if (op.return_old()) SetOld(&old, result);
      return;
    }
    case Op::EXISTS: {
      absl::StatusOr<bool> exists = engine_->Exists(op.ns(), op.key());
      if (!exists.ok()) return SetError(exists.status(), result);
      if (!*exists) result->set_code(OpResult::NOT_FOUND);
      return;
    }
    case Op::DBSIZE: {
      absl::StatusOr<uint64_t> count = engine_->KeyCount(op.ns());
      if (!count.ok()) return SetError(count.status(), result);
      result->set_count(static_cast<int64_t>(*count));
      return;
    }
    case Op::PING:
      return;
    case Op::INCR:
    case Op::INCR_FLOAT:
    case Op::APPEND:
    case Op::SETRANGE:
      return ReadModifyWrite(op, result);
    case Op::EXPIRE:
      return Expire(op, result);
    case Op::FLUSH: {
      absl::StatusOr<uint64_t> revision = engine_->Flush(op.ns());
      if (!revision.ok()) return SetError(revision.status(), result);
      result->set_revision(*revision);
      return;
    }
    case Op::SCAN: {
      engine::ScanOptions options;
      options.start_after = op.start_after();
      options.start_inclusive = op.start_inclusive();
      options.prefix = op.prefix();
      options.limit = op.limit() == 0 ? 100 : op.limit();
      options.max_examined = options.limit * 10;
      if (!op.pattern().empty()) {
        std::string pattern = op.pattern();
        options.filter = [pattern](std::string_view key) {
          return GlobMatch(pattern, key);
        };
      }
      absl::StatusOr<engine::ScanResult> scan = engine_->Scan(op.ns(), options);
      if (!scan.ok()) return SetError(scan.status(), result);
      for (std::string& key : scan->keys) result->add_keys(std::move(key));
      result->set_more(scan->more);
      result->set_last_key(std::move(scan->last_key));
      return;
    }
    case Op::RANDOM_KEY: {
      absl::StatusOr<std::string> key = engine_->RandomKey(op.ns());
      if (!key.ok()) return SetError(key.status(), result);
      result->add_keys(std::move(*key));
      return;
    }
    case Op::RENAME: {
      absl::StatusOr<engine::RenameResult> renamed = engine_->Rename(
          op.ns(), op.key(), op.new_key(), op.condition() == Op::IF_ABSENT);
      if (!renamed.ok()) return SetError(renamed.status(), result);
      if (renamed->condition_failed) result->set_code(OpResult::CONDITION_FAILED);
      result->set_revision(renamed->revision);
      return;
    }
    case Op::MGET: {
      for (const std::string& key : op.keys()) {
        absl::StatusOr<engine::Entry> entry = engine_->Get(op.ns(), key);
        if (!entry.ok() && entry.status().code() != absl::StatusCode::kNotFound) {
          result->clear_values();
          result->clear_found();
          return SetError(entry.status(), result);
        }
        result->add_found(entry.ok());
        if (entry.ok()) {
          result->add_values(std::move(entry->value));
        } else {
          result->add_values();
        }
      }
      return;
    }
    case Op::MPUT: {
      if (op.keys_size() != op.values_size()) {
        return Invalid("MPUT needs one value per key", result);
      }
      for (int i = 0; i < op.keys_size(); ++i) {
        absl::StatusOr<engine::PutResult> put =
            engine_->Put(op.ns(), op.keys(i), op.values(i), engine::PutOptions{});
        if (!put.ok()) return SetError(put.status(), result);
        result->set_revision(put->revision);
      }
      return;
    }
    case Op::MDELETE: {
      int64_t deleted = 0;
      for (const std::string& key : op.keys()) {
        absl::StatusOr<engine::DeleteResult> d =
            engine_->Delete(op.ns(), key, engine::DeleteOptions{}, nullptr);
        if (!d.ok()) return SetError(d.status(), result);
        if (d->deleted) ++deleted;
      }
      result->set_count(deleted);
      return;
    }
    case Op::MEXISTS: {
      int64_t present = 0;
      for (const std::string& key : op.keys()) {
        absl::StatusOr<bool> exists = engine_->Exists(op.ns(), key);
        if (!exists.ok()) return SetError(exists.status(), result);
        if (*exists) ++present;
      }
      result->set_count(present);
      return;
    }
    case Op::RECLAIM:
      engine_->RequestReclaim();
      return;
    case Op::STATS:
      return FillStats(result);
    default:
      Invalid("unknown op type " + std::to_string(op.type()), result);
      return;
  }
}

// INCR, INCR_FLOAT, APPEND and SETRANGE: read the value, compute, write it back keeping the
// expiry and the metadata. Atomic because only this thread touches the engine.
void EngineWorker::ReadModifyWrite(const Op& op, OpResult* result) {
  absl::StatusOr<engine::Entry> current = engine_->Get(op.ns(), op.key());
  const bool exists = current.ok();
  if (!exists && current.status().code() != absl::StatusCode::kNotFound) {
    return SetError(current.status(), result);
  }
  std::string value = exists ? std::move(current->value) : std::string();
  switch (op.type()) {
    case Op::INCR: {
      int64_t n = 0;
      if (exists && !ParseInt64(value, &n)) return Invalid(OpResult::NOT_INTEGER, result);
      int64_t delta = op.delta();
      if ((delta > 0 && n > INT64_MAX - delta) || (delta < 0 && n < INT64_MIN - delta)) {
        return Invalid(OpResult::INT_OVERFLOW, result);
      }
      n += delta;
      result->set_int_value(n);
      value = std::to_string(n);
      break;
    }
    case Op::INCR_FLOAT: {
      long double n = 0;
      long double delta = 0;
      if (exists && !ParseLongDouble(value, &n)) return Invalid(OpResult::NOT_FLOAT, result);
      if (!ParseLongDouble(op.value(), &delta)) return Invalid(OpResult::NOT_FLOAT, result);
      n += delta;
      if (std::isnan(n) || std::isinf(n)) return Invalid(OpResult::NAN_OR_INF, result);
      value = FormatLongDouble(n);
      result->set_value(value);
      break;
    }
    case Op::APPEND:
      if (static_cast<int64_t>(value.size() + op.value().size()) > kMaxStringBytes) {
        return Invalid(OpResult::STRING_TOO_LONG, result);
      }
      value += op.value();
      result->set_count(static_cast<int64_t>(value.size()));
      break;
    case Op::SETRANGE: {
      const int64_t offset = op.offset();
      if (offset < 0) return Invalid(OpResult::OFFSET_OUT_OF_RANGE, result);
      if (op.value().empty()) {  // Redis: nothing is written, the current length is reported
        result->set_count(static_cast<int64_t>(value.size()));
        return;
      }
      // Compared without adding: offset + size overflows int64 for offsets near 2^63
      // (SETRANGE k 9223372036854775807 xx aborted the shard with std::length_error).
      if (offset > kMaxStringBytes - static_cast<int64_t>(op.value().size())) {
        return Invalid(OpResult::STRING_TOO_LONG, result);
      }
      const size_t end = static_cast<size_t>(offset) + op.value().size();
      if (value.size() < end) value.resize(end, '\0');
      value.replace(static_cast<size_t>(offset), op.value().size(), op.value());
      result->set_count(static_cast<int64_t>(value.size()));
      break;
    }
    default:
      return Invalid("not a read-modify-write op", result);
  }
  engine::PutOptions options;
  options.keep_ttl = true;
  options.keep_metadata = true;
  absl::StatusOr<engine::PutResult> put = engine_->Put(op.ns(), op.key(), value, options);
  if (!put.ok()) {
    result->Clear();
    return SetError(put.status(), result);
  }
  result->set_revision(put->revision);
}

// EXPIRE family, PERSIST and GETEX: the condition is checked against the current expiry (no
// expiry counts as infinite for GT/LT, as in Redis 7.0's expireGenericCommand).
void EngineWorker::Expire(const Op& op, OpResult* result) {
  engine::ReadOptions read;
  read.value = op.return_value();
  absl::StatusOr<engine::Entry> current = engine_->Get(op.ns(), op.key(), read);
  if (!current.ok()) return SetError(current.status(), result);
  const int64_t now = current->expire_at_ms;  // current expiry, 0 = none
  const int64_t next = op.expire_at_ms();
  bool holds = true;
  switch (op.expire_condition()) {
    case Op::EXPIRE_NX:
      holds = now == 0;
      break;
    case Op::EXPIRE_XX:
      holds = now != 0;
      break;
    case Op::EXPIRE_GT:
      holds = now != 0 && next != 0 && next > now;
      break;
    case Op::EXPIRE_LT:
      holds = next != 0 && (now == 0 || next < now);
      break;
    default:
      break;
  }
  if (op.return_value()) result->set_value(std::move(current->value));
  if (!holds) {
    result->set_code(OpResult::CONDITION_FAILED);
    return;
  }
  if (next == now && op.return_value()) {  // GETEX without a change writes nothing
    result->set_revision(current->revision);
    return;
  }
  absl::StatusOr<uint64_t> revision = engine_->SetExpiry(op.ns(), op.key(), next);
  if (!revision.ok()) return SetError(revision.status(), result);
  result->set_revision(*revision);
}

void EngineWorker::FillStats(OpResult* result) {
  engine::EngineStats stats = engine_->Stats();
  v1::ShardStats* out = result->mutable_stats();
  for (const engine::NamespaceStats& ns : stats.namespaces) {
    v1::NamespaceStats* n = out->add_namespaces();
    n->set_ns(ns.ns);
    n->set_keys(ns.keys);
    n->set_expires(ns.expires);
    n->set_live_bytes(ns.live_bytes);
    n->set_log_bytes(ns.log_bytes);
    n->set_sealed_segments(ns.sealed_segments);
  }
  out->set_cache_hits(stats.cache_hits);
  out->set_cache_misses(stats.cache_misses);
  out->set_cache_bytes(stats.cache_bytes);
  out->set_cache_budget_bytes(stats.cache_budget_bytes);
  out->set_reclaim_runs(stats.reclaim_runs);
  out->set_corrupt_records(stats.corrupt_records);
  out->set_index_bytes(stats.index_bytes);
  out->set_expired_keys(stats.expired_keys);
  out->set_commands(ops_executed_);
}

}  // namespace beyondkv::shard
