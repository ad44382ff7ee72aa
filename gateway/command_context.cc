#include "gateway/command_context.h"

#include <utility>

#include "gateway/io_loop.h"
#include "gateway/router.h"

namespace beyondkv::gateway {

CommandContext::CommandContext(IoLoop* loop, std::shared_ptr<Connection> conn,
                               std::shared_ptr<PendingReply> reply)
    : loop_(loop), conn_(std::move(conn)), reply_(std::move(reply)) {}

const GatewayConfig& CommandContext::config() const { return loop_->shared().config; }

uint32_t CommandContext::shard_count() const {
  return static_cast<uint32_t>(loop_->shared().shards.size());
}

RespWriter CommandContext::out() { return RespWriter(&reply_->out, conn_->client.protocol); }

void CommandContext::Send(std::string_view key, v1::Op op, OpCallback cb) {
  SendToShard(ShardForKey(key, shard_count()), std::move(op), std::move(cb));
}

void CommandContext::SendToShard(uint32_t shard, v1::Op op, OpCallback cb) {
  ++reply_->outstanding;
  loop_->SendOp(shard, std::move(op),
                [loop = loop_, conn = conn_, reply = reply_,
                 cb = std::move(cb)](const v1::OpResult& result) {
                  RespWriter out(&reply->out, conn->client.protocol);
                  if (cb) cb(result, out);
                  if (--reply->outstanding > 0) return;
                  if (reply->finish) {
                    reply->finish(out);
                    reply->finish = nullptr;
                  }
                  loop->OnReplyReady(conn);
                });
}

void CommandContext::Finish(std::function<void(RespWriter&)> finish) {
  reply_->finish = std::move(finish);
}

}  // namespace beyondkv::gateway
