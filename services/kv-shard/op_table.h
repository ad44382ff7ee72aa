// The shard's ops, one row per v1::Op::Type (proto/shard.proto): its name, whether it mutates
// (a mutation's result becomes an error when its batch's commit fails), which records it
// reads (fetched through the ring before its batch applies, Engine::ReadAhead), and how it
// applies to the engine. Adding an op is adding a row: the engine thread (engine_worker.h)
// only looks things up here.
//
// Thread contract: the table is immutable; Apply runs on the shard's engine thread.
#ifndef BEYONDKV_SERVICES_KV_SHARD_OP_TABLE_H_
#define BEYONDKV_SERVICES_KV_SHARD_OP_TABLE_H_

#include <cstdint>
#include <vector>

#include "engine/engine.h"
#include "proto/shard.pb.h"

namespace beyondkv::shard {

// What applying an op may use beyond the op itself.
struct OpContext {
  engine::Engine* engine;
  uint64_t ops_executed = 0;  // since the shard started, for STATS
};

struct OpRow {
  v1::Op::Type type;
  const char* name;
  bool mutates;
  // Appends the records `op` will read (null: none). The keys view the op's strings.
  void (*read_ahead)(const v1::Op& op, std::vector<engine::ReadAheadKey>* keys);
  // Applies `op`, filling `result` (code OK unless it says otherwise).
  void (*apply)(OpContext& ctx, const v1::Op& op, v1::OpResult* result);
};

// The row of `type`, or nullptr for a type this shard does not know.
const OpRow* FindOp(v1::Op::Type type);

bool IsMutation(v1::Op::Type type);

// Appends the records `op` will read (ReadAheadKey views `op`'s strings).
void AddReadAheadKeys(const v1::Op& op, std::vector<engine::ReadAheadKey>* keys);

// Applies `op`; an unknown type answers INVALID_ARGUMENT "unknown op type N".
void ApplyOp(OpContext& ctx, const v1::Op& op, v1::OpResult* result);

// Applies a batch's ops in order, appending one result each, after observing its
// observed_revision (causality, ARCHITECTURE.md §6). MULTI/EXEC with WATCH: once a
// CHECK_REVISION with a nonzero `txn` fails, the batch's later ops of that txn are skipped
// (CONDITION_FAILED, reason TXN_ABORTED); a transaction's ops travel contiguously in one
// batch, so nothing else interleaves with them. The caller commits.
void ApplyBatch(OpContext& ctx, const v1::BatchRequest& request, v1::BatchResponse* response);

}  // namespace beyondkv::shard

#endif  // BEYONDKV_SERVICES_KV_SHARD_OP_TABLE_H_
