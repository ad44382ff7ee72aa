#include "gateway/command_context.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

#include "gateway/io_loop.h"
#include "gateway/shardlink/router.h"

namespace beyondkv::gateway {

CommandContext::CommandContext(IoLoop* loop, std::shared_ptr<Connection> conn,
                               std::shared_ptr<PendingReply> reply)
    : loop_(loop), conn_(std::move(conn)), reply_(std::move(reply)) {}

const GatewayConfig& CommandContext::config() const { return loop_->shared().config; }

GatewayShared& CommandContext::shared() { return loop_->shared(); }

uint32_t CommandContext::shard_count() const {
  return static_cast<uint32_t>(loop_->shared().shards.size());
}

RespWriter CommandContext::out() { return RespWriter(&reply_->out, conn_->client.protocol); }

void CommandContext::Send(std::string_view key, v1::Op op, OpCallback cb) {
  SendToShard(shardlink::ShardForKey(key, shard_count()), std::move(op), std::move(cb));
}

void CommandContext::SendToShard(uint32_t shard, v1::Op op, OpCallback cb) {
  v1::Op* slot = NewOpForShard(shard, std::move(cb));
  const uint64_t txn = slot->txn();
  *slot = std::move(op);
  slot->set_txn(txn);
}

v1::Op* CommandContext::NewOpForShard(uint32_t shard, OpCallback cb) {
  ++reply_->outstanding;
  IoLoop::OpSlot* slot = loop_->AcquireSlot();
  slot->conn = conn_;
  slot->reply = reply_;
  slot->cb = std::move(cb);
  // Two pointers: fits std::function's inline storage.
  v1::Op* op = loop_->AddOp(shard, [loop = loop_, slot](v1::OpResult& result) {
    loop->CompleteSlot(slot, result);
  });
  if (const uint64_t txn = loop_->current_transaction(); txn != 0) {
    op->set_txn(txn);
    loop_->NoteTransactionShard(shard);
  }
  return op;
}

v1::Op* CommandContext::NewOp(v1::Op::Type type, std::string_view key, OpCallback cb) {
  v1::Op* op = NewOpForShard(shardlink::ShardForKey(key, shard_count()), std::move(cb));
  op->set_type(type);
  op->set_ns(conn_->client.db);
  op->mutable_key()->assign(key.data(), key.size());  // reuses the string's storage
  return op;
}

void CommandContext::ForEachLoop(
    std::function<std::string(IoLoop&)> fn,
    std::function<void(const std::string&, CommandContext&)> done) {
  for (IoLoop* other : loop_->shared().loops) {
    ++reply_->outstanding;
    other->Post([other, fn, done, origin = loop_, conn = conn_, reply = reply_] {
      std::string result = fn(*other);
      origin->Post([origin, conn, reply, done, result = std::move(result)] {
        CommandContext ctx(origin, conn, reply);
        done(result, ctx);
        --reply->outstanding;
        if (ctx.Settle()) origin->OnReplyReady(conn);
      });
    });
  }
}

std::function<void(const std::string&)> CommandContext::Defer() {
  ++reply_->outstanding;
  auto done = std::make_shared<bool>(false);
  return [loop = loop_, conn = conn_, reply = reply_, done](const std::string& error) {
    if (*done) return;
    *done = true;
    if (!error.empty()) RespWriter(&reply->out, conn->client.protocol).Error(error);
    --reply->outstanding;
    CommandContext ctx(loop, conn, reply);
    if (ctx.Settle()) loop->OnReplyReady(conn);
  };
}

void CommandContext::Push(const std::string& frame, const std::string& error_if_full) {
  loop_->WritePush(conn_, frame, error_if_full);
}

void CommandContext::Finish(std::function<void(CommandContext&)> finish) {
  reply_->finish = std::move(finish);
}

bool CommandContext::Settle() {
  while (reply_->outstanding == 0 && reply_->finish) {
    std::function<void(CommandContext&)> finish = std::move(reply_->finish);
    reply_->finish = nullptr;
    finish(*this);
  }
  if (reply_->outstanding != 0) return false;
  if (reply_->parent != nullptr) {
    // A command inside EXEC: its reply is part of EXEC's, which waits for it.
    std::shared_ptr<PendingReply> parent = std::move(reply_->parent);
    reply_->parent = nullptr;
    CountCompletion();
    --parent->outstanding;
    CommandContext parent_ctx(loop_, conn_, std::move(parent));
    return parent_ctx.Settle();
  }
  CountCompletion();
  return true;
}

void CommandContext::CountCompletion() {
  if (reply_->command_index >= 0 && !reply_->counted) {
    reply_->counted = true;
    const int64_t elapsed_ns = absl::GetCurrentTimeNanos() - reply_->start_ns;
    const char first = reply_->out.empty() ? '\0' : reply_->out[0];
    shared().command_stats.Record(static_cast<size_t>(reply_->command_index),
                                  static_cast<uint64_t>(std::max<int64_t>(0, elapsed_ns) / 1000),
                                  first == '-' || first == '!');
  }
}

}  // namespace beyondkv::gateway
