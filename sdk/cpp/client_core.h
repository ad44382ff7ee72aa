// What a beyondkv::Client (kv_client.h) shares with its WatchStreams: the shards' gRPC
// clients, one ShardLane per shard, blocking execution over them, and the idle-shard nudger.
//
// Thread-safety: every method may be called from any thread. Destruction waits for every
// call in flight (each ends within ClientOptions::timeout_ms) and must not run on a gRPC
// thread.
#ifndef BEYONDKV_SDK_CPP_CLIENT_CORE_H_
#define BEYONDKV_SDK_CPP_CLIENT_CORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gateway/shardlink/shard_client.h"
#include "proto/shard.pb.h"
#include "sdk/cpp/kv_client.h"
#include "sdk/cpp/shard_lane.h"

namespace beyondkv::sdk {

// One op's failure as a status (kv_client.h "Errors"); OK for OpResult::OK.
absl::Status OpStatus(const v1::OpResult& result);

class ClientCore {
 public:
  // `options` must already be valid (Client::Open checks them).
  ClientCore(const std::string& socket_dir, uint32_t shard_count, const ClientOptions& options);
  ~ClientCore();

  ClientCore(const ClientCore&) = delete;
  ClientCore& operator=(const ClientCore&) = delete;

  uint32_t shard_count() const { return static_cast<uint32_t>(clients_.size()); }
  const ClientOptions& options() const { return options_; }
  uint32_t ShardOf(std::string_view key) const;

  // For streaming calls (Watch); lives as long as this core.
  shardlink::ShardClient* shard_client(uint32_t shard) const { return clients_[shard].get(); }

  // Sends each (shard, ops) pair through its shard's lane, all at once, and waits until every
  // one is answered or options().timeout_ms has passed (DEADLINE_EXCEEDED for those still
  // unanswered). Element i of the result belongs to calls[i].
  std::vector<OpResults> ExecuteAll(std::vector<std::pair<uint32_t, std::vector<v1::Op>>> calls);
  OpResults Execute(uint32_t shard, std::vector<v1::Op> ops);

  ClientStats Stats() const;

 private:
  // After any answer: lets the nudger look at the idle shards again.
  void NoteAnswer();
  // The nudger thread: sleeps until an answer came, then offers every lane a nudge
  // (ShardLane::NudgeIfIdle), at most once per ShardLane::kNudgeInterval.
  void NudgeLoop();

  const ClientOptions options_;
  std::vector<std::unique_ptr<shardlink::ShardClient>> clients_;
  std::vector<std::unique_ptr<ShardLane>> lanes_;

  std::atomic<bool> nudge_wanted_{false};  // mirrors wake_, read without the mutex
  absl::Mutex nudge_mu_;
  bool wake_ ABSL_GUARDED_BY(nudge_mu_) = false;
  bool stop_ ABSL_GUARDED_BY(nudge_mu_) = false;
  std::thread nudger_;
};

}  // namespace beyondkv::sdk

#endif  // BEYONDKV_SDK_CPP_CLIENT_CORE_H_
