// Per-connection state of the RESP gateway. A Connection belongs to one IoLoop and is only
// touched on that loop's thread (callbacks from the shard hop are posted back to it).
#ifndef BEYONDKV_GATEWAY_CONNECTION_H_
#define BEYONDKV_GATEWAY_CONNECTION_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/output_budget.h"
#include "gateway/shardlink/batch.h"
#include "gateway/resp_parser.h"
#include "gateway/resp_writer.h"

namespace beyondkv::shardlink {
class WatchSession;
}  // namespace beyondkv::shardlink

namespace beyondkv::gateway {

class CommandContext;

// The reply to one command, in the connection's reply queue. Replies are written to the
// socket strictly in request order: a reply waiting for shards holds back the ones after it.
struct PendingReply {
  std::string out;        // encoded reply bytes
  int outstanding = 0;    // shard ops sent for this command that have not answered yet
  // Runs once every op has answered: encodes the reply (multi-key merges) or sends the next
  // phase's ops (MSETNX, cross-shard RENAME). Empty when the op callbacks write `out`.
  std::function<void(CommandContext&)> finish;
  bool close_after = false;  // QUIT, protocol errors: close once this reply is written
  // For INFO commandstats: the command's index in AllCommands() (-1: unknown or rejected),
  // when it was dispatched (absl::GetCurrentTimeNanos), and whether its completion was counted.
  int command_index = -1;
  int64_t start_ns = 0;
  bool counted = false;
  // A command queued in MULTI and run by EXEC: its reply becomes part of EXEC's array reply,
  // which counts it as outstanding until it completes.
  std::shared_ptr<PendingReply> parent;
  // A multi-key command's merge state (MGET, MSET, DEL, EXISTS: SendKeysForMerge in
  // commands/command_util.h), kept with the reply so that a pooled reply brings its storage
  // along and the command allocates nothing for it: the shard of each key in the client's
  // order (MGET only), and each shard's result (pooled, shardlink::TakenResult).
  std::vector<uint32_t> key_shards;
  std::vector<shardlink::TakenResult> shard_results;

  // Back to a fresh reply, keeping `out`'s storage (up to kKeptOutBytes) and the merge state's
  // (up to kKeptKeys keys) for the next one.
  static constexpr size_t kKeptOutBytes = 4 << 10;
  static constexpr size_t kKeptKeys = 4096;
  void Reset() {
    std::string keep;
    if (out.capacity() <= kKeptOutBytes) keep.swap(out);
    keep.clear();
    std::vector<uint32_t> keep_shards;
    if (key_shards.capacity() <= kKeptKeys) keep_shards.swap(key_shards);
    keep_shards.clear();
    std::vector<shardlink::TakenResult> keep_results;
    keep_results.swap(shard_results);
    keep_results.clear();  // back to the thread's pool
    *this = PendingReply();
    out.swap(keep);
    key_shards.swap(keep_shards);
    shard_results.swap(keep_results);
  }
};

// What commands read and change about their client (HELLO, SELECT, AUTH, CLIENT SETNAME).
struct ClientState {
  uint64_t id = 0;             // CLIENT ID: unique in this gateway process, from 1
  int protocol = 2;            // RESP version, 2 or 3 (HELLO)
  uint32_t db = 0;             // namespace selected with SELECT, 0-15
  bool authenticated = false;  // always true when no --requirepass is set
  std::string name;            // CLIENT SETNAME
  std::string peer;            // "ip:port" of the client
  std::string local;           // "ip:port" of our socket
  int64_t created_ms = 0;      // Unix ms
  int64_t last_active_ms = 0;  // Unix ms of the last byte read
  std::string last_command;    // lower-case name, for CLIENT INFO

  // MULTI / EXEC (commands/txn_cmds.cc, Redis 7.0 multi.c).
  bool in_multi = false;
  bool multi_dirty = false;                   // a queueing error: EXEC answers EXECABORT
  std::vector<std::vector<std::string>> queued;
  // Optimistic WATCH of a RESP2 connection: the keys' revisions when watched (0: absent).
  struct WatchedKey {
    uint32_t db;
    std::string key;
    uint64_t revision;
  };
  std::vector<WatchedKey> watched;
  bool watch_failed = false;  // a WATCH could not read a key: the next EXEC aborts

  void ClearTransaction() {
    in_multi = false;
    multi_dirty = false;
    queued.clear();
    watched.clear();
    watch_failed = false;
  }
};

// One CLIENT LIST / CLIENT INFO line (Redis's format, the fields we track), ending in "\n".
std::string FormatClientInfo(const ClientState& client, int fd);

struct Connection {
  explicit Connection(int fd_, const ParserLimits& limits) : fd(fd_), parser(limits) {}

  int fd;
  ClientState client;
  RespParser parser;
  std::string outbuf;   // bytes ready to write
  size_t out_offset = 0;
  std::deque<std::shared_ptr<PendingReply>> replies;
  bool closing = false;     // read nothing more; close when every reply is written
  bool closed = false;      // fd closed; late shard answers are dropped
  // Back-pressure (gateway/output_budget.h): the socket is not read while set.
  bool read_paused = false;
  bool resume_queued = false;  // in its loop's list of paused connections to look at again
  // Commands parsed but not dispatched yet (over the in-flight cap or the soft output limit),
  // then the protocol error that ended the input, if any (replied after them, as Redis does).
  std::deque<Command> parsed;
  std::string protocol_error;
  bool has_protocol_error = false;
  size_t avg_reply_bytes = OutputBudget::kInitialReplyEstimate;  // moving average
  bool want_write = false;  // EPOLLOUT armed
  bool flush_queued = false;  // in its loop's list of connections to write this iteration
  // WATCH / PWATCH subscriptions (RESP3 only); UNWATCH and closing cancel them.
  std::vector<std::shared_ptr<shardlink::WatchSession>> watches;
  // The reply slots of those WATCH / PWATCH commands (each closes with no bytes at `ready`;
  // closing one twice does nothing). UNWATCH closes them: a subscription it cancels before
  // `ready` would otherwise hold every later reply of the connection forever.
  std::vector<std::function<void(const std::string&)>> watch_replies;
};

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_CONNECTION_H_
