#include "gateway/http/shard_hop.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "common/socket_paths.h"
#include "gateway/shardlink/router.h"

namespace beyondkv::gateway::http {
namespace {

// A coalesced call stops growing at these sizes (one submission larger than that goes alone):
// large enough to amortize the hop, small enough that one call does not hold up the others.
constexpr int kMaxOpsPerCall = 1024;
constexpr size_t kMaxBytesPerCall = 1 << 20;

size_t OpBytes(const v1::Op& op) {
  return op.key().size() + op.value().size() + op.metadata().size();
}

absl::Status FromGrpc(uint32_t shard, const grpc::Status& status) {
  const std::string detail = status.error_message();
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError(absl::StrCat("shard ", shard, " did not answer in time"));
  }
  return absl::UnavailableError(absl::StrCat("shard ", shard, " unavailable: ", detail));
}

}  // namespace

ShardHop::ShardHop(const std::string& socket_dir, uint32_t shard_count, uint32_t max_inflight,
                   const std::string& transport)
    : max_inflight_(std::max<uint32_t>(1, max_inflight)) {
  for (uint32_t i = 0; i < shard_count; ++i) {
    auto lane = std::make_unique<Lane>();
    lane->client = std::make_unique<shardlink::ShardClient>(i, ShardSocketPath(socket_dir, i));
    lanes_.push_back(std::move(lane));
  }
  if (transport == "link") link_ = std::make_unique<shardlink::LinkClient>(socket_dir, shard_count);
}

ShardHop::~ShardHop() = default;

namespace {

// A submission's results from the link: the unavailability of the shard (every op failed
// with SHARD_UNAVAILABLE) becomes the UNAVAILABLE status the gRPC transport gives.
ShardResults FromLink(std::vector<v1::OpResult> results) {
  for (const v1::OpResult& r : results) {
    if (r.reason() == v1::OpResult::SHARD_UNAVAILABLE) return absl::UnavailableError(r.message());
  }
  return results;
}

// One blocking wait for several submissions, bounded by a deadline: callbacks that arrive
// after it (the waiter is gone) write into this shared state and nothing else.
struct Waiter {
  absl::Mutex mu;
  std::vector<ShardResults> results;
  size_t remaining = 0;
};

}  // namespace

uint32_t ShardHop::ShardOf(std::string_view key) const { return shardlink::ShardForKey(key, shard_count()); }

void ShardHop::Submit(uint32_t shard, std::vector<v1::Op> ops, Done done) {
  if (link_ != nullptr) {
    link_->Submit(shard, std::move(ops), [done = std::move(done)](std::vector<v1::OpResult> r) {
      done(FromLink(std::move(r)));
    });
    return;
  }
  Lane& lane = *lanes_[shard];
  {
    absl::MutexLock lock(&lane.mu);
    lane.queue.push_back(Pending{std::move(ops), std::move(done)});
  }
  Pump(shard);
}

void ShardHop::Pump(uint32_t shard) {
  Lane& lane = *lanes_[shard];
  for (;;) {
    auto request = std::make_unique<v1::BatchRequest>();
    // (ops in the call, completion) per coalesced submission, in request order.
    auto parts = std::make_shared<std::vector<std::pair<int, Done>>>();
    {
      absl::MutexLock lock(&lane.mu);
      if (lane.in_flight >= max_inflight_ || lane.queue.empty()) return;
      size_t bytes = 0;
      while (!lane.queue.empty()) {
        Pending& next = lane.queue.front();
        size_t next_bytes = 0;
        for (const v1::Op& op : next.ops) next_bytes += OpBytes(op);
        if (!parts->empty() && (request->ops_size() + next.ops.size() > kMaxOpsPerCall ||
                                bytes + next_bytes > kMaxBytesPerCall)) {
          break;
        }
        bytes += next_bytes;
        for (v1::Op& op : next.ops) *request->add_ops() = std::move(op);
        parts->emplace_back(static_cast<int>(next.ops.size()), std::move(next.done));
        lane.queue.pop_front();
      }
      ++lane.in_flight;
    }
    lane.client->Execute(std::move(request), [this, shard, parts](const grpc::Status& status,
                                                                  v1::BatchResponse* response) {
      // On a gRPC thread: hand every submission its slice, then send what queued meanwhile.
      int next = 0;
      for (auto& [count, done] : *parts) {
        if (!status.ok()) {
          done(FromGrpc(shard, status));
        } else if (next + count > response->results_size()) {
          done(absl::InternalError(absl::StrCat("shard ", shard, " answered a short batch")));
        } else {
          std::vector<v1::OpResult> results;
          results.reserve(count);
          for (int i = 0; i < count; ++i)
            results.push_back(std::move(*response->mutable_results(next + i)));
          done(std::move(results));
        }
        next += count;
      }
      {
        absl::MutexLock lock(&lanes_[shard]->mu);
        --lanes_[shard]->in_flight;
      }
      Pump(shard);
    });
  }
}

ShardResults ShardHop::Execute(uint32_t shard, std::vector<v1::Op> ops) {
  std::vector<std::pair<uint32_t, std::vector<v1::Op>>> calls;
  calls.emplace_back(shard, std::move(ops));
  return std::move(ExecuteAll(std::move(calls))[0]);
}

std::vector<ShardResults> ShardHop::ExecuteAll(
    std::vector<std::pair<uint32_t, std::vector<v1::Op>>> calls) {
  auto waiter = std::make_shared<Waiter>();
  waiter->results.assign(calls.size(), absl::UnknownError("not answered"));
  waiter->remaining = calls.size();
  std::vector<uint32_t> shards;
  for (size_t i = 0; i < calls.size(); ++i) {
    shards.push_back(calls[i].first);
    Submit(calls[i].first, std::move(calls[i].second), [waiter, i](ShardResults r) {
      absl::MutexLock lock(&waiter->mu);
      waiter->results[i] = std::move(r);
      --waiter->remaining;
    });
  }
  // The gRPC transport has its own deadline; the link fails fast when a shard goes away but
  // a shard that hangs (stopped, deadlocked) must not hold an HTTP worker forever.
  absl::MutexLock lock(&waiter->mu);
  auto answered = [&waiter]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(waiter->mu) {
    return waiter->remaining == 0;
  };
  if (!waiter->mu.AwaitWithTimeout(absl::Condition(&answered), absl::Seconds(35))) {
    for (size_t i = 0; i < waiter->results.size(); ++i) {
      if (waiter->results[i].status().code() == absl::StatusCode::kUnknown) {
        waiter->results[i] = absl::DeadlineExceededError(
            absl::StrCat("shard ", shards[i], " did not answer in time"));
      }
    }
  }
  return waiter->results;
}

std::vector<absl::StatusOr<v1::OpResult>> ShardHop::Broadcast(v1::Op::Type type, uint32_t ns,
                                                              int64_t deadline_ms) {
  const uint32_t n = shard_count();
  if (link_ != nullptr) return BroadcastOverLink(type, ns, deadline_ms);
  std::vector<absl::StatusOr<v1::OpResult>> results(n, absl::UnknownError("not answered"));
  absl::BlockingCounter pending(static_cast<int>(n));
  for (uint32_t i = 0; i < n; ++i) {
    auto request = std::make_unique<v1::BatchRequest>();
    v1::Op* op = request->add_ops();
    op->set_type(type);
    op->set_ns(ns);
    lanes_[i]->client->Execute(
        std::move(request),
        [&results, &pending, i](const grpc::Status& status, v1::BatchResponse* response) {
          if (!status.ok()) {
            results[i] = FromGrpc(i, status);
          } else if (response->results_size() != 1) {
            results[i] = absl::InternalError(absl::StrCat("shard ", i, " answered a short batch"));
          } else {
            results[i] = std::move(*response->mutable_results(0));
          }
          pending.DecrementCount();
        },
        deadline_ms);
  }
  pending.Wait();
  return results;
}

std::vector<absl::StatusOr<v1::OpResult>> ShardHop::BroadcastOverLink(v1::Op::Type type,
                                                                      uint32_t ns,
                                                                      int64_t deadline_ms) {
  const uint32_t n = shard_count();
  struct State {
    absl::Mutex mu;
    std::vector<absl::StatusOr<v1::OpResult>> results;
    uint32_t remaining = 0;
  };
  auto state = std::make_shared<State>();
  state->results.assign(n, absl::DeadlineExceededError("not answered in time"));
  state->remaining = n;
  for (uint32_t i = 0; i < n; ++i) {
    std::vector<v1::Op> ops(1);
    ops[0].set_type(type);
    ops[0].set_ns(ns);
    link_->Submit(i, std::move(ops), [state, i](std::vector<v1::OpResult> r) {
      ShardResults results = FromLink(std::move(r));
      absl::MutexLock lock(&state->mu);
      if (!results.ok()) {
        state->results[i] = results.status();
      } else if (results->size() != 1) {
        state->results[i] = absl::InternalError(absl::StrCat("shard ", i, " answered a short batch"));
      } else {
        state->results[i] = std::move((*results)[0]);
      }
      --state->remaining;
    });
  }
  absl::MutexLock lock(&state->mu);
  auto answered = [&state]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) {
    return state->remaining == 0;
  };
  state->mu.AwaitWithTimeout(absl::Condition(&answered), absl::Milliseconds(deadline_ms));
  for (uint32_t i = 0; i < n; ++i) {
    if (state->results[i].status().code() == absl::StatusCode::kDeadlineExceeded) {
      state->results[i] = absl::DeadlineExceededError(absl::StrCat("shard ", i, " did not answer in time"));
    }
  }
  return state->results;
}

}  // namespace beyondkv::gateway::http
