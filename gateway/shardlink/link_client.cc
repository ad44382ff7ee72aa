#include "gateway/shardlink/link_client.h"

#include <glog/logging.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/time/clock.h"
#include "common/socket_paths.h"

namespace beyondkv::shardlink {
namespace {

constexpr uint64_t kWakeTag = ~0ull;

// What one submission waits for: its results, filled as the ops answer.
struct Gather {
  std::vector<v1::OpResult> results;
  size_t remaining = 0;
  LinkClient::Done done;
};

}  // namespace

LinkClient::LinkClient(const std::string& socket_dir, uint32_t shard_count)
    : epoll_(kWakeTag), batcher_(shard_count) {
  for (uint32_t i = 0; i < shard_count; ++i) {
    LinkLane::Options options;
    options.shard = i;
    options.shard_count = shard_count;
    options.socket_path = ShardLinkPath(socket_dir, i);
    lanes_.push_back(std::make_unique<LinkLane>(options, epoll_.fd(), i));
  }
  thread_ = std::thread([this] { Run(); });
}

LinkClient::~LinkClient() {
  stop_.store(true);
  Wake();
  thread_.join();
  lanes_.clear();  // fails what is in flight
  std::vector<Submission> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(inbox_);
  }
  for (Submission& s : left) {
    v1::OpResult failed;
    failed.set_code(v1::OpResult::INTERNAL);
    failed.set_message("shard " + std::to_string(s.shard) + " unavailable: gateway shutting down");
    s.done(std::vector<v1::OpResult>(s.ops.size(), failed));
  }
}

void LinkClient::Wake() { epoll_.Wake(); }

void LinkClient::Submit(uint32_t shard, std::vector<v1::Op> ops, Done done) {
  bool was_empty;
  {
    absl::MutexLock lock(&mu_);
    was_empty = inbox_.empty();
    inbox_.push_back(Submission{shard, std::move(ops), std::move(done)});
  }
  if (was_empty) Wake();
}

void LinkClient::Run() {
  epoll_event events[64];
  std::vector<Submission> inbox;
  int timeout_ms = 0;
  while (!stop_.load()) {
    const int n = epoll_wait(epoll_.fd(), events, 64, timeout_ms);
    if (n < 0 && errno != EINTR) PLOG(FATAL) << "epoll_wait";
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag) {
        epoll_.Drain();
      } else {
        lanes_[tag]->OnEvent(events[i].events);
      }
    }
    {
      absl::MutexLock lock(&mu_);
      inbox.swap(inbox_);
    }
    for (Submission& s : inbox) {
      batcher_.CloseFull();  // a submission's ops never straddle two batches
      if (s.ops.empty()) {
        s.done({});
        continue;
      }
      auto gather = std::make_shared<Gather>();
      gather->results.resize(s.ops.size());
      gather->remaining = s.ops.size();
      gather->done = std::move(s.done);
      for (size_t i = 0; i < s.ops.size(); ++i) {
        batcher_.Add(s.shard, std::move(s.ops[i]), [gather, i](v1::OpResult& result) {
          gather->results[i] = std::move(result);
          if (--gather->remaining == 0) gather->done(std::move(gather->results));
        });
      }
    }
    inbox.clear();
    const absl::Time now = absl::Now();
    if (batcher_.WantsNudge()) batcher_.NudgeIdleShards(absl::ToUnixNanos(now));
    absl::Time next = now + absl::Seconds(1);
    for (uint32_t shard = 0; shard < lanes_.size(); ++shard) {
      LinkLane& lane = *lanes_[shard];
      if (!lane.connected()) next = std::min(next, lane.Maintain(now));
      lane.SendFrom(batcher_);
    }
    timeout_ms = static_cast<int>(std::clamp<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(next - now, absl::Milliseconds(1))), 0, 1000));
    if (batcher_.WantsNudge()) timeout_ms = std::min(timeout_ms, 1);  // owed a nudge
  }
}

}  // namespace beyondkv::shardlink
