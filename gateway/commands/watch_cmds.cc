// WATCH key [key ...] [SINCE revision], PWATCH prefix [prefix ...] [SINCE revision], UNWATCH
// (wire-protocol.md "WATCH / PWATCH"; architecture §6). In beyond-kv WATCH subscribes to key
// changes; it is not Redis's MULTI/EXEC optimistic lock (we offer no MULTI/EXEC).
//
// Frames (RESP3 push, each an array of bulk strings; the revision is decimal text):
//   watch ready                      the subscription is live
//   watch set <key> <value> <rev>    the key now holds value
//   watch del <key> "" <rev>         the key was deleted or expired
//   watch flush "" "" <rev>          the namespace was flushed (a kind clients may ignore)
// WATCH's own reply slot stays open until `ready` (so later replies come after it); it then
// closes with no bytes, or answers an error if the subscription could not start (e.g. SINCE
// below the replay floor).
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gateway/commands/command_util.h"
#include "gateway/io_loop.h"
#include "gateway/shardlink/router.h"
#include "gateway/shardlink/watch_session.h"

namespace beyondkv::gateway {
namespace {

std::string PushFrame(const std::vector<std::string_view>& parts) {
  std::string frame;
  RespWriter out(&frame, 3);
  out.PushHeader(static_cast<int64_t>(parts.size()));
  for (std::string_view part : parts) out.Bulk(part);
  return frame;
}

std::string EncodeEvent(const v1::WatchEvent& event) {
  const std::string revision = std::to_string(event.revision());
  switch (event.kind()) {
    case v1::WatchEvent::SET:
      return PushFrame({"watch", "set", event.key(), event.value(), revision});
    case v1::WatchEvent::DEL:
      return PushFrame({"watch", "del", event.key(), "", revision});
    case v1::WatchEvent::FLUSH:
      return PushFrame({"watch", "flush", "", "", revision});
    default:
      return PushFrame({"watch", "ready"});
  }
}

// WATCH on a RESP2 connection: Redis's optimistic lock for MULTI/EXEC (txn_cmds.cc). Records
// each key's revision (0: absent); EXEC runs only if none changed.
void OptimisticWatch(CommandContext& ctx, Argv& argv) {
  for (size_t i = 1; i < argv.size(); ++i) {
    v1::Op* op = ctx.NewOp(v1::Op::GET, argv[i], [db = ctx.client().db, key = argv[i]](
                                                     v1::OpResult& r, CommandContext& c) {
      ClientState& client = c.client();
      if (r.code() == v1::OpResult::OK || r.code() == v1::OpResult::NOT_FOUND) {
        client.watched.push_back({db, key, r.code() == v1::OpResult::OK ? r.revision() : 0});
      } else {
        client.watch_failed = true;  // cannot know the revision: the next EXEC aborts
      }
    });
    op->set_no_value(true);
  }
  ctx.Finish([](CommandContext& c) { c.out().Simple("OK"); });
}

void WatchGeneric(CommandContext& ctx, Argv& argv, bool prefix) {
  const char* name = prefix ? "PWATCH" : "WATCH";
  if (ctx.client().in_multi) {
    ctx.out().Error(absl::StrCat("ERR ", name, " inside MULTI is not allowed"));
    return;
  }
  if (ctx.client().protocol != 3 && !prefix) {
    OptimisticWatch(ctx, argv);
    return;
  }
  if (ctx.client().protocol != 3) {
    ctx.out().Error(absl::StrCat("ERR ", name, " requires RESP3, send HELLO 3 first"));
    return;
  }
  size_t end = argv.size();
  bool has_since = false;
  int64_t since = 0;
  if (argv.size() >= 4 && EqualsIgnoreCase(argv[argv.size() - 2], "since")) {
    if (!ParseInt64(argv.back(), &since) || since < 0) {
      ctx.out().Error(kErrNotInteger);
      return;
    }
    has_since = true;
    end -= 2;
  }
  if (end < 2) {
    ctx.out().Error(WrongArity(prefix ? "pwatch" : "watch"));
    return;
  }
  // One request per shard involved: a key's shard, or every shard for a prefix.
  std::map<uint32_t, v1::WatchRequest> requests;
  auto request_for = [&](uint32_t shard) -> v1::WatchRequest& {
    v1::WatchRequest& r = requests[shard];
    r.set_ns(ctx.client().db);
    r.set_has_since(has_since);
    r.set_since_revision(static_cast<uint64_t>(since));
    return r;
  };
  for (size_t i = 1; i < end; ++i) {
    if (prefix) {
      for (uint32_t shard = 0; shard < ctx.shard_count(); ++shard) {
        request_for(shard).add_prefixes(argv[i]);
      }
    } else {
      request_for(shardlink::ShardForKey(argv[i], ctx.shard_count())).add_keys(argv[i]);
    }
  }
  std::vector<uint32_t> shards;
  std::vector<shardlink::ShardClient*> clients;
  std::vector<v1::WatchRequest> shard_requests;
  for (auto& [shard, request] : requests) {
    shards.push_back(shard);
    clients.push_back(ctx.shared().shards[shard].get());
    shard_requests.push_back(std::move(request));
  }
  auto release = ctx.Defer();
  auto ready_seen = std::make_shared<bool>(false);
  std::weak_ptr<Connection> weak_conn = ctx.connection();
  IoLoop* loop = &ctx.loop();
  auto session = std::make_shared<shardlink::WatchSession>(
      [loop](std::function<void()> fn) { loop->Post(std::move(fn)); }, shards,
      [weak_conn, loop, release, ready_seen](const v1::WatchEvent& event) {
        auto conn = weak_conn.lock();
        if (!conn || conn->closed) return;
        if (event.kind() == v1::WatchEvent::READY) *ready_seen = true;
        const std::string limit_error = absl::StrCat(
            "ERR watch output buffer limit (", IoLoop::kMaxWatchOutputBytes,
            " bytes) exceeded: reconnect and resume with SINCE <last revision seen>");
        loop->WritePush(conn, EncodeEvent(event), limit_error);
        if (event.kind() == v1::WatchEvent::READY) release("");
      },
      [weak_conn, loop, release, ready_seen](const absl::Status& status) {
        const absl::string_view message = status.message();
        auto conn = weak_conn.lock();
        if (!conn || conn->closed) return;
        if (!*ready_seen) {
          release(absl::StrCat("ERR ", message));  // WATCH itself answers the error
          return;
        }
        // A live subscription broke (shard gone, watcher too far behind): say why and close,
        // so the client reconnects and resumes with SINCE rather than wait forever.
        std::string error;
        RespWriter(&error, 3).Error(absl::StrCat("ERR watch ended: ", message));
        loop->WritePush(conn, error, "ERR watch ended");
        conn->closing = true;
        loop->OnReplyReady(conn);
      });
  ctx.connection()->watches.push_back(session);
  ctx.connection()->watch_replies.push_back(release);
  session->Start(clients, shard_requests);
}

void WatchCommand(CommandContext& ctx, Argv& argv) { WatchGeneric(ctx, argv, false); }
void PWatchCommand(CommandContext& ctx, Argv& argv) { WatchGeneric(ctx, argv, true); }

// Ends the optimistic WATCH and every subscription. Ending subscriptions sends no reply
// (wire-protocol.md: no frame may arrive after UNWATCH, and the public SDK treats any as an
// error), except inside EXEC; otherwise +OK as Redis.
void UnwatchCommand(CommandContext& ctx, Argv&) {
  ctx.client().watched.clear();
  ctx.client().watch_failed = false;
  std::vector<std::shared_ptr<shardlink::WatchSession>>& watches = ctx.connection()->watches;
  const bool had_subscriptions = !watches.empty();
  for (auto& watch : watches) watch->Cancel();
  watches.clear();
  // A WATCH still waiting for `ready` (pipelined just before) answers nothing, as one that
  // became ready and was unwatched.
  std::vector<std::function<void(const std::string&)>> replies;
  replies.swap(ctx.connection()->watch_replies);
  for (auto& release : replies) release("");
  // Inside EXEC every command owes an element of EXEC's array.
  if (!had_subscriptions || ctx.reply()->parent != nullptr) ctx.out().Simple("OK");
}

}  // namespace

std::vector<CommandSpec> WatchCommands() {
  return {
      {"watch", -2, {"noscript", "loading", "stale", "fast"}, 1, -1, 1, "beyond-kv", "0.1.0",
       "Subscribes to changes of keys (RESP3 push frames), optionally replaying from a "
       "revision.",
       WatchCommand},
      {"pwatch", -2, {"noscript", "loading", "stale", "fast"}, 0, 0, 0, "beyond-kv", "0.1.0",
       "Subscribes to changes of keys under prefixes (RESP3 push frames), optionally "
       "replaying from a revision.",
       PWatchCommand},
      {"unwatch", 1, {"noscript", "loading", "stale", "fast"}, 0, 0, 0, "beyond-kv", "0.1.0",
       "Stops every WATCH and PWATCH subscription of the connection.", UnwatchCommand},
  };
}

}  // namespace beyondkv::gateway
