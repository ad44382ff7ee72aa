// Keyspace commands: DEL, UNLINK, EXISTS. Multi-key forms are split by shard and merged
// (architecture §7); Redis's counting rules hold (EXISTS counts a repeated key each time,
// DEL counts a key once because the second delete finds nothing).
#include <memory>

#include "gateway/command_table.h"
#include "gateway/replies.h"

namespace beyondkv::gateway {
namespace {

using v1::Op;
using v1::OpResult;

// Sends one `type` op per key and answers the number that returned OK.
void CountKeys(CommandContext& ctx, Argv& argv, Op::Type type) {
  struct State {
    int64_t count = 0;
    OpResult error;
  };
  auto state = std::make_shared<State>();
  for (size_t i = 1; i < argv.size(); ++i) {
    Op op;
    op.set_type(type);
    op.set_ns(ctx.client().db);
    op.set_key(std::move(argv[i]));
    ctx.Send(op.key(), std::move(op), [state](const OpResult& r, RespWriter&) {
      if (r.code() == OpResult::OK) {
        ++state->count;
      } else if (r.code() != OpResult::NOT_FOUND && state->error.code() == OpResult::OK) {
        state->error = r;
      }
    });
  }
  ctx.Finish([state](RespWriter& out) {
    if (state->error.code() != OpResult::OK) {
      ReplyOpError(out, state->error);
    } else {
      out.Integer(state->count);
    }
  });
}

void DelCommand(CommandContext& ctx, Argv& argv) { CountKeys(ctx, argv, Op::DELETE); }
void ExistsCommand(CommandContext& ctx, Argv& argv) { CountKeys(ctx, argv, Op::EXISTS); }

}  // namespace

std::vector<CommandSpec> KeyspaceCommands() {
  return {
      {"del", -2, {"write"}, 1, -1, 1, "generic", "1.0.0", "Deletes one or more keys.",
       DelCommand},
      {"unlink", -2, {"write", "fast"}, 1, -1, 1, "generic", "4.0.0",
       "Asynchronously deletes one or more keys.", DelCommand},
      {"exists", -2, {"readonly", "fast"}, 1, -1, 1, "generic", "1.0.0",
       "Determines whether one or more keys exist.", ExistsCommand},
  };
}

}  // namespace beyondkv::gateway
