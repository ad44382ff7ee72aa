// One batch of ops handed to the shard's engine thread, by the gRPC service or the link.
#ifndef BEYONDKV_SERVICES_KV_SHARD_SHARD_CALL_H_
#define BEYONDKV_SERVICES_KV_SHARD_SHARD_CALL_H_

#include <functional>

#include "proto/shard.pb.h"

namespace beyondkv::shard {

struct ShardCall {
  const v1::BatchRequest* request;  // valid until `done` runs
  v1::BatchResponse* response;      // one result per op, in order, when `done` runs
  // Runs on the engine thread once the ops are applied and committed. Callers keep what it
  // captures small (two pointers fit std::function's inline storage: no allocation).
  std::function<void()> done;
};

}  // namespace beyondkv::shard

#endif  // BEYONDKV_SERVICES_KV_SHARD_SHARD_CALL_H_
