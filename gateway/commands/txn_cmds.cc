// Transactions (Redis 7.0 src/multi.c semantics; ARCHITECTURE.md §4): MULTI, EXEC, DISCARD,
// and the optimistic WATCH of RESP2 connections (watch_cmds.cc records the keys' revisions).
//
// Between MULTI and EXEC, DispatchCommand queues every command but EXEC, DISCARD, MULTI,
// WATCH, QUIT and RESET and answers +QUEUED; an unknown command, a wrong arity or NOAUTH
// while queueing makes EXEC answer EXECABORT. EXEC dispatches the queued commands one after
// the other in the same loop iteration, without closing batches between them, so each
// shard receives its part of the transaction contiguously in one batch and applies it
// atomically (nothing else runs between two ops of a batch). Across shards each part is
// atomic and the order is kept per shard; a reader may see one shard's part before another's.
// Commands that take several rounds (MSETNX, cross-shard RENAME, COPY, MOVE, BITOP, SCAN,
// KEYS) run their first round in the transaction's batch and later rounds after it.
//
// With WATCHed keys, EXEC first checks every key's revision (one CHECK_REVISION op each);
// if any changed it answers a null array and runs nothing. Otherwise the transaction's ops go
// out behind a CHECK_REVISION per watched key, tagged with the transaction id: a shard that
// finds a key changed in between skips the rest of that transaction's ops (TXN_ABORTED).
// When every key lives on the shards that hold all the transaction's ops (the usual case:
// WATCH k ... MULTI ... SET k), that is exactly Redis's all-or-nothing; when a concurrent
// write slips in between the check and the batch of a transaction spread over other shards
// too, EXEC answers an EXECABORT error saying which part was applied.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/commands/command_util.h"
#include "gateway/io_loop.h"
#include "gateway/shardlink/router.h"

namespace beyondkv::gateway {
namespace {

using v1::Op;
using v1::OpResult;

constexpr std::string_view kErrExecAbort =
    "EXECABORT Transaction discarded because of previous errors.";

void MultiCommand(CommandContext& ctx, Argv&) {
  ClientState& client = ctx.client();
  if (client.in_multi) {
    ctx.out().Error("ERR MULTI calls can not be nested");
    return;
  }
  client.in_multi = true;
  client.multi_dirty = false;
  client.queued.clear();
  ctx.out().Simple("OK");
}

void DiscardCommand(CommandContext& ctx, Argv&) {
  if (!ctx.client().in_multi) {
    ctx.out().Error("ERR DISCARD without MULTI");
    return;
  }
  ctx.client().ClearTransaction();  // DISCARD also unwatches (Redis discardTransaction)
  ctx.out().Simple("OK");
}

// Sends one CHECK_REVISION per watched key (tagged `txn` when nonzero) and records in
// `failed_shards` the shards where a key no longer holds its revision.
void SendChecks(CommandContext& ctx, const std::vector<ClientState::WatchedKey>& watched,
                uint64_t txn, std::shared_ptr<std::vector<uint32_t>> failed_shards,
                std::shared_ptr<FirstError> error) {
  const uint32_t shards = ctx.shard_count();
  for (const ClientState::WatchedKey& w : watched) {
    const uint32_t shard = shardlink::ShardForKey(w.key, shards);
    Op* op = ctx.NewOpForShard(shard, [failed_shards, error, shard](OpResult& r,
                                                                    CommandContext&) {
      error->Note(r);
      if (r.code() != OpResult::OK) failed_shards->push_back(shard);
    });
    op->set_type(Op::CHECK_REVISION);
    op->set_ns(w.db);
    op->set_key(w.key);
    op->set_if_revision(w.revision);
    op->set_txn(txn);
  }
}

// Dispatches the queued commands as one transaction and answers EXEC's array once every
// command's reply is complete.
void RunTransaction(CommandContext& ctx, std::vector<Argv> commands,
                    std::vector<ClientState::WatchedKey> watched) {
  IoLoop& loop = ctx.loop();
  auto failed_shards = std::make_shared<std::vector<uint32_t>>();
  auto error = std::make_shared<FirstError>();
  const uint64_t txn = loop.BeginTransaction();
  // The guards first: on each shard they precede the transaction's ops in the batch.
  SendChecks(ctx, watched, watched.empty() ? 0 : txn, failed_shards, error);
  auto subs = std::make_shared<std::vector<std::shared_ptr<PendingReply>>>();
  ++ctx.reply()->outstanding;  // held while dispatching: EXEC is not complete before its end
  for (Argv& argv : commands) {
    auto sub = std::make_shared<PendingReply>();
    sub->start_ns = absl::GetCurrentTimeNanos();
    sub->parent = ctx.reply();
    ++ctx.reply()->outstanding;
    subs->push_back(sub);
    CommandContext sub_ctx(&loop, ctx.connection(), sub);
    DispatchCommand(sub_ctx, argv);
    sub_ctx.Settle();
  }
  std::vector<uint32_t> touched = loop.EndTransaction();
  --ctx.reply()->outstanding;  // the caller's Settle runs the Finish below once all answered
  ctx.Finish([subs, failed_shards, error, touched = std::move(touched)](CommandContext& c) {
    RespWriter out = c.out();
    if (error->Reply(out)) return;
    if (!failed_shards->empty()) {
      // Some shard skipped its part: a WATCHed key changed after the first check.
      std::vector<uint32_t> applied;
      for (uint32_t shard : touched) {
        if (std::find(failed_shards->begin(), failed_shards->end(), shard) ==
            failed_shards->end()) {
          applied.push_back(shard);
        }
      }
      if (applied.empty()) {
        out.NullArray();
      } else {
        out.Error(absl::StrCat("EXECABORT a WATCHed key changed during EXEC; the "
                               "transaction's commands on shard(s) ",
                               absl::StrJoin(applied, ","), " were applied, the rest not"));
      }
      return;
    }
    out.ArrayHeader(static_cast<int64_t>(subs->size()));
    for (const auto& sub : *subs) c.reply()->out.append(sub->out);
  });
}

void ExecCommand(CommandContext& ctx, Argv&) {
  ClientState& client = ctx.client();
  if (!client.in_multi) {
    ctx.out().Error("ERR EXEC without MULTI");
    return;
  }
  std::vector<Argv> commands = std::move(client.queued);
  std::vector<ClientState::WatchedKey> watched = std::move(client.watched);
  const bool dirty = client.multi_dirty;
  const bool watch_failed = client.watch_failed;
  client.ClearTransaction();  // EXEC unwatches, whatever happens
  if (dirty) {
    ctx.out().Error(kErrExecAbort);
    return;
  }
  if (watch_failed) {
    ctx.out().NullArray();
    return;
  }
  if (watched.empty()) {
    RunTransaction(ctx, std::move(commands), {});
    return;
  }
  // First round: has any WATCHed key changed since WATCH? Then nothing runs.
  auto failed_shards = std::make_shared<std::vector<uint32_t>>();
  auto error = std::make_shared<FirstError>();
  SendChecks(ctx, watched, 0, failed_shards, error);
  ctx.Finish([commands = std::move(commands), watched = std::move(watched), failed_shards,
              error](CommandContext& c) mutable {
    RespWriter out = c.out();
    if (error->Reply(out)) return;
    if (!failed_shards->empty()) {
      out.NullArray();
      return;
    }
    RunTransaction(c, std::move(commands), std::move(watched));
  });
}

}  // namespace

std::vector<CommandSpec> TransactionCommands() {
  return {
      {"multi", 1, {"noscript", "loading", "stale", "fast", "allow_busy"}, 0, 0, 0,
       "transactions", "1.2.0", "Starts a transaction.", MultiCommand},
      {"exec", 1, {"noscript", "loading", "stale", "skip_slowlog"}, 0, 0, 0, "transactions",
       "1.2.0", "Executes all commands in a transaction.", ExecCommand},
      {"discard", 1, {"noscript", "loading", "stale", "fast", "allow_busy"}, 0, 0, 0,
       "transactions", "2.0.0", "Discards a transaction.", DiscardCommand},
  };
}

}  // namespace beyondkv::gateway
