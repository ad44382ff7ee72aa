// What a command handler sees: its client, the reply it writes, and the shard hop.
//
// A handler either replies at once through out(), or sends ops to shards with Send() and
// replies from their callbacks and/or a Finish() function that runs once every op it sent has
// answered. Callbacks and Finish run later on the same IoLoop thread with a fresh context for
// the same command; they may send more ops and set another Finish (multi-phase commands such
// as MSETNX). They must not capture a CommandContext (each lives only during one call) but may
// capture what they need by value.
#ifndef BEYONDKV_GATEWAY_COMMAND_CONTEXT_H_
#define BEYONDKV_GATEWAY_COMMAND_CONTEXT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "gateway/connection.h"
#include "gateway/gateway_config.h"
#include "gateway/resp_writer.h"
#include "proto/shard.pb.h"

namespace beyondkv::gateway {

class IoLoop;
struct GatewayShared;

class CommandContext;

// Receives an op's result and the command's context (ctx.out() writes its reply).
// The result is the callback's to take from (e.g. move values out of it).
using OpCallback = std::function<void(v1::OpResult& result, CommandContext& ctx)>;

class CommandContext {
 public:
  CommandContext(IoLoop* loop, std::shared_ptr<Connection> conn,
                 std::shared_ptr<PendingReply> reply);

  ClientState& client() { return conn_->client; }
  const GatewayConfig& config() const;
  GatewayShared& shared();  // state shared by every loop (cursor table, counters)
  IoLoop& loop() { return *loop_; }
  uint32_t shard_count() const;

  // Writer of this command's reply, for immediate replies, in the client's current protocol
  // (so HELLO 3 answers in RESP3).
  RespWriter out();

  // Sends `op` to the shard that owns `key` (router.h) / to shard `shard`. `cb` runs on this
  // loop's thread with the result; a shard that cannot be reached yields an INTERNAL result
  // whose message names the shard.
  void Send(std::string_view key, v1::Op op, OpCallback cb);
  void SendToShard(uint32_t shard, v1::Op op, OpCallback cb);

  // The allocation-free form of Send: appends an op of `type` on `key` (routed by it, in the
  // client's namespace) to the next batch and returns it for the rest to be filled now.
  v1::Op* NewOp(v1::Op::Type type, std::string_view key, OpCallback cb);
  // An empty op for shard `shard` (fill every field).
  v1::Op* NewOpForShard(uint32_t shard, OpCallback cb);

  // Runs `fn` on every I/O loop of this gateway (this one included) and passes each result to
  // `done` on this command's loop; the reply waits for all of them (CLIENT LIST, CLIENT KILL).
  void ForEachLoop(std::function<std::string(IoLoop&)> fn,
                   std::function<void(const std::string&, CommandContext&)> done);

  // Sets the function that runs once every op sent so far has answered.
  void Finish(std::function<void(CommandContext&)> finish);

  // If no op is outstanding, runs the pending Finish functions (which may send more ops).
  // Returns whether the reply is complete. Called by the loop, not by handlers.
  bool Settle();

  // Keeps this command's reply open until the returned function is called, on this loop's
  // thread, once: with "" (the reply is whatever was written, possibly nothing) or with an
  // error text to reply. WATCH holds its place in the reply order until `ready`.
  std::function<void(const std::string& error)> Defer();

  // Appends an out-of-band RESP3 push frame (already encoded) to the client's output. A client
  // whose unread output passes the watch buffer limit is sent `error_if_full` and closed.
  void Push(const std::string& frame, const std::string& error_if_full);

  const std::shared_ptr<Connection>& connection() { return conn_; }
  const std::shared_ptr<PendingReply>& reply() { return reply_; }

  // The command this reply answers (its index in AllCommands()): its latency and outcome are
  // counted in INFO commandstats once the reply is complete.
  void SetCommand(int index) { reply_->command_index = index; }

  // Closes the connection after this command's reply is written (QUIT).
  void CloseAfterReply() { reply_->close_after = true; }

 private:
  void CountCompletion();  // INFO commandstats, once per reply

  IoLoop* loop_;
  std::shared_ptr<Connection> conn_;
  std::shared_ptr<PendingReply> reply_;
};

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_COMMAND_CONTEXT_H_
