// The client's path to one shard (sdk/cpp/README.md): a bounded queue of submissions in front
// of one shardlink::ShardClient, with at most one Execute call in flight. Submissions that
// arrive while a call is in flight leave together in the next BatchRequest, up to a bounded
// batch size, in arrival order; each submission's ops stay contiguous and in order in one
// batch, so the shard applies them together (proto/shard.proto). An idle lane sends at once,
// so coalescing adds no delay; a busy one sends fewer, larger batches.
//
// Thread-safety: every method may be called from any thread. `done` callbacks run on gRPC's
// threads (or on the submitting thread when the batch fails before it leaves) and must only
// hand the results back to their owner.
#ifndef BEYONDKV_SDK_CPP_SHARD_LANE_H_
#define BEYONDKV_SDK_CPP_SHARD_LANE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/shardlink/shard_client.h"
#include "proto/shard.pb.h"

namespace beyondkv::sdk {

// One submission's results, one per op in order, or why the shard did not answer them:
// UNAVAILABLE ("shard <i> unavailable: ...") while it is down, DEADLINE_EXCEEDED when it did
// not answer within the call's deadline, INTERNAL when it answered a short batch.
using OpResults = absl::StatusOr<std::vector<v1::OpResult>>;
using LaneDone = std::function<void(OpResults)>;

struct LaneLimits {
  // A batch stops growing at these sizes; a single submission larger than either goes alone.
  // A multi-key op (MGET, MPUT) counts one item per key.
  size_t max_batch_items = 1024;
  size_t max_batch_bytes = 4 << 20;
  // Items queued behind the call in flight. A submission that would pass it waits for room
  // (Submit's deadline); one that alone exceeds it is taken when the queue is empty.
  size_t max_queued_items = 64 * 1024;
  // gRPC deadline of each Execute call, from when it is sent.
  int64_t call_timeout_ms = 5000;
};

class ShardLane {
 public:
  // `client` must outlive the lane (and every call it sent: see Drain()).
  ShardLane(shardlink::ShardClient* client, LaneLimits limits);
  ~ShardLane();  // Drain()s

  ShardLane(const ShardLane&) = delete;
  ShardLane& operator=(const ShardLane&) = delete;

  uint32_t shard() const { return client_->shard(); }

  // Queues `ops` for the next batch and returns OK: `done` then runs exactly once. If the
  // queue has no room for them before `deadline`, returns DEADLINE_EXCEEDED and `done` never
  // runs.
  absl::Status Submit(std::vector<v1::Op> ops, LaneDone done, absl::Time deadline);

  // Causality for an idle shard (ARCHITECTURE.md §6, shardlink::Batcher::NudgeIdleShards):
  // when nothing is queued or in flight and this lane last sent an observed_revision below
  // `observed`, sends a PING carrying it, at most once per kNudgeInterval. Returns when to
  // look again: a nudge held back by that rate, or a lane still busy whose last batch carried
  // less (absl::InfiniteFuture() when the shard has been sent `observed`).
  absl::Time NudgeIfIdle(uint64_t observed, absl::Time now);

  // Blocks until nothing is queued or in flight (every `done` has run).
  void Drain();

  // Batches sent and the ops they carried (nudge PINGs included), since construction.
  struct Counts {
    uint64_t batches = 0;
    uint64_t ops = 0;
  };
  Counts counts();

  static constexpr absl::Duration kNudgeInterval = absl::Milliseconds(1);

 private:
  struct Pending {
    std::vector<v1::Op> ops;
    LaneDone done;
    int op_count = 0;
    size_t items = 0;
    size_t bytes = 0;
  };
  using Parts = std::vector<Pending>;

  // Sends the queued submissions as one batch if none is in flight. Called without mu_.
  void Pump();
  // Moves the oldest queued submissions, up to the batch limits, into `request` and `parts`
  // and marks the lane in flight. Requires a non-empty queue.
  void TakeBatch(v1::BatchRequest* request, Parts* parts) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Send(std::unique_ptr<v1::BatchRequest> request, std::shared_ptr<Parts> parts);
  // On a gRPC thread: delivers the results, then sends what queued meanwhile or goes idle;
  // touches nothing of the lane after going idle (Drain() may return and the lane go away).
  void OnAnswered(const grpc::Status& status, v1::BatchResponse* response, Parts* parts);

  shardlink::ShardClient* const client_;
  const LaneLimits limits_;

  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_items_ ABSL_GUARDED_BY(mu_) = 0;
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t sent_observed_ ABSL_GUARDED_BY(mu_) = 0;  // observed_revision of the last batch
  absl::Time last_nudge_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  Counts counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace beyondkv::sdk

#endif  // BEYONDKV_SDK_CPP_SHARD_LANE_H_
