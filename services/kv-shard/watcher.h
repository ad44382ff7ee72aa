// The shard side of WATCH / PWATCH (architecture §6): one server-streaming Watch call.
//
// The engine thread feeds it (replay or initial values, READY, live changes, watermarks)
// through Push(); gRPC writes one event at a time. The queue is bounded: a watcher that falls
// kMaxQueuedEvents behind is finished with RESOURCE_EXHAUSTED (it can resume with SINCE), so a
// slow reader never grows the shard's memory without bound nor slows its writers.
//
// Thread-safety: Push() and Finish*() from the engine thread; the reactor callbacks from gRPC
// threads; both sides meet under mu_. Lifetime: the reactor deletes itself in OnDone; the
// engine thread holds a WatcherHandle, which stops forwarding once the reactor is done.
#ifndef BEYONDKV_SERVICES_KV_SHARD_WATCHER_H_
#define BEYONDKV_SERVICES_KV_SHARD_WATCHER_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "proto/shard.pb.h"

namespace beyondkv::shard {

class WatchReactor;

// What the engine thread keeps of a watcher: its request and a way to reach the stream.
class WatcherHandle {
 public:
  static constexpr size_t kMaxQueuedEvents = 100000;

  explicit WatcherHandle(v1::WatchRequest request) : request_(std::move(request)) {}

  const v1::WatchRequest& request() const { return request_; }

  // Whether `key` is watched (an exact key or under a prefix).
  bool Matches(const std::string& key) const;

  // Queues an event; returns false once the stream is gone (the caller drops the handle).
  bool Push(v1::WatchEvent event);

  // Ends the stream with `status` (replay floor, shutdown).
  void Finish(const grpc::Status& status);

  bool done();

  // Events queued and not yet written to the stream (flow control of replays).
  size_t queued();

 private:
  friend class WatchReactor;

  const v1::WatchRequest request_;
  absl::Mutex mu_;
  WatchReactor* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;  // null once done
  std::deque<v1::WatchEvent> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;  // no more events; Finish once idle
  bool finished_ ABSL_GUARDED_BY(mu_) = false;   // Finish was called
  grpc::Status status_ ABSL_GUARDED_BY(mu_);     // what to finish with

  // Marks the stream finishing with `status` and finishes it now if no write is in flight.
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
};

class WatchReactor : public grpc::ServerWriteReactor<v1::WatchEvent> {
 public:
  explicit WatchReactor(std::shared_ptr<WatcherHandle> handle);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  friend class WatcherHandle;
  // Starts writing the queue's front if idle. Requires handle_->mu_.
  void MaybeWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(handle_->mu_);

  std::shared_ptr<WatcherHandle> handle_;
  v1::WatchEvent writing_event_;
};

}  // namespace beyondkv::shard

#endif  // BEYONDKV_SERVICES_KV_SHARD_WATCHER_H_
