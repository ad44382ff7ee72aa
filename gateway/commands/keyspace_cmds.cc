// Keyspace commands (Redis 7.0 src/db.c semantics): DEL, UNLINK, EXISTS, TOUCH, TYPE,
// RENAME, RENAMENX, SCAN, KEYS, RANDOMKEY, FLUSHDB, FLUSHALL. Multi-key forms are split by
// shard and merged (architecture §7); Redis's counting rules hold (EXISTS counts a repeated
// key each time, DEL counts a key once because the second delete finds nothing).
#include <algorithm>
#include <memory>
#include <random>

#include "gateway/commands/command_util.h"
#include "gateway/io_loop.h"
#include "gateway/shardlink/router.h"

namespace beyondkv::gateway {
namespace {

using v1::Op;
using v1::OpResult;

// Sends one `type` op (MDELETE, MEXISTS) per shard with its keys and answers the sum of
// their counts.
void CountKeys(CommandContext& ctx, Argv& argv, Op::Type type) {
  SendKeysForMerge(ctx, argv, type, 1, /*key_shards=*/false);
  ctx.Finish([](CommandContext& c) {
    RespWriter out = c.out();
    if (const OpResult* failed = FirstFailedResult(*c.reply())) {
      ReplyOpError(out, *failed);
      return;
    }
    int64_t count = 0;
    for (const shardlink::TakenResult& r : c.reply()->shard_results) {
      if (r.has_value() && r->code() == OpResult::OK) count += r->count();
    }
    out.Integer(count);
  });
}

void DelCommand(CommandContext& ctx, Argv& argv) { CountKeys(ctx, argv, Op::MDELETE); }
void ExistsCommand(CommandContext& ctx, Argv& argv) { CountKeys(ctx, argv, Op::MEXISTS); }

void TypeCommand(CommandContext& ctx, Argv& argv) {
  Op op = KeyOp(ctx, Op::GET, std::move(argv[1]));
  op.set_no_value(true);
  SendAndReply(ctx, std::move(op), [](const OpResult& r, RespWriter& out) {
    if (!ReplyIfFailed(r, out)) out.Simple(r.code() == OpResult::OK ? "string" : "none");
  });
}

// RENAME / RENAMENX. Within one shard the move is one atomic op. Across shards it takes three
// steps: read the source, write the target (NX for RENAMENX), delete the source if it still
// holds the revision read; a concurrent writer of the source can therefore leave both keys.
void RenameGeneric(CommandContext& ctx, Argv& argv, bool nx) {
  std::string from = std::move(argv[1]);
  std::string to = std::move(argv[2]);
  auto reply_ok = [nx](RespWriter& out, bool renamed) {
    if (!nx) {
      out.Simple("OK");
    } else {
      out.Integer(renamed ? 1 : 0);
    }
  };

  const uint32_t shards = ctx.shard_count();
  if (shardlink::ShardForKey(from, shards) == shardlink::ShardForKey(to, shards)) {
    const bool same = from == to;  // Redis: OK for RENAME, 0 for RENAMENX
    Op op = KeyOp(ctx, Op::RENAME, from);
    op.set_new_key(std::move(to));
    if (nx) op.set_condition(Op::IF_ABSENT);
    SendAndReply(ctx, std::move(op), [reply_ok, same](const OpResult& r, RespWriter& out) {
      if (ReplyIfFailed(r, out)) return;
      if (r.code() == OpResult::NOT_FOUND) {
        out.Error("ERR no such key");
      } else {
        reply_ok(out, r.code() == OpResult::OK && !same);
      }
    });
    return;
  }
  ctx.Send(from, KeyOp(ctx, Op::GET, from),
           [from, to, nx, reply_ok](const OpResult& got, CommandContext& c) {
             RespWriter out = c.out();
             if (ReplyIfFailed(got, out)) return;
             if (got.code() == OpResult::NOT_FOUND) {
               out.Error("ERR no such key");
               return;
             }
             Op put = KeyOp(c, Op::PUT, to);
             put.set_value(got.value());
             put.set_metadata(got.metadata());
             put.set_expire_at_ms(got.expire_at_ms());
             if (nx) put.set_condition(Op::IF_ABSENT);
             const uint64_t revision = got.revision();
             c.Send(to, std::move(put),
                    [from, revision, reply_ok](const OpResult& put_result, CommandContext& c2) {
                      RespWriter out2 = c2.out();
                      if (ReplyIfFailed(put_result, out2)) return;
                      if (put_result.code() == OpResult::CONDITION_FAILED) {
                        reply_ok(out2, false);
                        return;
                      }
                      Op del = KeyOp(c2, Op::DELETE, from);
                      del.set_condition(Op::IF_REVISION);
                      del.set_if_revision(revision);
                      c2.Send(from, std::move(del),
                              [reply_ok](const OpResult& del_result, CommandContext& c3) {
                                RespWriter out3 = c3.out();
                                if (!ReplyIfFailed(del_result, out3)) reply_ok(out3, true);
                              });
                    });
           });
}

void RenameCommand(CommandContext& ctx, Argv& argv) { RenameGeneric(ctx, argv, false); }
void RenameNxCommand(CommandContext& ctx, Argv& argv) { RenameGeneric(ctx, argv, true); }

// The literal prefix of a glob pattern: every key it can match starts with it.
std::string LiteralPrefix(std::string_view pattern) {
  size_t n = pattern.find_first_of("*?[\\");
  return std::string(pattern.substr(0, n));
}

// One shard's answer to a SCAN step.
struct ShardPage {
  std::vector<std::string> keys;
  bool more = false;
  std::string last_key;
};

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: asks every shard for up to COUNT
// matching keys after the cursor's key, then returns the smallest keys in order up to the
// lowest point every shard has covered, at most COUNT of them. A key present for the whole
// scan is returned exactly once; the cursor is 0 once no shard has keys left.
void ScanCommand(CommandContext& ctx, Argv& argv) {
  uint64_t cursor = 0;
  {
    const std::string& text = argv[1];
    bool ok = !text.empty() && text.size() <= 20 &&
              text.find_first_not_of("0123456789") == std::string::npos;
    if (ok) {
      errno = 0;
      char* end = nullptr;
      cursor = strtoull(text.c_str(), &end, 10);
      ok = errno == 0;
    }
    if (!ok) {
      ctx.out().Error("ERR invalid cursor");
      return;
    }
  }
  std::string pattern;
  bool match_given = false;
  int64_t count = 10;
  bool only_strings = true;
  for (size_t j = 2; j < argv.size(); j += 2) {
    if (j + 1 >= argv.size()) {
      ctx.out().Error(kErrSyntax);
      return;
    }
    if (EqualsIgnoreCase(argv[j], "match")) {
      pattern = argv[j + 1];
      match_given = true;
    } else if (EqualsIgnoreCase(argv[j], "count")) {
      if (!ParseInt64(argv[j + 1], &count)) {
        ctx.out().Error(kErrNotInteger);
        return;
      }
      if (count < 1) {
        ctx.out().Error(kErrSyntax);
        return;
      }
    } else if (EqualsIgnoreCase(argv[j], "type")) {
      only_strings = EqualsIgnoreCase(argv[j + 1], "string");
    } else {
      ctx.out().Error(kErrSyntax);
      return;
    }
  }
  std::string start;
  if (cursor != 0) {
    std::optional<std::string> key = ctx.shared().scan_cursors.Lookup(cursor, ctx.client().db);
    if (!key) {
      ctx.out().Error("ERR invalid cursor");
      return;
    }
    start = std::move(*key);
  }
  const uint32_t limit = static_cast<uint32_t>(std::min<int64_t>(count, 100000));
  auto pages = std::make_shared<std::vector<ShardPage>>(ctx.shard_count());
  auto error = std::make_shared<FirstError>();
  if (match_given && pattern.empty()) {
    // Only the empty key matches an empty pattern (on the wire, empty means "all").
    ctx.Send("", KeyOp(ctx, Op::EXISTS, ""), [](const OpResult& r, CommandContext& c) {
      RespWriter out = c.out();
      if (ReplyIfFailed(r, out)) return;
      out.ArrayHeader(2);
      out.Bulk("0");
      out.ArrayHeader(r.code() == OpResult::OK ? 1 : 0);
      if (r.code() == OpResult::OK) out.Bulk("");
    });
    return;
  }
  if (pattern == "*") pattern.clear();
  for (uint32_t shard = 0; shard < ctx.shard_count(); ++shard) {
    Op op;
    op.set_type(Op::SCAN);
    op.set_ns(ctx.client().db);
    op.set_start_after(start);
    op.set_start_inclusive(cursor == 0);
    op.set_prefix(LiteralPrefix(pattern));
    op.set_pattern(pattern);
    op.set_limit(limit);
    ctx.SendToShard(shard, std::move(op),
                    [pages, error, shard](const OpResult& r, CommandContext&) {
                      error->Note(r);
                      ShardPage& page = (*pages)[shard];
                      page.keys.assign(r.keys().begin(), r.keys().end());
                      page.more = r.more();
                      page.last_key = r.last_key();
                    });
  }
  const uint32_t ns = ctx.client().db;
  ctx.Finish([pages, error, limit, only_strings, ns](CommandContext& c) {
    RespWriter out = c.out();
    if (error->Reply(out)) return;
    // Every shard has covered the keyspace up to `bound` (if any shard has more).
    const std::string* bound = nullptr;
    for (const ShardPage& page : *pages) {
      if (page.more && (bound == nullptr || page.last_key < *bound)) bound = &page.last_key;
    }
    std::vector<std::string> keys;
    for (ShardPage& page : *pages) {
      for (std::string& key : page.keys) {
        if (bound == nullptr || key <= *bound) keys.push_back(std::move(key));
      }
    }
    std::sort(keys.begin(), keys.end());
    std::string resume;
    bool done = bound == nullptr;
    if (keys.size() > limit) {
      keys.resize(limit);
      resume = keys.back();
      done = false;
    } else if (bound != nullptr) {
      resume = *bound;
    }
    uint64_t next = done ? 0 : c.shared().scan_cursors.Save(ns, std::move(resume));
    out.ArrayHeader(2);
    out.Bulk(std::to_string(next));
    if (!only_strings) keys.clear();
    out.ArrayHeader(keys.size());
    for (const std::string& key : keys) out.Bulk(key);
  });
}

// KEYS pattern: every shard walks its keys under the pattern's literal prefix, page by page.
void KeysCommand(CommandContext& ctx, Argv& argv) {
  struct State {
    std::vector<std::string> keys;
    FirstError error;
  };
  auto state = std::make_shared<State>();
  if (argv[1].empty()) {
    // Only the empty key matches an empty pattern (an empty pattern on the wire means "all").
    ctx.Send("", KeyOp(ctx, Op::EXISTS, ""), [](const OpResult& r, CommandContext& c) {
      RespWriter out = c.out();
      if (ReplyIfFailed(r, out)) return;
      out.ArrayHeader(r.code() == OpResult::OK ? 1 : 0);
      if (r.code() == OpResult::OK) out.Bulk("");
    });
    return;
  }
  std::string pattern = argv[1] == "*" ? std::string() : argv[1];
  const uint32_t ns = ctx.client().db;
  // Sends one page request to `shard` from `start`; each answer asks for the next page.
  auto fetch = std::make_shared<std::function<void(CommandContext&, uint32_t, std::string, bool)>>();
  *fetch = [state, pattern, ns, weak = std::weak_ptr<std::function<void(CommandContext&, uint32_t, std::string, bool)>>(fetch)](
               CommandContext& c, uint32_t shard, std::string start, bool inclusive) {
    Op op;
    op.set_type(Op::SCAN);
    op.set_ns(ns);
    op.set_start_after(std::move(start));
    op.set_start_inclusive(inclusive);
    op.set_prefix(LiteralPrefix(pattern));
    op.set_pattern(pattern);
    op.set_limit(1000);
    c.SendToShard(shard, std::move(op),
                  [state, shard, weak](const OpResult& r, CommandContext& c2) {
                    state->error.Note(r);
                    if (Failed(r)) return;
                    for (const std::string& key : r.keys()) state->keys.push_back(key);
                    auto next = weak.lock();
                    if (r.more() && next) (*next)(c2, shard, r.last_key(), false);
                  });
  };
  for (uint32_t shard = 0; shard < ctx.shard_count(); ++shard) (*fetch)(ctx, shard, "", true);
  ctx.Finish([state, fetch](CommandContext& c) {
    RespWriter out = c.out();
    if (state->error.Reply(out)) return;
    std::sort(state->keys.begin(), state->keys.end());
    out.ArrayHeader(state->keys.size());
    for (const std::string& key : state->keys) out.Bulk(key);
  });
}

void RandomKeyCommand(CommandContext& ctx, Argv&) {
  struct State {
    std::vector<std::string> keys;
    FirstError error;
  };
  auto state = std::make_shared<State>();
  for (uint32_t shard = 0; shard < ctx.shard_count(); ++shard) {
    Op op;
    op.set_type(Op::RANDOM_KEY);
    op.set_ns(ctx.client().db);
    ctx.SendToShard(shard, std::move(op), [state](const OpResult& r, CommandContext&) {
      state->error.Note(r);
      if (r.code() == OpResult::OK && r.keys_size() > 0) state->keys.push_back(r.keys(0));
    });
  }
  ctx.Finish([state](CommandContext& c) {
    RespWriter out = c.out();
    if (state->error.Reply(out)) return;
    if (state->keys.empty()) {
      out.Null();
      return;
    }
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    out.Bulk(state->keys[rng() % state->keys.size()]);
  });
}

// Sends FLUSH for each namespace in [first, last] to every shard, then answers OK.
void FlushNamespaces(CommandContext& ctx, Argv& argv, uint32_t first, uint32_t last) {
  if (argv.size() > 2 ||
      (argv.size() == 2 && !EqualsIgnoreCase(argv[1], "async") &&
       !EqualsIgnoreCase(argv[1], "sync"))) {
    ctx.out().Error(kErrSyntax);
    return;
  }
  auto error = std::make_shared<FirstError>();
  for (uint32_t ns = first; ns <= last; ++ns) {
    for (uint32_t shard = 0; shard < ctx.shard_count(); ++shard) {
      Op op;
      op.set_type(Op::FLUSH);
      op.set_ns(ns);
      ctx.SendToShard(shard, std::move(op), NoteError(error));
    }
  }
  FinishOk(ctx, error);
}

void FlushDbCommand(CommandContext& ctx, Argv& argv) {
  FlushNamespaces(ctx, argv, ctx.client().db, ctx.client().db);
}

void FlushAllCommand(CommandContext& ctx, Argv& argv) { FlushNamespaces(ctx, argv, 0, 15); }

}  // namespace

std::vector<CommandSpec> KeyspaceCommands() {
  return {
      {"del", -2, {"write"}, 1, -1, 1, "generic", "1.0.0", "Deletes one or more keys.",
       DelCommand},
      {"unlink", -2, {"write", "fast"}, 1, -1, 1, "generic", "4.0.0",
       "Asynchronously deletes one or more keys.", DelCommand},
      {"exists", -2, {"readonly", "fast"}, 1, -1, 1, "generic", "1.0.0",
       "Determines whether one or more keys exist.", ExistsCommand},
      {"touch", -2, {"readonly", "fast"}, 1, -1, 1, "generic", "3.2.1",
       "Returns the number of existing keys out of those specified after updating the time "
       "they were last accessed.",
       ExistsCommand},
      {"type", 2, {"readonly", "fast"}, 1, 1, 1, "generic", "1.0.0",
       "Determines the type of value stored at a key.", TypeCommand},
      {"rename", 3, {"write"}, 1, 2, 1, "generic", "1.0.0", "Renames a key and overwrites the destination.",
       RenameCommand},
      {"renamenx", 3, {"write", "fast"}, 1, 2, 1, "generic", "1.0.0",
       "Renames a key only when the target key name doesn't exist.", RenameNxCommand},
      {"scan", -2, {"readonly"}, 0, 0, 0, "generic", "2.8.0",
       "Iterates over the key names in the database.", ScanCommand},
      {"keys", 2, {"readonly"}, 0, 0, 0, "generic", "1.0.0",
       "Returns all key names that match a pattern.", KeysCommand},
      {"randomkey", 1, {"readonly"}, 0, 0, 0, "generic", "1.0.0",
       "Returns a random key name from the database.", RandomKeyCommand},
      {"flushdb", -1, {"write"}, 0, 0, 0, "server", "1.0.0",
       "Remove all keys from the current database.", FlushDbCommand},
      {"flushall", -1, {"write"}, 0, 0, 0, "server", "1.0.0",
       "Removes all keys from all databases.", FlushAllCommand},
  };
}

}  // namespace beyondkv::gateway
