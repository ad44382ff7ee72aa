// Batches of shard ops and the one batcher both gateways use (architecture §3).
//
// A Batch is the ops bound for one shard and, in the same order, the callbacks that receive
// their results. The Batcher keeps, per shard, the batch being filled and the closed batches
// waiting to be sent: a batch closes once it holds kMaxBatchOps ops or kMaxBatchBytes of
// keys and values, at a command boundary (CloseFull() is called before each command), so a
// command's ops for one shard always travel in one batch and the shard applies them
// atomically. Batches leave in the order they were filled, so each client's commands reach
// each shard in the order it sent them.
//
// Thread contract: not thread-safe; one thread (a RESP I/O loop, the HTTP gateway's link
// thread) owns a Batcher and runs every callback.
#ifndef BEYONDKV_GATEWAY_SHARDLINK_BATCH_H_
#define BEYONDKV_GATEWAY_SHARDLINK_BATCH_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proto/shard.pb.h"

namespace beyondkv::shardlink {

// Receives one op's result. A shard that cannot be reached yields code INTERNAL with a
// message "shard <i> unavailable: ...".
// The result is the callback's to take from (it may move values out).
using OpDone = std::function<void(v1::OpResult&)>;

struct Batch {
  std::unique_ptr<v1::BatchRequest> request;
  std::vector<OpDone> done;  // done[i] receives the result of request->ops(i)
  uint64_t bytes = 0;        // keys and values of the first `counted` ops, for the limits
  int counted = 0;
};

// Fails every callback of `done` with an INTERNAL result carrying `message` and `reason`
// (by default SHARD_UNAVAILABLE: the shard could not be reached or did not answer).
void FailOps(std::vector<OpDone>* done, const std::string& message,
             v1::OpResult::Reason reason = v1::OpResult::SHARD_UNAVAILABLE);

// Hands each callback of `done` its result from `response`, in order; callbacks beyond the
// response's results (a short answer) fail with "shard <i> answered a short batch".
void DeliverResults(uint32_t shard, v1::BatchResponse& response,
                    std::vector<OpDone>* done);

// An OpResult taken out of a shard's response for later (MGET keeps each shard's result until
// all have answered). Taking swaps the result with a cleared one from a per-thread pool, so
// the response message, parsed again for the next batch, reuses that one's value strings
// instead of allocating one per value; destroying or Reset()ing hands this one back, cleared.
// Results holding more than kMaxPooledValues values or kMaxPooledBytes of them are freed, not
// pooled, so one huge MGET does not pin its memory. Thread contract: taken, read and released
// on one thread (a gateway I/O thread); not copyable.
class TakenResult {
 public:
  static constexpr int kMaxPooledValues = 1024;
  static constexpr size_t kMaxPooledBytes = 64u << 10;
  static constexpr size_t kMaxPooled = 64;  // per thread

  TakenResult() = default;
  ~TakenResult() { Reset(); }
  TakenResult(TakenResult&& other) noexcept : result_(std::move(other.result_)) {}
  TakenResult& operator=(TakenResult&& other) noexcept;
  TakenResult(const TakenResult&) = delete;
  TakenResult& operator=(const TakenResult&) = delete;

  // Takes `from`'s contents (it is left cleared, with pooled storage).
  void Take(v1::OpResult& from);
  // Whether Take() ran (and Reset() did not since).
  bool has_value() const { return result_ != nullptr; }
  // Requires has_value().
  const v1::OpResult& operator*() const { return *result_; }
  const v1::OpResult* operator->() const { return result_.get(); }
  // Returns the result to the pool (or frees it); has_value() is false after.
  void Reset();
  // Results in this thread's pool.
  static size_t PoolSize();

 private:
  std::unique_ptr<v1::OpResult> result_;
};

// Causality across shards (ARCHITECTURE.md §6): the highest revision this gateway process
// has received from any shard (and so may have handed to a client). Every batch carries it as
// observed_revision, so a shard never assigns a revision at or below one a client has seen.
// Thread-safe (one atomic per process; relaxed: a result is observed before its callback
// runs, and the callback's thread is the one that later sends the client's next command).
uint64_t ObservedRevision();
void ObserveRevision(uint64_t revision);

class Batcher {
 public:
  static constexpr int kMaxBatchOps = 8192;
  static constexpr uint64_t kMaxBatchBytes = 16ull << 20;

  explicit Batcher(uint32_t shard_count) : queues_(shard_count) {}

  uint32_t shard_count() const { return static_cast<uint32_t>(queues_.size()); }

  // Appends an op to the batch being filled for `shard` and returns it, cleared, for the
  // caller to fill (before the next CloseFull()). Its storage (the Op and its strings) is
  // reused from earlier batches: no allocation per op in the steady state.
  v1::Op* Add(uint32_t shard, OpDone done);
  // Appends `op` (moved in).
  void Add(uint32_t shard, v1::Op op, OpDone done) { *Add(shard, std::move(done)) = std::move(op); }

  // Closes every batch past a limit (call at a command boundary, before a command's ops).
  void CloseFull();

  // Bytes of keys and values in the batches not yet taken (as counted by CloseFull()).
  uint64_t UntakenBytes() const;

  // Whether `shard` has a batch to send (closed, or being filled with at least one op).
  bool HasBatch(uint32_t shard) const;

  // Takes the oldest batch of `shard` (closed first, then the one being filled), stamped with
  // ObservedRevision(). Requires HasBatch(shard).
  Batch Take(uint32_t shard);

  // Storage for the next batch of `shard`: a cleared request to reuse (optional).
  void GiveRequest(uint32_t shard, std::unique_ptr<v1::BatchRequest> request);
  // Likewise an emptied callback vector (a delivered batch's `done`), so that the next
  // batches' callbacks are stored without allocating. Taken (by swapping with *done, which is
  // left without storage) while `shard` holds fewer than kMaxSpareDone; returns whether it was.
  bool GiveDoneStorage(uint32_t shard, std::vector<OpDone>* done);
  static constexpr size_t kMaxSpareDone = 8;

  // Causality for idle shards (ARCHITECTURE.md §6). A shard that gets no batch learns no
  // revision the others issued, so its clock (and its watch watermarks) follow wall time
  // only; a busy shard whose clock runs ahead of wall time (more than one mutation per ms)
  // would then have its watch events held back for as long as that lead. So a shard with
  // nothing to send gets a PING op once ObservedRevision() has moved past what it was last
  // sent and it has been sent nothing (batch or PING) for kNudgeIntervalNs: a shard that gets
  // batches learns the revision from them, and PINGs to it would only cost wake-ups (one
  // client's SETs spread over two shards drew a PING per ms and shard). `now_ns`:
  // absl::GetCurrentTimeNanos(), of each loop iteration while WantsNudge(); a batch taken
  // since the previous call counts as sent at `now_ns`. Call before sending.
  void NudgeIdleShards(int64_t now_ns);
  static constexpr int64_t kNudgeIntervalNs = 1'000'000;
  // Whether NudgeIdleShards would add anything (no clock read needed when not).
  bool WantsNudge() const;

 private:
  struct Queue {
    Batch next;
    std::deque<Batch> full;
    std::unique_ptr<v1::BatchRequest> spare;
    std::vector<std::vector<OpDone>> spare_done;  // empty, with capacity (GiveDoneStorage)
    uint64_t sent_observed = 0;  // the observed_revision of the last batch taken
    bool taken = false;          // a batch was taken since NudgeIdleShards last looked
    int64_t last_sent_ns = 0;    // when NudgeIdleShards last saw a batch taken (or nudged)
  };
  std::vector<Queue> queues_;
};

}  // namespace beyondkv::shardlink

#endif  // BEYONDKV_GATEWAY_SHARDLINK_BATCH_H_
