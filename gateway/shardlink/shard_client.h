// The gateway's side of the shard hop (architecture §3): one gRPC channel per shard, the
// callback (asynchronous) API, one Execute call carrying a whole batch of ops.
//
// Thread-safety: Execute() may be called from any thread; `done` runs on a gRPC thread and
// must only hand the result back to its owner (IoLoop posts it to its own thread).
#ifndef BEYONDKV_GATEWAY_SHARDLINK_SHARD_CLIENT_H_
#define BEYONDKV_GATEWAY_SHARDLINK_SHARD_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/shard.grpc.pb.h"

namespace beyondkv::shardlink {

class ShardClient {
 public:
  using Done = std::function<void(const grpc::Status&, v1::BatchResponse*)>;

  // Connects lazily to unix:<socket_path>; reconnects quickly (100 ms to 1 s backoff) after
  // the shard restarts.
  ShardClient(uint32_t shard, const std::string& socket_path);

  // Waits (up to kMaxEndWait) until every call begun on this client has ended, so that the
  // channel's last reference is dropped here and not by a call's ClientContext on a gRPC
  // thread: gRPC 1.51 then shuts its callback completion queue down from that queue's own
  // thread, fails to join it, frees it and crashes later (grpc/grpc#32584, #37858).
  ~ShardClient();
  ShardClient(const ShardClient&) = delete;
  ShardClient& operator=(const ShardClient&) = delete;

  // A caller of stub() brackets each call with BeginCall() and, once the call's ClientContext
  // is destroyed, EndCall() (Execute does this itself).
  void BeginCall();
  void EndCall();

  // Sends `request`. `done` receives the status and, when OK, one result per op in order.
  // Calls fail fast with UNAVAILABLE while the shard is down, and with DEADLINE_EXCEEDED
  // after `deadline_ms`.
  void Execute(std::unique_ptr<v1::BatchRequest> request, Done done, int64_t deadline_ms = 30000);

  uint32_t shard() const { return shard_; }

  // For streaming calls (Watch), which callers drive with their own reactor.
  v1::Shard::Stub* stub() { return stub_.get(); }

 private:
  static constexpr absl::Duration kMaxEndWait = absl::Seconds(35);

  uint32_t shard_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Shard::Stub> stub_;
  absl::Mutex mu_;
  int64_t live_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace beyondkv::shardlink

#endif  // BEYONDKV_GATEWAY_SHARDLINK_SHARD_CLIENT_H_
