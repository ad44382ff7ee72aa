// String commands (Redis 7.0 src/t_string.c semantics): GET, SET, SETNX, SETEX, PSETEX,
// GETSET, GETDEL, GETEX, MGET, MSET, MSETNX, INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT, APPEND,
// STRLEN, GETRANGE, SETRANGE. The value lives in the shard that owns the key; every
// read-modify-write runs in that shard's engine thread, so it is atomic.
#include <memory>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/bit_ops.h"
#include "gateway/commands/command_util.h"
#include "gateway/shardlink/batch.h"

namespace beyondkv::gateway {
namespace {

using v1::Op;
using v1::OpResult;

constexpr int64_t kMaxStringBytes = 512ll << 20;  // Redis's proto-max-bulk-len
constexpr std::string_view kErrStringTooLong =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

bool ValueTooLarge(CommandContext& ctx, std::string_view value) {
  if (value.size() <= ctx.config().max_value_bytes) return false;
  ctx.out().Error(absl::StrCat("ERR value of ", value.size(), " bytes exceeds --max-value-bytes (",
                               ctx.config().max_value_bytes, " bytes)"));
  return true;
}

void ReplyValueOrNull(const OpResult& r, RespWriter& out) {
  if (ReplyIfFailed(r, out)) return;
  if (r.code() == OpResult::NOT_FOUND) {
    out.Null();
  } else {
    out.Bulk(r.value());
  }
}

void GetCommand(CommandContext& ctx, Argv& argv) {
  ctx.NewOp(Op::GET, argv[1], [](OpResult& r, CommandContext& c) {
    RespWriter out = c.out();
    ReplyValueOrNull(r, out);
  });
}

// The options of SET and GETEX, parsed as Redis 7.0's parseExtendedStringArgumentsOrReply
// does: an option may repeat (the last value wins: `PX 0 PX 100` sets 100 ms, `PERSIST
// PERSIST` is PERSIST), but NX conflicts with XX, and EX, PX, EXAT, PXAT, KEEPTTL (SET) and
// PERSIST (GETEX) conflict with each other; a conflict, an option of the other command or an
// expiry option without a value is a syntax error. The expiry value is checked only after
// every option parsed, so `EX -5 PXAT 1` is a syntax error, not an invalid expire time.
struct StringOptions {
  enum Flag : uint32_t {
    kNx = 1 << 0,
    kXx = 1 << 1,
    kEx = 1 << 2,
    kPx = 1 << 3,
    kKeepTtl = 1 << 4,
    kGet = 1 << 5,
    kExAt = 1 << 6,
    kPxAt = 1 << 7,
    kPersist = 1 << 8,
  };
  static constexpr uint32_t kExpiryFlags = kEx | kPx | kExAt | kPxAt;
  uint32_t flags = 0;
  std::string_view expire;  // the value of the (last) EX/PX/EXAT/PXAT

  bool Has(uint32_t f) const { return (flags & f) != 0; }

  // argv[first..]: false (and a syntax error replied) when Redis refuses them.
  bool Parse(CommandContext& ctx, const Argv& argv, size_t first, bool is_set) {
    for (size_t j = first; j < argv.size(); ++j) {
      const std::string& opt = argv[j];
      const bool has_next = j + 1 < argv.size();
      // An expiry option: allowed if no other expiry kind (nor KEEPTTL/PERSIST) was given.
      auto expiry = [&](uint32_t kind) {
        if (Has((kExpiryFlags & ~kind) | kKeepTtl | kPersist) || !has_next) return false;
        flags |= kind;
        expire = argv[++j];
        return true;
      };
      bool ok;
      if (EqualsIgnoreCase(opt, "nx")) {
        ok = is_set && !Has(kXx);
        if (ok) flags |= kNx;
      } else if (EqualsIgnoreCase(opt, "xx")) {
        ok = is_set && !Has(kNx);
        if (ok) flags |= kXx;
      } else if (EqualsIgnoreCase(opt, "get")) {
        ok = is_set;
        if (ok) flags |= kGet;
      } else if (EqualsIgnoreCase(opt, "keepttl")) {
        ok = is_set && !Has(kExpiryFlags | kPersist);
        if (ok) flags |= kKeepTtl;
      } else if (EqualsIgnoreCase(opt, "persist")) {
        ok = !is_set && !Has(kExpiryFlags | kKeepTtl);
        if (ok) flags |= kPersist;
      } else if (EqualsIgnoreCase(opt, "ex")) {
        ok = expiry(kEx);
      } else if (EqualsIgnoreCase(opt, "px")) {
        ok = expiry(kPx);
      } else if (EqualsIgnoreCase(opt, "exat")) {
        ok = expiry(kExAt);
      } else if (EqualsIgnoreCase(opt, "pxat")) {
        ok = expiry(kPxAt);
      } else {
        ok = false;
      }
      if (!ok) {
        ctx.out().Error(kErrSyntax);
        return false;
      }
    }
    return true;
  }

  // Absolute Unix ms, or 0 without an expiry option. On bad input sets *error to the reply
  // and returns false (Redis's getExpireMillisecondsOrReply).
  bool Resolve(std::string_view command, int64_t* expire_at_ms, std::string* error) const {
    *expire_at_ms = 0;
    if (!Has(kExpiryFlags)) return true;
    int64_t n;
    if (!ParseInt64(expire, &n)) {
      *error = std::string(kErrNotInteger);
      return false;
    }
    const bool seconds = Has(kEx | kExAt);
    if (n <= 0 || !ToAbsoluteMs(n, seconds, Has(kEx | kPx), expire_at_ms) ||
        *expire_at_ms <= 0) {
      *error = InvalidExpire(command);
      return false;
    }
    return true;
  }
};

// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT unix-s | PXAT unix-ms | KEEPTTL]
void SetCommand(CommandContext& ctx, Argv& argv) {
  StringOptions opts;
  if (!opts.Parse(ctx, argv, 3, /*is_set=*/true)) return;
  const bool nx = opts.Has(StringOptions::kNx), xx = opts.Has(StringOptions::kXx);
  const bool get = opts.Has(StringOptions::kGet);
  const bool keep_ttl = opts.Has(StringOptions::kKeepTtl);
  int64_t expire_at_ms;
  std::string error;
  if (!opts.Resolve("set", &expire_at_ms, &error)) {
    ctx.out().Error(error);
    return;
  }
  if (ValueTooLarge(ctx, argv[2])) return;
  Op* op = ctx.NewOp(Op::PUT, argv[1], [get](OpResult& r, CommandContext& c) {
    RespWriter out = c.out();
    if (ReplyIfFailed(r, out)) return;
    if (get) {  // SET ... GET answers the old value whether or not the condition held
      if (r.has_old()) {
        out.Bulk(r.value());
      } else {
        out.Null();
      }
    } else if (r.code() == OpResult::CONDITION_FAILED) {
      out.Null();
    } else {
      out.Simple("OK");
    }
  });
  op->set_value(std::move(argv[2]));  // swaps buffers with the reused op: no copy, no allocation
  op->set_condition(nx ? Op::IF_ABSENT : xx ? Op::IF_PRESENT : Op::ALWAYS);
  op->set_expire_at_ms(expire_at_ms);
  op->set_keep_ttl(keep_ttl);
  op->set_return_old(get);
}

void SetNxCommand(CommandContext& ctx, Argv& argv) {
  if (ValueTooLarge(ctx, argv[2])) return;
  Op op = KeyOp(ctx, Op::PUT, std::move(argv[1]));
  op.set_value(std::move(argv[2]));
  op.set_condition(Op::IF_ABSENT);
  SendAndReply(ctx, std::move(op), [](const OpResult& r, RespWriter& out) {
    if (!ReplyIfFailed(r, out)) out.Integer(r.code() == OpResult::OK ? 1 : 0);
  });
}

// SETEX key seconds value / PSETEX key milliseconds value.
void SetExGeneric(CommandContext& ctx, Argv& argv, bool seconds, std::string_view name) {
  int64_t n, expire_at_ms;
  if (!ParseInt64(argv[2], &n)) {
    ctx.out().Error(kErrNotInteger);
    return;
  }
  if (n <= 0 || !ToAbsoluteMs(n, seconds, /*relative=*/true, &expire_at_ms)) {
    ctx.out().Error(InvalidExpire(name));
    return;
  }
  if (ValueTooLarge(ctx, argv[3])) return;
  Op op = KeyOp(ctx, Op::PUT, std::move(argv[1]));
  op.set_value(std::move(argv[3]));
  op.set_expire_at_ms(expire_at_ms);
  SendAndReply(ctx, std::move(op), [](const OpResult& r, RespWriter& out) {
    if (!ReplyIfFailed(r, out)) out.Simple("OK");
  });
}

void SetExCommand(CommandContext& ctx, Argv& argv) { SetExGeneric(ctx, argv, true, "setex"); }
void PSetExCommand(CommandContext& ctx, Argv& argv) { SetExGeneric(ctx, argv, false, "psetex"); }

void GetSetCommand(CommandContext& ctx, Argv& argv) {
  if (ValueTooLarge(ctx, argv[2])) return;
  Op op = KeyOp(ctx, Op::PUT, std::move(argv[1]));
  op.set_value(std::move(argv[2]));
  op.set_return_old(true);
  SendAndReply(ctx, std::move(op), [](const OpResult& r, RespWriter& out) {
    if (ReplyIfFailed(r, out)) return;
    if (r.has_old()) {
      out.Bulk(r.value());
    } else {
      out.Null();
    }
  });
}

void GetDelCommand(CommandContext& ctx, Argv& argv) {
  Op op = KeyOp(ctx, Op::DELETE, std::move(argv[1]));
  op.set_return_old(true);
  SendAndReply(ctx, std::move(op), ReplyValueOrNull);
}

// GETEX key [EX s | PX ms | EXAT unix-s | PXAT unix-ms | PERSIST]
void GetExCommand(CommandContext& ctx, Argv& argv) {
  StringOptions opts;
  if (!opts.Parse(ctx, argv, 2, /*is_set=*/false)) return;
  int64_t expire_at_ms;
  std::string error;
  if (!opts.Resolve("getex", &expire_at_ms, &error)) {
    // Redis looks the key up before it checks the expiry: a missing key answers null.
    Op op = KeyOp(ctx, Op::GET, std::move(argv[1]));
    op.set_no_value(true);
    SendAndReply(ctx, std::move(op), [error](const OpResult& r, RespWriter& out) {
      if (ReplyIfFailed(r, out)) return;
      if (r.code() == OpResult::NOT_FOUND) {
        out.Null();
      } else {
        out.Error(error);
      }
    });
    return;
  }
  if (!opts.Has(StringOptions::kPersist | StringOptions::kExpiryFlags)) {
    SendAndReply(ctx, KeyOp(ctx, Op::GET, std::move(argv[1])), ReplyValueOrNull);
    return;
  }
  Op op = KeyOp(ctx, Op::EXPIRE, std::move(argv[1]));
  op.set_expire_at_ms(expire_at_ms);  // 0 with PERSIST
  op.set_return_value(true);
  SendAndReply(ctx, std::move(op), ReplyValueOrNull);
}

// MGET: one MGET op per shard with its keys; the replies merge in the client's order. The merge
// state lives in the (pooled) PendingReply and the callbacks capture nothing: no allocation,
// shared_ptr or heap-stored std::function per command.
void MGetCommand(CommandContext& ctx, Argv& argv) {
  SendKeysForMerge(ctx, argv, Op::MGET, 1, /*key_shards=*/true);
  ctx.Finish([](CommandContext& c) {
    RespWriter out = c.out();
    PendingReply& state = *c.reply();
    const std::vector<uint32_t>& key_shards = state.key_shards;
    std::vector<shardlink::TakenResult>& results = state.shard_results;
    // Each shard's answer must hold one value per key sent to it.
    absl::InlinedVector<int, 64> next(results.size(), 0);
    for (uint32_t shard : key_shards) ++next[shard];
    for (uint32_t shard = 0; shard < results.size(); ++shard) {
      if (next[shard] == 0) continue;
      if (!results[shard].has_value()) {  // every op is answered; never expected
        out.Error("ERR shard " + std::to_string(shard) + " did not answer an MGET");
        return;
      }
      const OpResult& r = *results[shard];
      if (ReplyIfFailed(r, out)) return;
      if (r.values_size() != next[shard] || r.found_size() != next[shard]) {
        out.Error("ERR shard " + std::to_string(shard) + " answered a short MGET");
        return;
      }
      next[shard] = 0;
    }
    out.ArrayHeader(key_shards.size());
    for (uint32_t shard : key_shards) {
      const OpResult& r = *results[shard];
      const int i = next[shard]++;
      if (r.found(i)) {
        out.Bulk(r.values(i));
      } else {
        out.Null();
      }
    }
    for (shardlink::TakenResult& result : results) result.Reset();  // back to the pool now
  });
}

// MSET: one MPUT op per shard. Atomic within each shard (a shard applies a whole op before
// any other); across shards a reader may see some keys written before others
// (ARCHITECTURE.md §3).
void MSetCommand(CommandContext& ctx, Argv& argv) {
  if (argv.size() % 2 != 1) {
    ctx.out().Error(WrongArity("mset"));
    return;
  }
  for (size_t i = 2; i < argv.size(); i += 2) {
    if (ValueTooLarge(ctx, argv[i])) return;
  }
  SendKeysForMerge(ctx, argv, Op::MPUT, 2, /*key_shards=*/false);
  ctx.Finish([](CommandContext& c) {
    RespWriter out = c.out();
    if (const OpResult* failed = FirstFailedResult(*c.reply())) {
      ReplyOpError(out, *failed);
    } else {
      out.Simple("OK");
    }
  });
}

// MSETNX: all or nothing across shards. Phase 1 writes every key with NX; if any key existed,
// phase 2 deletes the keys phase 1 wrote (each only if still at the revision written), and
// the reply is 0. A concurrent reader may glimpse the keys of a failed MSETNX in between.
void MSetNxCommand(CommandContext& ctx, Argv& argv) {
  if (argv.size() % 2 != 1) {
    ctx.out().Error(WrongArity("msetnx"));
    return;
  }
  for (size_t i = 2; i < argv.size(); i += 2) {
    if (ValueTooLarge(ctx, argv[i])) return;
  }
  // A repeated key takes its last value, as in Redis (which checks, then sets in order).
  absl::flat_hash_map<std::string, size_t> last;
  for (size_t i = 1; i < argv.size(); i += 2) last[argv[i]] = i;
  struct State {
    FirstError error;
    bool conflict = false;
    std::vector<std::pair<std::string, uint64_t>> written;  // key, revision
  };
  auto state = std::make_shared<State>();
  for (size_t i = 1; i < argv.size(); i += 2) {
    if (last[argv[i]] != i) continue;
    Op op = KeyOp(ctx, Op::PUT, argv[i]);
    op.set_value(std::move(argv[i + 1]));
    op.set_condition(Op::IF_ABSENT);
    std::string key = std::move(argv[i]);
    ctx.Send(key, std::move(op), [state, key](const OpResult& r, CommandContext&) {
      state->error.Note(r);
      if (r.code() == OpResult::CONDITION_FAILED) state->conflict = true;
      if (r.code() == OpResult::OK) state->written.emplace_back(key, r.revision());
    });
  }
  ctx.Finish([state](CommandContext& c) {
    if (!state->conflict && !Failed(state->error.error)) {
      c.out().Integer(1);
      return;
    }
    for (auto& [key, revision] : state->written) {
      Op undo = KeyOp(c, Op::DELETE, key);
      undo.set_condition(Op::IF_REVISION);
      undo.set_if_revision(revision);
      c.Send(key, std::move(undo), nullptr);
    }
    c.Finish([state](CommandContext& c2) {
      RespWriter out = c2.out();
      if (!state->error.Reply(out)) out.Integer(0);
    });
  });
}

// INCR, DECR, INCRBY, DECRBY.
void IncrBy(CommandContext& ctx, std::string key, int64_t delta) {
  Op op = KeyOp(ctx, Op::INCR, std::move(key));
  op.set_delta(delta);
  SendAndReply(ctx, std::move(op), [](const OpResult& r, RespWriter& out) {
    if (r.code() == OpResult::INVALID_ARGUMENT && r.reason() == OpResult::NOT_INTEGER) {
      out.Error(kErrNotInteger);
    } else if (r.code() == OpResult::INVALID_ARGUMENT && r.reason() == OpResult::INT_OVERFLOW) {
      out.Error("ERR increment or decrement would overflow");
    } else if (!ReplyIfFailed(r, out)) {
      out.Integer(r.int_value());
    }
  });
}

void IncrCommand(CommandContext& ctx, Argv& argv) { IncrBy(ctx, std::move(argv[1]), 1); }
void DecrCommand(CommandContext& ctx, Argv& argv) { IncrBy(ctx, std::move(argv[1]), -1); }

void IncrByCommand(CommandContext& ctx, Argv& argv) {
  int64_t delta;
  if (!ParseInt64(argv[2], &delta)) {
    ctx.out().Error(kErrNotInteger);
    return;
  }
  IncrBy(ctx, std::move(argv[1]), delta);
}

void DecrByCommand(CommandContext& ctx, Argv& argv) {
  int64_t delta;
  if (!ParseInt64(argv[2], &delta)) {
    ctx.out().Error(kErrNotInteger);
    return;
  }
  if (delta == INT64_MIN) {
    ctx.out().Error("ERR decrement would overflow");
    return;
  }
  IncrBy(ctx, std::move(argv[1]), -delta);
}

void IncrByFloatCommand(CommandContext& ctx, Argv& argv) {
  long double delta;
  if (!ParseLongDouble(argv[2], &delta)) {
    ctx.out().Error("ERR value is not a valid float");
    return;
  }
  Op op = KeyOp(ctx, Op::INCR_FLOAT, std::move(argv[1]));
  op.set_value(std::move(argv[2]));
  SendAndReply(ctx, std::move(op), [](const OpResult& r, RespWriter& out) {
    if (r.code() == OpResult::INVALID_ARGUMENT && r.reason() == OpResult::NOT_FLOAT) {
      out.Error("ERR value is not a valid float");
    } else if (r.code() == OpResult::INVALID_ARGUMENT && r.reason() == OpResult::NAN_OR_INF) {
      out.Error("ERR increment would produce NaN or Infinity");
    } else if (!ReplyIfFailed(r, out)) {
      out.Bulk(r.value());
    }
  });
}

void ReplyLength(const OpResult& r, RespWriter& out) {
  if (r.code() == OpResult::INVALID_ARGUMENT && r.reason() == OpResult::STRING_TOO_LONG) {
    out.Error(kErrStringTooLong);
  } else if (r.code() == OpResult::INVALID_ARGUMENT && r.reason() == OpResult::OFFSET_OUT_OF_RANGE) {
    out.Error("ERR offset is out of range");
  } else if (!ReplyIfFailed(r, out)) {
    out.Integer(r.count());
  }
}

void AppendCommand(CommandContext& ctx, Argv& argv) {
  if (ValueTooLarge(ctx, argv[2])) return;
  Op op = KeyOp(ctx, Op::APPEND, std::move(argv[1]));
  op.set_value(std::move(argv[2]));
  SendAndReply(ctx, std::move(op), ReplyLength);
}

void StrlenCommand(CommandContext& ctx, Argv& argv) {
  SendAndReply(ctx, KeyOp(ctx, Op::GET, std::move(argv[1])),
               [](const OpResult& r, RespWriter& out) {
                 if (!ReplyIfFailed(r, out)) out.Integer(static_cast<int64_t>(r.value().size()));
               });
}

// GETRANGE key start end, with Redis's clamping of negative and out-of-range offsets.
void GetRangeCommand(CommandContext& ctx, Argv& argv) {
  int64_t start, end;
  if (!ParseInt64(argv[2], &start) || !ParseInt64(argv[3], &end)) {
    ctx.out().Error(kErrNotInteger);
    return;
  }
  SendAndReply(ctx, KeyOp(ctx, Op::GET, std::move(argv[1])),
               [start, end](const OpResult& r, RespWriter& out) {
                 if (ReplyIfFailed(r, out)) return;
                 out.Bulk(bitops::GetRange(r.value(), start, end));  // "" when absent
               });
}

void SetRangeCommand(CommandContext& ctx, Argv& argv) {
  int64_t offset;
  if (!ParseInt64(argv[2], &offset)) {
    ctx.out().Error(kErrNotInteger);
    return;
  }
  if (offset < 0) {
    ctx.out().Error("ERR offset is out of range");
    return;
  }
  // Compared without adding: offset + size overflows int64 for offsets near 2^63.
  if (!argv[3].empty() && offset > kMaxStringBytes - static_cast<int64_t>(argv[3].size())) {
    ctx.out().Error(kErrStringTooLong);
    return;
  }
  Op op = KeyOp(ctx, Op::SETRANGE, std::move(argv[1]));
  op.set_offset(offset);
  op.set_value(std::move(argv[3]));
  SendAndReply(ctx, std::move(op), ReplyLength);
}

}  // namespace

std::vector<CommandSpec> StringCommands() {
  return {
      {"get", 2, {"readonly", "fast"}, 1, 1, 1, "string", "1.0.0",
       "Returns the string value of a key.", GetCommand},
      {"set", -3, {"write", "denyoom"}, 1, 1, 1, "string", "1.0.0",
       "Sets the string value of a key, ignoring its type. The key is created if it doesn't "
       "exist.",
       SetCommand},
      {"setnx", 3, {"write", "denyoom", "fast"}, 1, 1, 1, "string", "1.0.0",
       "Set the string value of a key only when the key doesn't exist.", SetNxCommand},
      {"setex", 4, {"write", "denyoom"}, 1, 1, 1, "string", "2.0.0",
       "Sets the string value and expiration time of a key.", SetExCommand},
      {"psetex", 4, {"write", "denyoom"}, 1, 1, 1, "string", "2.6.0",
       "Sets both string value and expiration time in milliseconds of a key.", PSetExCommand},
      {"getset", 3, {"write", "denyoom", "fast"}, 1, 1, 1, "string", "1.0.0",
       "Returns the previous string value of a key after setting it to a new value.",
       GetSetCommand},
      {"getdel", 2, {"write", "fast"}, 1, 1, 1, "string", "6.2.0",
       "Returns the string value of a key after deleting the key.", GetDelCommand},
      {"getex", -2, {"write", "fast"}, 1, 1, 1, "string", "6.2.0",
       "Returns the string value of a key after setting its expiration time.", GetExCommand},
      {"mget", -2, {"readonly", "fast"}, 1, -1, 1, "string", "1.0.0",
       "Atomically returns the string values of one or more keys.", MGetCommand},
      {"mset", -3, {"write", "denyoom"}, 1, -1, 2, "string", "1.0.1",
       "Atomically creates or modifies the string values of one or more keys.", MSetCommand},
      {"msetnx", -3, {"write", "denyoom"}, 1, -1, 2, "string", "1.0.1",
       "Atomically modifies the string values of one or more keys only when all keys don't "
       "exist.",
       MSetNxCommand},
      {"incr", 2, {"write", "denyoom", "fast"}, 1, 1, 1, "string", "1.0.0",
       "Increments the integer value of a key by one.", IncrCommand},
      {"decr", 2, {"write", "denyoom", "fast"}, 1, 1, 1, "string", "1.0.0",
       "Decrements the integer value of a key by one.", DecrCommand},
      {"incrby", 3, {"write", "denyoom", "fast"}, 1, 1, 1, "string", "1.0.0",
       "Increments the integer value of a key by a number.", IncrByCommand},
      {"decrby", 3, {"write", "denyoom", "fast"}, 1, 1, 1, "string", "1.0.0",
       "Decrements a number from the integer value of a key.", DecrByCommand},
      {"incrbyfloat", 3, {"write", "denyoom", "fast"}, 1, 1, 1, "string", "2.6.0",
       "Increment the floating point value of a key by a number.", IncrByFloatCommand},
      {"append", 3, {"write", "denyoom", "fast"}, 1, 1, 1, "string", "2.0.0",
       "Appends a string to the value of a key. Creates the key if it doesn't exist.",
       AppendCommand},
      {"strlen", 2, {"readonly", "fast"}, 1, 1, 1, "string", "2.2.0",
       "Returns the length of a string value.", StrlenCommand},
      {"getrange", 4, {"readonly"}, 1, 1, 1, "string", "2.4.0",
       "Returns a substring of the string stored at a key.", GetRangeCommand},
      {"substr", 4, {"readonly"}, 1, 1, 1, "string", "1.0.0",
       "Returns a substring from a string value.", GetRangeCommand},
      {"setrange", 4, {"write", "denyoom"}, 1, 1, 1, "string", "2.2.0",
       "Overwrites a part of a string value with another by an offset. Creates the key if "
       "it doesn't exist.",
       SetRangeCommand},
  };
}

}  // namespace beyondkv::gateway
