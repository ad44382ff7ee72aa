#include "sdk/cpp/watch_stream.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gateway/shardlink/watch_session.h"
#include "sdk/cpp/client_core.h"
#include "sdk/cpp/watch_state.h"

namespace beyondkv {
namespace sdk {
namespace {

size_t EventBytes(const WatchEvent& event) {
  return sizeof(WatchEvent) + event.key.size() + event.value.size();
}

WatchEvent FromProto(const v1::WatchEvent& event) {
  WatchEvent out;
  switch (event.kind()) {
    case v1::WatchEvent::SET:
      out.kind = WatchEvent::Kind::kSet;
      break;
    case v1::WatchEvent::DEL:
      out.kind = WatchEvent::Kind::kDelete;
      break;
    case v1::WatchEvent::FLUSH:
      out.kind = WatchEvent::Kind::kFlush;
      break;
    default:
      out.kind = WatchEvent::Kind::kReady;
      break;
  }
  out.key = event.key();
  out.value = event.value();
  out.revision = event.revision();
  out.expire_at_ms = event.expire_at_ms();
  return out;
}

}  // namespace

// Between the gRPC threads and the session: the work they queue for it (each shard's events,
// stream ends) and the events the session released for Next(), together bounded by
// WatchStream::kMaxBufferedBytes.
//
// The session (watch_session.h) wants one owner thread; here its owner is whichever thread
// holds run_mu(). A gRPC thread that posts work runs the queued work itself when nobody
// else does (TryLock), so watermarks (every 1 ms per shard) are consumed as they come even
// while the consumer is not in Next(); only released events wait for the consumer. Lock
// order: run_mu() before mu_; Post never holds mu_ while it takes run_mu(), so a gRPC
// callback run inline by a cancel (under run_mu()) only queues.
//
// Holds nothing that refers back to the client: a gRPC thread never ends up owning (and
// destroying) the client's channels.
class Inbox {
 public:
  absl::Mutex* run_mu() ABSL_LOCK_RETURNED(run_mu_) { return &run_mu_; }

  // From gRPC threads.
  void Post(size_t bytes, std::function<void()> fn) {
    {
      absl::MutexLock lock(&mu_);
      if (end_ || !Admit(bytes)) return;
      task_bytes_ += bytes;
      tasks_.emplace_back(bytes, std::move(fn));
    }
    while (run_mu_.TryLock()) {
      RunTasks();
      run_mu_.Unlock();
      // A task posted while we ran, whose poster's TryLock failed, is ours to run.
      absl::MutexLock lock(&mu_);
      if (tasks_.empty()) return;
    }
  }

  // Runs the queued tasks in order. Requires run_mu().
  void RunTasks() ABSL_EXCLUSIVE_LOCKS_REQUIRED(run_mu_) {
    for (;;) {
      std::function<void()> task;
      {
        absl::MutexLock lock(&mu_);
        if (tasks_.empty()) return;
        task_bytes_ -= tasks_.front().first;
        task = std::move(tasks_.front().second);
        tasks_.pop_front();
      }
      task();
    }
  }

  // From the session (under run_mu()).
  void Release(WatchEvent event) {
    absl::MutexLock lock(&mu_);
    if (end_) return;
    const size_t bytes = EventBytes(event);
    if (!Admit(bytes)) return;
    event_bytes_ += bytes;
    events_.push_back(std::move(event));
  }

  // Ends the subscription with `status` unless it already ended; events already released
  // stay readable before it, unless `drop_events` (Cancel()).
  void End(absl::Status status, bool drop_events) {
    absl::MutexLock lock(&mu_);
    if (!end_) end_ = std::move(status);
    tasks_.clear();
    task_bytes_ = 0;
    if (drop_events) {
      events_.clear();
      event_bytes_ = 0;
    }
  }

  // What Next() does next: return an event, run the tasks, or report the end.
  struct Item {
    std::optional<WatchEvent> event;
    bool tasks = false;
    std::optional<absl::Status> end;
  };
  // Waits until `deadline` for an item; none (all empty) on timeout.
  Item Take(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto has_item = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !events_.empty() || !tasks_.empty() || end_.has_value();
    };
    Item item;
    if (!mu_.AwaitWithDeadline(absl::Condition(&has_item), deadline)) return item;
    if (!events_.empty()) {
      event_bytes_ -= EventBytes(events_.front());
      item.event = std::move(events_.front());
      events_.pop_front();
    } else if (!tasks_.empty()) {
      item.tasks = true;
    } else {
      item.end = *end_;
    }
    return item;
  }

  void set_last_revision(uint64_t revision) { last_revision_.store(revision); }
  uint64_t last_revision() const { return last_revision_.load(); }

 private:
  // Whether `bytes` more fit; if not, ends the subscription (the consumer resumes from the
  // last event it took).
  bool Admit(size_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (task_bytes_ + event_bytes_ + bytes <= WatchStream::kMaxBufferedBytes) return true;
    end_ = absl::ResourceExhaustedError(absl::StrCat(
        "watch consumer fell behind: more than ", WatchStream::kMaxBufferedBytes,
        " bytes of events waited for Next(); resume with since = the last revision received"));
    tasks_.clear();
    task_bytes_ = 0;
    return false;
  }

  absl::Mutex run_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::Mutex mu_;
  std::deque<std::pair<size_t, std::function<void()>>> tasks_ ABSL_GUARDED_BY(mu_);
  std::deque<WatchEvent> events_ ABSL_GUARDED_BY(mu_);
  size_t task_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t event_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> last_revision_{0};
};

// Members are destroyed bottom-up: the session (and its streams) before the core whose
// channels they use.
struct WatchState {
  std::shared_ptr<ClientCore> core;
  std::shared_ptr<Inbox> inbox = std::make_shared<Inbox>();
  std::shared_ptr<shardlink::WatchSession> session;  // used under inbox->run_mu()

  void CancelSession() {
    absl::MutexLock lock(inbox->run_mu());
    if (session) session->Cancel();
  }
};

std::shared_ptr<WatchState> StartWatch(std::shared_ptr<ClientCore> core,
                                       std::vector<uint32_t> shards,
                                       std::vector<v1::WatchRequest> requests) {
  auto state = std::make_shared<WatchState>();
  state->core = std::move(core);
  std::vector<shardlink::ShardClient*> clients;
  for (uint32_t shard : shards) clients.push_back(state->core->shard_client(shard));
  std::shared_ptr<Inbox> inbox = state->inbox;
  absl::MutexLock lock(inbox->run_mu());
  // The sink and failure callbacks run under run_mu() (inside a task), never after the
  // session is gone; they hold the inbox, which does not hold the session: no cycle.
  state->session = std::make_shared<shardlink::WatchSession>(
      [inbox](size_t bytes, std::function<void()> fn) { inbox->Post(bytes, std::move(fn)); },
      std::move(shards),
      [inbox](const v1::WatchEvent& event) { inbox->Release(FromProto(event)); },
      [inbox](const absl::Status& status) { inbox->End(status, /*drop_events=*/false); });
  state->session->Start(clients, requests);
  return state;
}

}  // namespace sdk

WatchStream::WatchStream(std::shared_ptr<sdk::WatchState> state) : state_(std::move(state)) {}

WatchStream::~WatchStream() { Cancel(); }

absl::StatusOr<std::optional<WatchEvent>> WatchStream::Next(int64_t timeout_ms) {
  const absl::Time deadline = absl::Now() + absl::Milliseconds(std::max<int64_t>(0, timeout_ms));
  for (;;) {
    sdk::Inbox::Item item = state_->inbox->Take(deadline);
    if (item.event) {
      if (item.event->kind != WatchEvent::Kind::kReady) {
        state_->inbox->set_last_revision(item.event->revision);
      }
      return item.event;
    }
    if (item.tasks) {
      // Work no gRPC thread ran: run the session here; it may release events.
      absl::MutexLock lock(state_->inbox->run_mu());
      state_->inbox->RunTasks();
      continue;
    }
    if (item.end) {
      state_->CancelSession();  // every shard stream stops; idempotent
      return *item.end;
    }
    return std::optional<WatchEvent>();  // nothing within timeout_ms
  }
}

void WatchStream::Cancel() {
  state_->inbox->End(absl::CancelledError("watch cancelled"), /*drop_events=*/true);
  state_->CancelSession();
}

uint64_t WatchStream::last_revision() const { return state_->inbox->last_revision(); }

}  // namespace beyondkv
