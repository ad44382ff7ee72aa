// The shard link for callers that are not event loops themselves (the HTTP gateway, whose
// cpp-httplib worker threads serve one request at a time): one thread runs an epoll loop
// with a LinkLane per shard and the shared Batcher, and any thread submits ops to it.
//
// Ops submitted by concurrent callers for the same shard join the same batch (the Batcher's
// limits apply); a submission's ops stay contiguous and in order in one batch, so the shard
// applies them together. Results are handed to each submission's callback on the link
// thread, which must only hand them back to the waiting caller.
//
// Thread-safety: Submit() may be called from any thread; the callbacks run on the link
// thread. The destructor fails what is still in flight and joins the thread.
#ifndef BEYONDKV_GATEWAY_SHARDLINK_LINK_CLIENT_H_
#define BEYONDKV_GATEWAY_SHARDLINK_LINK_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/wakeable_epoll.h"
#include "gateway/shardlink/batch.h"
#include "gateway/shardlink/link_lane.h"
#include "proto/shard.pb.h"

namespace beyondkv::shardlink {

class LinkClient {
 public:
  // The results of one submission, one per op in order (a shard that cannot be reached gives
  // each op an INTERNAL result "shard <i> unavailable: ...").
  using Done = std::function<void(std::vector<v1::OpResult> results)>;

  // Shard i is reached at ShardLinkPath(socket_dir, i) (common/socket_paths.h).
  LinkClient(const std::string& socket_dir, uint32_t shard_count);
  ~LinkClient();

  // Queues `ops` for `shard`; `done` runs on the link thread once all are answered.
  void Submit(uint32_t shard, std::vector<v1::Op> ops, Done done);

 private:
  struct Submission {
    uint32_t shard;
    std::vector<v1::Op> ops;
    Done done;
  };
  void Run();
  void Wake();

  WakeableEpoll epoll_;
  Batcher batcher_;
  std::vector<std::unique_ptr<LinkLane>> lanes_;  // link thread only
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<Submission> inbox_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace beyondkv::shardlink

#endif  // BEYONDKV_GATEWAY_SHARDLINK_LINK_CLIENT_H_
