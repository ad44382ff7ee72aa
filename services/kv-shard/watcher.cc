#include "services/kv-shard/watcher.h"

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace beyondkv::shard {

bool WatcherHandle::Matches(const std::string& key) const {
  for (const std::string& k : request_.keys()) {
    if (k == key) return true;
  }
  for (const std::string& p : request_.prefixes()) {
    if (key.compare(0, p.size(), p) == 0) return true;
  }
  return false;
}

void WatcherHandle::FinishLocked(const grpc::Status& status) {
  if (!finishing_) {
    finishing_ = true;
    status_ = status;
    queue_.clear();
  }
  if (!writing_ && !finished_ && reactor_ != nullptr) {
    finished_ = true;
    reactor_->Finish(status_);
  }
}

bool WatcherHandle::Push(v1::WatchEvent event) {
  absl::MutexLock lock(&mu_);
  if (reactor_ == nullptr || finishing_) return false;
  if (queue_.size() >= kMaxQueuedEvents) {
    FinishLocked(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        "watcher fell more than 100000 events behind and was cut off: resume with SINCE"));
    return false;
  }
  queue_.push_back(std::move(event));
  reactor_->MaybeWrite();
  return true;
}

void WatcherHandle::Finish(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  if (reactor_ != nullptr) FinishLocked(status);
}

size_t WatcherHandle::queued() {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

bool WatcherHandle::done() {
  absl::MutexLock lock(&mu_);
  return reactor_ == nullptr || finishing_;
}

WatchReactor::WatchReactor(std::shared_ptr<WatcherHandle> handle) : handle_(std::move(handle)) {
  absl::MutexLock lock(&handle_->mu_);
  handle_->reactor_ = this;
}

void WatchReactor::MaybeWrite() {
  if (handle_->writing_ || handle_->queue_.empty() || handle_->finishing_) return;
  handle_->writing_ = true;
  writing_event_ = std::move(handle_->queue_.front());
  handle_->queue_.pop_front();
  StartWrite(&writing_event_);
}

void WatchReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&handle_->mu_);
  handle_->writing_ = false;
  if (!ok) {
    handle_->FinishLocked(grpc::Status::CANCELLED);
  } else if (handle_->finishing_) {
    handle_->FinishLocked(handle_->status_);
  } else {
    MaybeWrite();
  }
}

void WatchReactor::OnCancel() {
  absl::MutexLock lock(&handle_->mu_);
  handle_->FinishLocked(grpc::Status::CANCELLED);
}

void WatchReactor::OnDone() {
  {
    absl::MutexLock lock(&handle_->mu_);
    handle_->reactor_ = nullptr;
    handle_->queue_.clear();
  }
  delete this;
}

}  // namespace beyondkv::shard
