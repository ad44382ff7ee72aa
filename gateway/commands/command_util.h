// Small helpers shared by the command families: building shard ops and replying from their
// results. Only for gateway/commands/*.cc.
#ifndef BEYONDKV_GATEWAY_COMMANDS_COMMAND_UTIL_H_
#define BEYONDKV_GATEWAY_COMMANDS_COMMAND_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/time/clock.h"
#include "gateway/command_table.h"
#include "gateway/replies.h"
#include "gateway/shardlink/router.h"
#include "proto/shard.pb.h"

namespace beyondkv::gateway {

inline int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// An op of `type` on `key` in the client's selected namespace.
inline v1::Op KeyOp(CommandContext& ctx, v1::Op::Type type, std::string key) {
  v1::Op op;
  op.set_type(type);
  op.set_ns(ctx.client().db);
  op.set_key(std::move(key));
  return op;
}

// Sends `op` to its key's shard; `reply(result, out)` writes the command's reply.
template <typename F>
void SendAndReply(CommandContext& ctx, v1::Op op, F reply) {
  std::string key = op.key();
  ctx.Send(key, std::move(op), [reply = std::move(reply)](const v1::OpResult& r,
                                                          CommandContext& c) {
    RespWriter out = c.out();
    reply(r, out);
  });
}

inline bool Failed(const v1::OpResult& r) {
  return r.code() == v1::OpResult::INTERNAL || r.code() == v1::OpResult::INVALID_ARGUMENT;
}

// True (and the error replied) when the op failed: an unavailable shard, an I/O error, input
// the engine refused. NOT_FOUND and CONDITION_FAILED are answers, not failures.
inline bool ReplyIfFailed(const v1::OpResult& r, RespWriter& out) {
  if (!Failed(r)) return false;
  ReplyOpError(out, r);
  return true;
}

// Collects the first failure of several ops (for multi-key merges).
struct FirstError {
  v1::OpResult error;
  void Note(const v1::OpResult& r) {
    if (Failed(r) && !Failed(error)) error = r;
  }
  bool Reply(RespWriter& out) const {
    if (!Failed(error)) return false;
    ReplyOpError(out, error);
    return true;
  }
};

// For commands that send several ops and answer +OK unless one failed (MSET, FLUSHDB,
// BGREWRITEAOF): NoteError() is the ops' callback, FinishOk() sets the reply.
inline OpCallback NoteError(const std::shared_ptr<FirstError>& error) {
  return [error](const v1::OpResult& r, CommandContext&) { error->Note(r); };
}

// Sends the keys of a multi-key command grouped by shard (architecture §3): one op of `type`
// per shard holding that shard's keys in the client's order, so a command of N keys costs at
// most S ops, S callbacks and one merge, not N. Keys are argv[1], argv[1 + step], ...; with
// step 2, argv[i + 1] is key argv[i]'s value (MSET). `cb(shard, result, ctx)` receives each
// shard's answer. If `shard_of` is not null it receives the shard of each key, in the client's
// order (cleared first). argv is moved from. Allocates nothing itself for up to 64 shards; `cb`
// stays in std::function's inline storage when it captures at most 8 bytes.
template <typename F>
void SendKeysByShard(CommandContext& ctx, Argv& argv, v1::Op::Type type, size_t step, F cb,
                     std::vector<uint32_t>* shard_of = nullptr) {
  const uint32_t shards = ctx.shard_count();
  absl::InlinedVector<v1::Op*, 64> ops(shards, nullptr);
  if (shard_of != nullptr) {
    shard_of->clear();
    shard_of->reserve((argv.size() - 1) / step);
  }
  for (size_t i = 1; i + step - 1 < argv.size(); i += step) {
    const uint32_t shard = shardlink::ShardForKey(argv[i], shards);
    if (shard_of != nullptr) shard_of->push_back(shard);
    v1::Op*& op = ops[shard];
    if (op == nullptr) {
      op = ctx.NewOpForShard(shard, [cb, shard](v1::OpResult& r, CommandContext& c) {
        cb(shard, r, c);
      });
      op->set_type(type);
      op->set_ns(ctx.client().db);
    }
    op->add_keys(std::move(argv[i]));
    if (step == 2) op->add_values(std::move(argv[i + 1]));
  }
}

// SendKeysByShard whose answers are kept, untouched, in the command's (pooled) reply: shard
// s's result in ctx.reply()->shard_results[s], the shard of each key in key_shards when
// `key_shards` is set. The caller's Finish() merges them. Nothing is allocated per command and
// the callbacks capture nothing.
inline void SendKeysForMerge(CommandContext& ctx, Argv& argv, v1::Op::Type type, size_t step,
                             bool key_shards) {
  PendingReply& reply = *ctx.reply();
  reply.shard_results.resize(ctx.shard_count());
  SendKeysByShard(
      ctx, argv, type, step,
      [](uint32_t shard, v1::OpResult& r, CommandContext& c) {
        c.reply()->shard_results[shard].Take(r);
      },
      key_shards ? &reply.key_shards : nullptr);
}

// The first failed result among those SendKeysForMerge kept (in shard order), or null.
inline const v1::OpResult* FirstFailedResult(const PendingReply& reply) {
  for (const shardlink::TakenResult& r : reply.shard_results) {
    if (r.has_value() && Failed(*r)) return &*r;
  }
  return nullptr;
}

inline void FinishOk(CommandContext& ctx, std::shared_ptr<FirstError> error,
                     std::string_view ok = "OK") {
  ctx.Finish([error, ok = std::string(ok)](CommandContext& c) {
    RespWriter out = c.out();
    if (!error->Reply(out)) out.Simple(ok);
  });
}

// Redis's "invalid expire time in '<command>' command".
inline std::string InvalidExpire(std::string_view command) {
  return "ERR invalid expire time in '" + std::string(command) + "' command";
}

// Converts a relative or absolute time argument to absolute Unix ms, with Redis's overflow
// checks. `seconds`: the argument is in seconds; `relative`: it is added to now.
// Returns false on overflow (the caller replies InvalidExpire).
inline bool ToAbsoluteMs(int64_t when, bool seconds, bool relative, int64_t* out) {
  if (seconds) {
    if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) return false;
    when *= 1000;
  }
  if (relative) {
    int64_t now = NowMs();
    if (when > INT64_MAX - now) return false;
    when += now;
  }
  *out = when;
  return true;
}

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_COMMANDS_COMMAND_UTIL_H_
