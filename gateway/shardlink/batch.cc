#include "gateway/shardlink/batch.h"

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"

namespace beyondkv::shardlink {

namespace {
std::atomic<uint64_t> g_observed_revision{0};
// Cleared OpResults whose repeated fields keep their allocated elements (TakenResult).
thread_local std::vector<std::unique_ptr<v1::OpResult>> t_result_pool;
}  // namespace

TakenResult& TakenResult::operator=(TakenResult&& other) noexcept {
  if (this != &other) {
    Reset();
    result_ = std::move(other.result_);
  }
  return *this;
}

void TakenResult::Take(v1::OpResult& from) {
  Reset();
  if (t_result_pool.empty()) {
    result_ = std::make_unique<v1::OpResult>();
  } else {
    result_ = std::move(t_result_pool.back());
    t_result_pool.pop_back();
  }
  result_->Swap(&from);
}

size_t TakenResult::PoolSize() { return t_result_pool.size(); }

void TakenResult::Reset() {
  if (result_ == nullptr) return;
  std::unique_ptr<v1::OpResult> result = std::move(result_);
  if (t_result_pool.size() >= kMaxPooled || result->values_size() > kMaxPooledValues) return;
  size_t bytes = 0;
  for (const std::string& value : result->values()) bytes += value.capacity();
  if (bytes > kMaxPooledBytes) return;
  result->Clear();
  t_result_pool.push_back(std::move(result));
}

uint64_t ObservedRevision() { return g_observed_revision.load(std::memory_order_relaxed); }

void ObserveRevision(uint64_t revision) {
  uint64_t seen = g_observed_revision.load(std::memory_order_relaxed);
  while (revision > seen &&
         !g_observed_revision.compare_exchange_weak(seen, revision, std::memory_order_relaxed)) {
  }
}

void FailOps(std::vector<OpDone>* done, const std::string& message,
             v1::OpResult::Reason reason) {
  v1::OpResult failed;
  failed.set_code(v1::OpResult::INTERNAL);
  failed.set_reason(reason);
  failed.set_message(message);
  for (OpDone& d : *done) {
    v1::OpResult result = failed;  // each callback may take from its own
    d(result);
  }
}

void DeliverResults(uint32_t shard, v1::BatchResponse& response,
                    std::vector<OpDone>* done) {
  ObserveRevision(response.high_revision());
  const size_t answered = static_cast<size_t>(response.results_size());
  for (size_t i = 0; i < done->size() && i < answered; ++i) {
    (*done)[i](*response.mutable_results(static_cast<int>(i)));
  }
  if (answered < done->size()) {
    std::vector<OpDone> rest(std::make_move_iterator(done->begin() + answered),
                             std::make_move_iterator(done->end()));
    FailOps(&rest, absl::StrCat("shard ", shard, " answered a short batch"),
            v1::OpResult::REASON_UNSPECIFIED);
  }
}

v1::Op* Batcher::Add(uint32_t shard, OpDone done) {
  Queue& q = queues_[shard];
  if (q.next.request == nullptr) {
    q.next.request = q.spare != nullptr ? std::move(q.spare) : std::make_unique<v1::BatchRequest>();
    if (q.next.done.capacity() == 0 && !q.spare_done.empty()) {
      q.next.done.swap(q.spare_done.back());
      q.spare_done.pop_back();
    }
  }
  q.next.done.push_back(std::move(done));
  return q.next.request->add_ops();
}

void Batcher::CloseFull() {
  for (Queue& q : queues_) {
    if (q.next.request == nullptr) continue;
    // Ops are filled after Add() returns them: count their bytes here, once each.
    for (int i = q.next.counted; i < q.next.request->ops_size(); ++i) {
      const v1::Op& op = q.next.request->ops(i);
      q.next.bytes += op.key().size() + op.value().size() + op.new_key().size();
      for (const std::string& k : op.keys()) q.next.bytes += k.size();
      for (const std::string& v : op.values()) q.next.bytes += v.size();
    }
    q.next.counted = q.next.request->ops_size();
    if (q.next.request->ops_size() < kMaxBatchOps && q.next.bytes < kMaxBatchBytes) continue;
    q.full.push_back(std::move(q.next));
    q.next = Batch();
  }
}

uint64_t Batcher::UntakenBytes() const {
  uint64_t bytes = 0;
  for (const Queue& q : queues_) {
    bytes += q.next.bytes;
    for (const Batch& b : q.full) bytes += b.bytes;
  }
  return bytes;
}

bool Batcher::HasBatch(uint32_t shard) const {
  const Queue& q = queues_[shard];
  return !q.full.empty() || (q.next.request != nullptr && q.next.request->ops_size() > 0);
}

Batch Batcher::Take(uint32_t shard) {
  Queue& q = queues_[shard];
  Batch batch;
  if (!q.full.empty()) {
    batch = std::move(q.full.front());
    q.full.pop_front();
  } else {
    batch = std::move(q.next);
    q.next = Batch();
  }
  q.sent_observed = ObservedRevision();
  q.taken = true;
  batch.request->set_observed_revision(q.sent_observed);
  return batch;
}

bool Batcher::WantsNudge() const {
  const uint64_t observed = ObservedRevision();
  for (uint32_t shard = 0; shard < queues_.size(); ++shard) {
    if (queues_[shard].sent_observed < observed && !HasBatch(shard)) return true;
  }
  return false;
}

void Batcher::NudgeIdleShards(int64_t now_ns) {
  const uint64_t observed = ObservedRevision();
  for (uint32_t shard = 0; shard < queues_.size(); ++shard) {
    Queue& q = queues_[shard];
    if (q.taken) {
      q.taken = false;
      q.last_sent_ns = now_ns;
    }
    if (q.sent_observed >= observed || HasBatch(shard)) continue;
    if (now_ns - q.last_sent_ns < kNudgeIntervalNs) continue;
    q.last_sent_ns = now_ns;
    Add(shard, [](v1::OpResult&) {})->set_type(v1::Op::PING);
  }
}

void Batcher::GiveRequest(uint32_t shard, std::unique_ptr<v1::BatchRequest> request) {
  Queue& q = queues_[shard];
  if (q.spare == nullptr) q.spare = std::move(request);
}

bool Batcher::GiveDoneStorage(uint32_t shard, std::vector<OpDone>* done) {
  Queue& q = queues_[shard];
  if (q.spare_done.size() >= kMaxSpareDone || done->capacity() == 0) return false;
  done->clear();
  q.spare_done.emplace_back().swap(*done);
  return true;
}

}  // namespace beyondkv::shardlink
