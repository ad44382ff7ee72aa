// Expiry commands (Redis 7.0 src/expire.c semantics): EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT
// (NX, XX, GT, LT), PERSIST, TTL, PTTL, EXPIRETIME, PEXPIRETIME. Expiry is stored as an
// absolute Unix time in ms; the gateway turns relative times into absolute ones.
#include "absl/strings/str_cat.h"
#include "gateway/commands/command_util.h"

namespace beyondkv::gateway {
namespace {

using v1::Op;
using v1::OpResult;

void ExpireGeneric(CommandContext& ctx, Argv& argv, bool seconds, bool relative,
                   std::string_view name) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t j = 3; j < argv.size(); ++j) {
    if (EqualsIgnoreCase(argv[j], "nx")) {
      nx = true;
    } else if (EqualsIgnoreCase(argv[j], "xx")) {
      xx = true;
    } else if (EqualsIgnoreCase(argv[j], "gt")) {
      gt = true;
    } else if (EqualsIgnoreCase(argv[j], "lt")) {
      lt = true;
    } else {
      ctx.out().Error(absl::StrCat("ERR Unsupported option ", argv[j]));
      return;
    }
  }
  if (nx && (xx || gt || lt)) {
    ctx.out().Error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if (gt && lt) {
    ctx.out().Error("ERR GT and LT options at the same time are not compatible");
    return;
  }
  int64_t when;
  if (!ParseInt64(argv[2], &when)) {
    ctx.out().Error(kErrNotInteger);
    return;
  }
  int64_t expire_at_ms;
  if (!ToAbsoluteMs(when, seconds, relative, &expire_at_ms)) {
    ctx.out().Error(InvalidExpire(name));
    return;
  }
  // 0 means "no expiry" on the wire; any time in the past deletes the key, as in Redis.
  if (expire_at_ms <= 0) expire_at_ms = 1;
  // Redis checks each option given in turn (expire.c): NX, XX, GT, LT. The shard checks one
  // condition (ExpireConditionHolds), so the combinations Redis accepts map onto one:
  // XX GT is exactly GT (GT already fails on a key without expiry); XX LT has its own.
  const Op::ExpireCondition condition = nx         ? Op::EXPIRE_NX
                                        : gt       ? Op::EXPIRE_GT
                                        : xx && lt ? Op::EXPIRE_XX_LT
                                        : xx       ? Op::EXPIRE_XX
                                        : lt       ? Op::EXPIRE_LT
                                                   : Op::EXPIRE_ALWAYS;
  Op op = KeyOp(ctx, Op::EXPIRE, std::move(argv[1]));
  op.set_expire_at_ms(expire_at_ms);
  op.set_expire_condition(condition);
  SendAndReply(ctx, std::move(op), [](const OpResult& r, RespWriter& out) {
    if (!ReplyIfFailed(r, out)) out.Integer(r.code() == OpResult::OK ? 1 : 0);
  });
}

void ExpireCommand(CommandContext& ctx, Argv& argv) {
  ExpireGeneric(ctx, argv, true, true, "expire");
}
void PExpireCommand(CommandContext& ctx, Argv& argv) {
  ExpireGeneric(ctx, argv, false, true, "pexpire");
}
void ExpireAtCommand(CommandContext& ctx, Argv& argv) {
  ExpireGeneric(ctx, argv, true, false, "expireat");
}
void PExpireAtCommand(CommandContext& ctx, Argv& argv) {
  ExpireGeneric(ctx, argv, false, false, "pexpireat");
}

void PersistCommand(CommandContext& ctx, Argv& argv) {
  Op op = KeyOp(ctx, Op::EXPIRE, std::move(argv[1]));
  op.set_expire_at_ms(0);
  op.set_expire_condition(Op::EXPIRE_XX);  // only a key that has an expiry changes
  SendAndReply(ctx, std::move(op), [](const OpResult& r, RespWriter& out) {
    if (!ReplyIfFailed(r, out)) out.Integer(r.code() == OpResult::OK ? 1 : 0);
  });
}

enum class TtlForm { kTtl, kPttl, kExpireTime, kPExpireTime };

// -2 for a missing key, -1 for a key without expiry, else the remaining time or the absolute
// expiry (Redis's ttlGenericCommand: seconds are rounded to the nearest).
void TtlGeneric(CommandContext& ctx, Argv& argv, TtlForm form) {
  Op op = KeyOp(ctx, Op::GET, std::move(argv[1]));
  op.set_no_value(true);
  SendAndReply(ctx, std::move(op), [form](const OpResult& r, RespWriter& out) {
    if (ReplyIfFailed(r, out)) return;
    if (r.code() == OpResult::NOT_FOUND) {
      out.Integer(-2);
      return;
    }
    const int64_t at = r.expire_at_ms();
    if (at == 0) {
      out.Integer(-1);
      return;
    }
    int64_t ttl = at - NowMs();
    if (ttl < 0) ttl = 0;
    switch (form) {
      case TtlForm::kTtl:
        out.Integer((ttl + 500) / 1000);
        break;
      case TtlForm::kPttl:
        out.Integer(ttl);
        break;
      case TtlForm::kExpireTime:
        out.Integer(at / 1000);
        break;
      case TtlForm::kPExpireTime:
        out.Integer(at);
        break;
    }
  });
}

void TtlCommand(CommandContext& ctx, Argv& argv) { TtlGeneric(ctx, argv, TtlForm::kTtl); }
void PTtlCommand(CommandContext& ctx, Argv& argv) { TtlGeneric(ctx, argv, TtlForm::kPttl); }
void ExpireTimeCommand(CommandContext& ctx, Argv& argv) {
  TtlGeneric(ctx, argv, TtlForm::kExpireTime);
}
void PExpireTimeCommand(CommandContext& ctx, Argv& argv) {
  TtlGeneric(ctx, argv, TtlForm::kPExpireTime);
}

}  // namespace

std::vector<CommandSpec> ExpireCommands() {
  return {
      {"expire", -3, {"write", "fast"}, 1, 1, 1, "generic", "1.0.0",
       "Sets the expiration time of a key in seconds.", ExpireCommand},
      {"pexpire", -3, {"write", "fast"}, 1, 1, 1, "generic", "2.6.0",
       "Sets the expiration time of a key in milliseconds.", PExpireCommand},
      {"expireat", -3, {"write", "fast"}, 1, 1, 1, "generic", "1.2.0",
       "Sets the expiration time of a key to a Unix timestamp.", ExpireAtCommand},
      {"pexpireat", -3, {"write", "fast"}, 1, 1, 1, "generic", "2.6.0",
       "Sets the expiration time of a key to a Unix milliseconds timestamp.", PExpireAtCommand},
      {"persist", 2, {"write", "fast"}, 1, 1, 1, "generic", "2.2.0",
       "Removes the expiration time of a key.", PersistCommand},
      {"ttl", 2, {"readonly", "fast"}, 1, 1, 1, "generic", "1.0.0",
       "Returns the expiration time in seconds of a key.", TtlCommand},
      {"pttl", 2, {"readonly", "fast"}, 1, 1, 1, "generic", "2.6.0",
       "Returns the expiration time in milliseconds of a key.", PTtlCommand},
      {"expiretime", 2, {"readonly", "fast"}, 1, 1, 1, "generic", "7.0.0",
       "Returns the expiration time of a key as a Unix timestamp.", ExpireTimeCommand},
      {"pexpiretime", 2, {"readonly", "fast"}, 1, 1, 1, "generic", "7.0.0",
       "Returns the expiration time of a key as a Unix milliseconds timestamp.",
       PExpireTimeCommand},
  };
}

}  // namespace beyondkv::gateway
