// The HTTP gateway's side of the shard hop (architecture §3): blocking calls for the worker
// threads of cpp-httplib, which serve one request at a time, over either transport:
//
//   - link (the default): a shardlink::LinkClient, one thread with a lane per shard and the
//     batcher the RESP gateway uses; ops of concurrent requests for a shard share batches.
//   - grpc: one shardlink::ShardClient per shard; ops of concurrent requests bound for the same shard
//     share an Execute call: each shard has at most `max_inflight` calls outstanding, and ops
//     submitted meanwhile leave together in the next call when one completes.
//
// Either way an idle gateway adds no delay, a busy one sends fewer, larger batches, and the
// ops of one submission stay contiguous and in order in one batch, so the shard applies them
// together (proto/shard.proto). Watch streams always use gRPC (client()).
//
// Thread-safety: every method may be called from any thread.
#ifndef BEYONDKV_GATEWAY_HTTP_SHARD_HOP_H_
#define BEYONDKV_GATEWAY_HTTP_SHARD_HOP_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gateway/shardlink/shard_client.h"
#include "gateway/shardlink/link_client.h"
#include "proto/shard.pb.h"

namespace beyondkv::gateway::http {

// The results of one submission, one per op in order, or why the shard could not answer:
// UNAVAILABLE "shard 2 unavailable: ..." while it is down, DEADLINE_EXCEEDED when it did not
// answer in time, INTERNAL if it answered a short batch.
using ShardResults = absl::StatusOr<std::vector<v1::OpResult>>;

class ShardHop {
 public:
  // Shard i is reached at <socket_dir>/shard-<i>.sock (gRPC) and shard-<i>.link (the link).
  // `transport`: "link" or "grpc".
  ShardHop(const std::string& socket_dir, uint32_t shard_count, uint32_t max_inflight,
           const std::string& transport = "link");
  ~ShardHop();

  uint32_t shard_count() const { return static_cast<uint32_t>(lanes_.size()); }

  // The shard that owns `key` (router.h).
  uint32_t ShardOf(std::string_view key) const;

  // Shard `shard`'s client, for streaming calls (Watch) that bypass the coalescing queue.
  // Lives as long as this ShardHop.
  shardlink::ShardClient* client(uint32_t shard) const { return lanes_[shard]->client.get(); }

  // Sends `ops` to `shard` and blocks until they are answered.
  ShardResults Execute(uint32_t shard, std::vector<v1::Op> ops);

  // Sends each (shard, ops) pair, all at once, and blocks until every one is answered.
  // Element i of the result belongs to calls[i]. A shard may appear more than once.
  std::vector<ShardResults> ExecuteAll(std::vector<std::pair<uint32_t, std::vector<v1::Op>>> calls);

  // One op of `type` (namespace `ns`) to every shard at once, e.g. PING, STATS, FLUSH; element
  // i is shard i's single result. `deadline_ms` bounds the wait (health checks use a short
  // one); these calls bypass the coalescing queue.
  std::vector<absl::StatusOr<v1::OpResult>> Broadcast(v1::Op::Type type, uint32_t ns,
                                                      int64_t deadline_ms);

 private:
  using Done = std::function<void(ShardResults)>;
  struct Pending {
    std::vector<v1::Op> ops;
    Done done;
  };
  struct Lane {
    std::unique_ptr<shardlink::ShardClient> client;
    absl::Mutex mu;
    std::deque<Pending> queue ABSL_GUARDED_BY(mu);
    uint32_t in_flight ABSL_GUARDED_BY(mu) = 0;
  };

  void Submit(uint32_t shard, std::vector<v1::Op> ops, Done done);
  std::vector<absl::StatusOr<v1::OpResult>> BroadcastOverLink(v1::Op::Type type, uint32_t ns,
                                                              int64_t deadline_ms);
  // Sends queued ops of `lane` while it has fewer than max_inflight_ calls outstanding.
  void Pump(uint32_t shard);

  const uint32_t max_inflight_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::unique_ptr<shardlink::LinkClient> link_;  // null: the gRPC transport
};

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_SHARD_HOP_H_
