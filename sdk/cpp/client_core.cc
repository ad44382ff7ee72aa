#include "sdk/cpp/client_core.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/socket_paths.h"
#include "gateway/shardlink/batch.h"
#include "gateway/shardlink/router.h"

namespace beyondkv::sdk {

absl::Status OpStatus(const v1::OpResult& result) {
  const std::string& message = result.message();
  switch (result.code()) {
    case v1::OpResult::OK:
      return absl::OkStatus();
    case v1::OpResult::NOT_FOUND:
      return absl::NotFoundError(message.empty() ? "no such key" : message);
    case v1::OpResult::CONDITION_FAILED:
      return absl::FailedPreconditionError(
          message.empty() ? "condition failed: the key's revision differs" : message);
    case v1::OpResult::INVALID_ARGUMENT:
      switch (result.reason()) {
        case v1::OpResult::NOT_INTEGER:
          return absl::InvalidArgumentError("value is not an integer or out of range");
        case v1::OpResult::INT_OVERFLOW:
          return absl::OutOfRangeError("increment or decrement would overflow");
        default:
          return absl::InvalidArgumentError(message);
      }
    case v1::OpResult::INTERNAL:
    default:
      switch (result.reason()) {
        case v1::OpResult::SHARD_UNAVAILABLE:
          return absl::UnavailableError(message);
        case v1::OpResult::NO_SPACE:
          return absl::ResourceExhaustedError(message);
        default:
          return absl::InternalError(message);
      }
  }
}

ClientCore::ClientCore(const std::string& socket_dir, uint32_t shard_count,
                       const ClientOptions& options)
    : options_(options) {
  LaneLimits limits;
  limits.max_batch_items = std::max<size_t>(1, options.max_batch_items);
  limits.max_queued_items = std::max<size_t>(1, options.max_queued_items);
  limits.call_timeout_ms = options.timeout_ms;
  for (uint32_t i = 0; i < shard_count; ++i) {
    clients_.push_back(
        std::make_unique<shardlink::ShardClient>(i, ShardSocketPath(socket_dir, i)));
    lanes_.push_back(std::make_unique<ShardLane>(clients_.back().get(), limits));
  }
  nudger_ = std::thread([this] { NudgeLoop(); });
}

ClientCore::~ClientCore() {
  {
    absl::MutexLock lock(&nudge_mu_);
    stop_ = true;
  }
  nudger_.join();
  // Lanes before the clients their calls use; each lane waits for its call in flight.
  lanes_.clear();
  clients_.clear();
}

uint32_t ClientCore::ShardOf(std::string_view key) const {
  return shardlink::ShardForKey(key, shard_count());
}

namespace {

// One blocking wait for several submissions, bounded by a deadline: answers that arrive after
// it (the waiter is gone) write into this shared state and nothing else.
struct Waiter {
  absl::Mutex mu;
  std::vector<OpResults> results ABSL_GUARDED_BY(mu);
  size_t remaining ABSL_GUARDED_BY(mu) = 0;
};

}  // namespace

std::vector<OpResults> ClientCore::ExecuteAll(
    std::vector<std::pair<uint32_t, std::vector<v1::Op>>> calls) {
  const absl::Time deadline = absl::Now() + absl::Milliseconds(options_.timeout_ms);
  auto waiter = std::make_shared<Waiter>();
  {
    absl::MutexLock lock(&waiter->mu);
    waiter->results.assign(calls.size(), absl::UnknownError("not answered"));
    waiter->remaining = calls.size();
  }
  for (size_t i = 0; i < calls.size(); ++i) {
    const uint32_t shard = calls[i].first;
    absl::Status queued = lanes_[shard]->Submit(
        std::move(calls[i].second),
        [this, waiter, i](OpResults results) {
          {
            absl::MutexLock lock(&waiter->mu);
            waiter->results[i] = std::move(results);
            --waiter->remaining;
          }
          // The lane stays in flight until this returns, so the core is still alive.
          NoteAnswer();
        },
        deadline);
    if (!queued.ok()) {
      absl::MutexLock lock(&waiter->mu);
      waiter->results[i] = std::move(queued);
      --waiter->remaining;
    }
  }
  absl::MutexLock lock(&waiter->mu);
  auto answered = [&waiter]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(waiter->mu) {
    return waiter->remaining == 0;
  };
  if (waiter->mu.AwaitWithDeadline(absl::Condition(&answered), deadline)) {
    return std::move(waiter->results);  // every answer is in: nothing writes here any more
  }
  // Late answers will still write into waiter->results: hand out a copy.
  std::vector<OpResults> results = waiter->results;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].status().code() == absl::StatusCode::kUnknown) {
      results[i] = absl::DeadlineExceededError(absl::StrCat(
          "shard ", calls[i].first, " did not answer within ", options_.timeout_ms, " ms"));
    }
  }
  return results;
}

OpResults ClientCore::Execute(uint32_t shard, std::vector<v1::Op> ops) {
  std::vector<std::pair<uint32_t, std::vector<v1::Op>>> calls;
  calls.emplace_back(shard, std::move(ops));
  return std::move(ExecuteAll(std::move(calls))[0]);
}

ClientStats ClientCore::Stats() const {
  ClientStats stats;
  for (const std::unique_ptr<ShardLane>& lane : lanes_) {
    const ShardLane::Counts counts = lane->counts();
    stats.batches_sent += counts.batches;
    stats.ops_sent += counts.ops;
  }
  return stats;
}

void ClientCore::NoteAnswer() {
  if (nudge_wanted_.load(std::memory_order_relaxed)) return;  // the nudger will look anyway
  absl::MutexLock lock(&nudge_mu_);
  wake_ = true;
  nudge_wanted_.store(true, std::memory_order_relaxed);
}

void ClientCore::NudgeLoop() {
  absl::MutexLock lock(&nudge_mu_);
  for (;;) {
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(nudge_mu_) { return wake_ || stop_; };
    nudge_mu_.Await(absl::Condition(&woken));
    if (stop_) return;
    wake_ = false;
    nudge_wanted_.store(false, std::memory_order_relaxed);

    nudge_mu_.Unlock();
    const absl::Time now = absl::Now();
    const uint64_t observed = shardlink::ObservedRevision();
    absl::Time owed = absl::InfiniteFuture();
    for (const std::unique_ptr<ShardLane>& lane : lanes_) {
      owed = std::min(owed, lane->NudgeIfIdle(observed, now));
    }
    nudge_mu_.Lock();

    // At most one pass per interval: answers that come meanwhile are looked at after it.
    auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(nudge_mu_) { return stop_; };
    nudge_mu_.AwaitWithDeadline(absl::Condition(&stopped), now + ShardLane::kNudgeInterval);
    if (owed != absl::InfiniteFuture()) wake_ = true;  // a nudge held back by the rate limit
  }
}

}  // namespace beyondkv::sdk
