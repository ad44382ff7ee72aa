// POST /v1/kv/batch: a JSON array of ops (get, set, delete, exists, incr), answered by an
// array of results in the same order. Values travel in base64url.
//
// The whole body is validated before any op runs (400 names the first bad op). Then the ops
// are grouped by shard, in request order, and each group goes to its shard as one Execute
// call; the shards run in parallel. There is no atomicity across ops: an op whose condition
// fails (nx, xx, ifMatch) fails alone, and every other op of the batch, before or after it,
// stays applied. Such a failure turns the whole response into 409 `conflict` naming the
// first failed op; a non-integer value under incr does the same with 400.
#ifndef BEYONDKV_GATEWAY_HTTP_BATCH_HANDLER_H_
#define BEYONDKV_GATEWAY_HTTP_BATCH_HANDLER_H_

#include <httplib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/http/handler_util.h"
#include "proto/shard.pb.h"

namespace beyondkv::gateway::http {

// Most ops in one batch.
inline constexpr size_t kMaxBatchOps = 10000;

// One validated op of a batch.
struct BatchOp {
  enum class Kind { kGet, kSet, kDelete, kExists, kIncr };
  Kind kind = Kind::kGet;
  std::string key;
  bool return_old = false;  // delete: answer the old entry
  v1::Op op;                // what goes to the key's shard
  std::string conflict;     // the 409 message if its condition fails
};

// Parses and validates a batch body for namespace `ns` (TTLs relative to `now_ms`).
// InvalidArgument ("op 2: `value` is not base64url") on anything malformed.
absl::StatusOr<std::vector<BatchOp>> ParseBatch(const std::string& body, uint32_t ns,
                                                int64_t now_ms);

void HandleBatch(const HandlerEnv& env, const ApiCall& call, httplib::Response& res);

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_BATCH_HANDLER_H_
