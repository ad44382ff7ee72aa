// The seed's own commands (wire-protocol.md, architecture §6): REVISION key and
// SETREV key value revision [EX seconds]. A revision is per key, strictly increasing with
// every write; SETREV compares and writes in one step in the key's shard.
#include "absl/strings/str_cat.h"
#include "gateway/commands/command_util.h"

namespace beyondkv::gateway {
namespace {

using v1::Op;
using v1::OpResult;

// REVISION key: the key's revision, or -2 when it does not exist (as TTL answers).
void RevisionCommand(CommandContext& ctx, Argv& argv) {
  Op op = KeyOp(ctx, Op::GET, std::move(argv[1]));
  op.set_no_value(true);
  SendAndReply(ctx, std::move(op), [](const OpResult& r, RespWriter& out) {
    if (ReplyIfFailed(r, out)) return;
    out.Integer(r.code() == OpResult::NOT_FOUND ? -2 : static_cast<int64_t>(r.revision()));
  });
}

// SETREV key value revision [EX seconds]: writes only if the key's revision equals
// `revision` (0: only if the key does not exist); answers the new revision, or
// -CONFLICT revision mismatch (clients test for the CONFLICT prefix).
void SetRevCommand(CommandContext& ctx, Argv& argv) {
  int64_t revision;
  if (!ParseInt64(argv[3], &revision) || revision < 0) {
    ctx.out().Error(kErrNotInteger);
    return;
  }
  int64_t expire_at_ms = 0;
  if (argv.size() > 4) {
    if (argv.size() != 6 || !EqualsIgnoreCase(argv[4], "ex")) {
      ctx.out().Error(kErrSyntax);
      return;
    }
    int64_t seconds;
    if (!ParseInt64(argv[5], &seconds)) {
      ctx.out().Error(kErrNotInteger);
      return;
    }
    if (seconds <= 0 || !ToAbsoluteMs(seconds, true, true, &expire_at_ms)) {
      ctx.out().Error(InvalidExpire("setrev"));
      return;
    }
  }
  if (argv[2].size() > ctx.config().max_value_bytes) {
    ctx.out().Error(absl::StrCat("ERR value of ", argv[2].size(),
                                 " bytes exceeds --max-value-bytes (",
                                 ctx.config().max_value_bytes, " bytes)"));
    return;
  }
  Op op = KeyOp(ctx, Op::PUT, std::move(argv[1]));
  op.set_value(std::move(argv[2]));
  op.set_condition(Op::IF_REVISION);
  op.set_if_revision(static_cast<uint64_t>(revision));
  op.set_expire_at_ms(expire_at_ms);
  SendAndReply(ctx, std::move(op), [](const OpResult& r, RespWriter& out) {
    if (ReplyIfFailed(r, out)) return;
    if (r.code() == OpResult::CONDITION_FAILED) {
      out.Error("CONFLICT revision mismatch");
    } else {
      out.Integer(static_cast<int64_t>(r.revision()));
    }
  });
}

}  // namespace

std::vector<CommandSpec> RevisionCommands() {
  return {
      {"revision", 2, {"readonly", "fast"}, 1, 1, 1, "beyond-kv", "0.1.0",
       "Returns the revision of a key (-2 if it does not exist).", RevisionCommand},
      {"setrev", -4, {"write", "denyoom"}, 1, 1, 1, "beyond-kv", "0.1.0",
       "Sets a key only if its revision equals the given one (0: only if absent).",
       SetRevCommand},
  };
}

}  // namespace beyondkv::gateway
