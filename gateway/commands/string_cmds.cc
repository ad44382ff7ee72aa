// String commands: GET, SET, MGET, MSET. Semantics follow Redis 7.0 (src/t_string.c and
// src/commands/set.json); the value lives in the shard that owns the key.
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/command_table.h"
#include "gateway/replies.h"

namespace beyondkv::gateway {
namespace {

using v1::Op;
using v1::OpResult;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

bool ValueTooLarge(CommandContext& ctx, std::string_view value) {
  if (value.size() <= ctx.config().max_value_bytes) return false;
  ctx.out().Error(absl::StrCat("ERR value of ", value.size(), " bytes exceeds --max-value-bytes (",
                               ctx.config().max_value_bytes, " bytes)"));
  return true;
}

void GetCommand(CommandContext& ctx, Argv& argv) {
  Op op;
  op.set_type(Op::GET);
  op.set_ns(ctx.client().db);
  op.set_key(std::move(argv[1]));
  ctx.Send(op.key(), std::move(op), [](const OpResult& r, RespWriter& out) {
    if (r.code() == OpResult::OK) {
      out.Bulk(r.value());
    } else if (r.code() == OpResult::NOT_FOUND) {
      out.Null();
    } else {
      ReplyOpError(out, r);
    }
  });
}

// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT unix-s | PXAT unix-ms | KEEPTTL], with
// the option compatibility rules of Redis's parseExtendedStringArgumentsOrReply().
void SetCommand(CommandContext& ctx, Argv& argv) {
  enum Unit { kNone, kEx, kPx, kExAt, kPxAt };
  bool nx = false, xx = false, get = false, keep_ttl = false;
  Unit unit = kNone;
  std::string_view expire_arg;
  for (size_t j = 3; j < argv.size(); ++j) {
    const std::string& opt = argv[j];
    const bool has_next = j + 1 < argv.size();
    if (EqualsIgnoreCase(opt, "nx") && !xx) {
      nx = true;
    } else if (EqualsIgnoreCase(opt, "xx") && !nx) {
      xx = true;
    } else if (EqualsIgnoreCase(opt, "get")) {
      get = true;
    } else if (EqualsIgnoreCase(opt, "keepttl") && unit == kNone) {
      keep_ttl = true;
    } else if (!keep_ttl && unit == kNone && has_next &&
               (EqualsIgnoreCase(opt, "ex") || EqualsIgnoreCase(opt, "px") ||
                EqualsIgnoreCase(opt, "exat") || EqualsIgnoreCase(opt, "pxat"))) {
      unit = EqualsIgnoreCase(opt, "ex")     ? kEx
             : EqualsIgnoreCase(opt, "px")   ? kPx
             : EqualsIgnoreCase(opt, "exat") ? kExAt
                                             : kPxAt;
      expire_arg = argv[++j];
    } else {
      ctx.out().Error(kErrSyntax);
      return;
    }
  }
  int64_t expire_at_ms = 0;
  if (unit != kNone) {
    int64_t n;
    if (!ParseInt64(expire_arg, &n)) {
      ctx.out().Error(kErrNotInteger);
      return;
    }
    const bool seconds = unit == kEx || unit == kExAt;
    if (n <= 0 || (seconds && n > INT64_MAX / 1000)) {
      ctx.out().Error("ERR invalid expire time in 'set' command");
      return;
    }
    if (seconds) n *= 1000;
    if (unit == kEx || unit == kPx) {
      int64_t now = NowMs();
      if (n > INT64_MAX - now) {
        ctx.out().Error("ERR invalid expire time in 'set' command");
        return;
      }
      n += now;
    }
    expire_at_ms = n;
  }
  if (ValueTooLarge(ctx, argv[2])) return;
  Op op;
  op.set_type(Op::PUT);
  op.set_ns(ctx.client().db);
  op.set_key(std::move(argv[1]));
  op.set_value(std::move(argv[2]));
  op.set_condition(nx ? Op::IF_ABSENT : xx ? Op::IF_PRESENT : Op::ALWAYS);
  op.set_expire_at_ms(expire_at_ms);
  op.set_keep_ttl(keep_ttl);
  op.set_return_old(get);
  ctx.Send(op.key(), std::move(op), [get](const OpResult& r, RespWriter& out) {
    if (r.code() != OpResult::OK && r.code() != OpResult::CONDITION_FAILED) {
      ReplyOpError(out, r);
    } else if (get) {
      // SET ... GET answers the old value whether or not the condition held.
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
}

void MGetCommand(CommandContext& ctx, Argv& argv) {
  struct State {
    std::vector<OpResult> results;
  };
  auto state = std::make_shared<State>();
  state->results.resize(argv.size() - 1);
  for (size_t i = 1; i < argv.size(); ++i) {
    Op op;
    op.set_type(Op::GET);
    op.set_ns(ctx.client().db);
    op.set_key(std::move(argv[i]));
    ctx.Send(op.key(), std::move(op), [state, i](const OpResult& r, RespWriter&) {
      state->results[i - 1] = r;
    });
  }
  ctx.Finish([state](RespWriter& out) {
    for (const OpResult& r : state->results) {
      if (r.code() != OpResult::OK && r.code() != OpResult::NOT_FOUND) {
        ReplyOpError(out, r);
        return;
      }
    }
    out.ArrayHeader(state->results.size());
    for (const OpResult& r : state->results) {
      if (r.code() == OpResult::OK) {
        out.Bulk(r.value());
      } else {
        out.Null();
      }
    }
  });
}

// MSET is atomic within each shard (the shard applies a batch at once); across shards it is
// not yet (see the RESP gateway issue).
void MSetCommand(CommandContext& ctx, Argv& argv) {
  if (argv.size() % 2 != 1) {
    ctx.out().Error(WrongArity("mset"));
    return;
  }
  for (size_t i = 2; i < argv.size(); i += 2) {
    if (ValueTooLarge(ctx, argv[i])) return;
  }
  auto error = std::make_shared<OpResult>();
  for (size_t i = 1; i < argv.size(); i += 2) {
    Op op;
    op.set_type(Op::PUT);
    op.set_ns(ctx.client().db);
    op.set_key(std::move(argv[i]));
    op.set_value(std::move(argv[i + 1]));
    ctx.Send(op.key(), std::move(op), [error](const OpResult& r, RespWriter&) {
      if (r.code() != OpResult::OK && error->code() == OpResult::OK) *error = r;
    });
  }
  ctx.Finish([error](RespWriter& out) {
    if (error->code() != OpResult::OK) {
      ReplyOpError(out, *error);
    } else {
      out.Simple("OK");
    }
  });
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
      {"mget", -2, {"readonly", "fast"}, 1, -1, 1, "string", "1.0.0",
       "Atomically returns the string values of one or more keys.", MGetCommand},
      {"mset", -3, {"write", "denyoom"}, 1, -1, 2, "string", "1.0.1",
       "Atomically creates or modifies the string values of one or more keys.", MSetCommand},
  };
}

}  // namespace beyondkv::gateway
