#include "sdk/cpp/shard_lane.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/shardlink/batch.h"

namespace beyondkv::sdk {
namespace {

size_t OpItems(const v1::Op& op) { return op.keys_size() > 0 ? op.keys_size() : 1; }

size_t OpBytes(const v1::Op& op) {
  size_t bytes = op.key().size() + op.value().size() + op.metadata().size();
  for (const std::string& k : op.keys()) bytes += k.size();
  for (const std::string& v : op.values()) bytes += v.size();
  return bytes;
}

absl::Status FromGrpc(uint32_t shard, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError(absl::StrCat("shard ", shard, " did not answer in time"));
  }
  return absl::UnavailableError(
      absl::StrCat("shard ", shard, " unavailable: ", status.error_message()));
}

}  // namespace

ShardLane::ShardLane(shardlink::ShardClient* client, LaneLimits limits)
    : client_(client), limits_(limits) {}

ShardLane::~ShardLane() { Drain(); }

absl::Status ShardLane::Submit(std::vector<v1::Op> ops, LaneDone done, absl::Time deadline) {
  Pending pending;
  for (const v1::Op& op : ops) {
    pending.items += OpItems(op);
    pending.bytes += OpBytes(op);
  }
  pending.op_count = static_cast<int>(ops.size());
  pending.ops = std::move(ops);
  pending.done = std::move(done);
  {
    absl::MutexLock lock(&mu_);
    const size_t items = pending.items;
    auto room = [this, items]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return queued_items_ == 0 || queued_items_ + items <= limits_.max_queued_items;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&room), deadline)) {
      return absl::DeadlineExceededError(absl::StrCat(
          "shard ", shard(), " did not take the request in time: ", queued_items_,
          " items queued (the client's limit is ", limits_.max_queued_items, ")"));
    }
    queued_items_ += pending.items;
    queue_.push_back(std::move(pending));
    if (in_flight_) return absl::OkStatus();  // leaves with the next batch
  }
  Pump();
  return absl::OkStatus();
}

void ShardLane::TakeBatch(v1::BatchRequest* request, Parts* parts) {
  size_t items = 0;
  size_t bytes = 0;
  while (!queue_.empty()) {
    Pending& next = queue_.front();
    if (!parts->empty() && (items + next.items > limits_.max_batch_items ||
                            bytes + next.bytes > limits_.max_batch_bytes)) {
      break;
    }
    items += next.items;
    bytes += next.bytes;
    queued_items_ -= next.items;
    for (v1::Op& op : next.ops) *request->add_ops() = std::move(op);
    next.ops.clear();
    parts->push_back(std::move(next));
    queue_.pop_front();
  }
  in_flight_ = true;
  ++counts_.batches;
  counts_.ops += static_cast<uint64_t>(request->ops_size());
  // ShardClient::Execute stamps the process's observed revision: at least this one.
  sent_observed_ = shardlink::ObservedRevision();
}

void ShardLane::Pump() {
  auto request = std::make_unique<v1::BatchRequest>();
  auto parts = std::make_shared<Parts>();
  {
    absl::MutexLock lock(&mu_);
    if (in_flight_ || queue_.empty()) return;
    TakeBatch(request.get(), parts.get());
  }
  Send(std::move(request), std::move(parts));
}

void ShardLane::Send(std::unique_ptr<v1::BatchRequest> request, std::shared_ptr<Parts> parts) {
  client_->Execute(
      std::move(request),
      [this, parts](const grpc::Status& status, v1::BatchResponse* response) {
        OnAnswered(status, response, parts.get());
      },
      limits_.call_timeout_ms);
}

void ShardLane::OnAnswered(const grpc::Status& status, v1::BatchResponse* response,
                           Parts* parts) {
  int next = 0;
  for (Pending& part : *parts) {
    const int n = part.op_count;
    if (!status.ok()) {
      part.done(FromGrpc(shard(), status));
    } else if (next + n > response->results_size()) {
      part.done(absl::InternalError(absl::StrCat("shard ", shard(), " answered a short batch")));
    } else {
      std::vector<v1::OpResult> results;
      results.reserve(n);
      for (int i = 0; i < n; ++i) {
        results.push_back(std::move(*response->mutable_results(next + i)));
      }
      part.done(std::move(results));
    }
    next += n;
  }
  auto request = std::make_unique<v1::BatchRequest>();
  auto more = std::make_shared<Parts>();
  {
    absl::MutexLock lock(&mu_);
    if (queue_.empty()) {
      in_flight_ = false;
      return;  // the lane may be destroyed from here on
    }
    TakeBatch(request.get(), more.get());
  }
  Send(std::move(request), std::move(more));
}

absl::Time ShardLane::NudgeIfIdle(uint64_t observed, absl::Time now) {
  {
    absl::MutexLock lock(&mu_);
    if (sent_observed_ >= observed) return absl::InfiniteFuture();  // the shard knows it
    // Busy: the next batch may carry it, else this lane is idle at the next look.
    if (in_flight_ || !queue_.empty()) return now + kNudgeInterval;
    if (now - last_nudge_ < kNudgeInterval) return last_nudge_ + kNudgeInterval;
    last_nudge_ = now;
    Pending ping;
    ping.ops.emplace_back().set_type(v1::Op::PING);
    ping.op_count = 1;
    ping.items = 1;
    ping.done = [](OpResults) {};
    queued_items_ += 1;
    queue_.push_back(std::move(ping));
  }
  Pump();
  return absl::InfiniteFuture();
}

ShardLane::Counts ShardLane::counts() {
  absl::MutexLock lock(&mu_);
  return counts_;
}

void ShardLane::Drain() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !in_flight_ && queue_.empty();
  };
  mu_.Await(absl::Condition(&idle));
}

}  // namespace beyondkv::sdk
