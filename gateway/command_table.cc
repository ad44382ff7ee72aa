#include "gateway/command_table.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "gateway/io_loop.h"
#include "gateway/replies.h"

namespace beyondkv::gateway {
namespace {

struct Table {
  std::vector<CommandSpec> commands;
  absl::flat_hash_map<std::string, const CommandSpec*> by_name;
};

const Table& GetTable() {
  static const Table* table = [] {
    auto* t = new Table;
    for (auto family : {ConnectionCommands, StringCommands, KeyspaceCommands, ExpireCommands,
                        RevisionCommands, WatchCommands, ServerCommands, BitCommands,
                        TransactionCommands}) {
      for (CommandSpec& spec : family()) t->commands.push_back(std::move(spec));
    }
    std::sort(t->commands.begin(), t->commands.end(),
              [](const CommandSpec& a, const CommandSpec& b) { return a.name < b.name; });
    for (const CommandSpec& spec : t->commands) t->by_name[std::string(spec.name)] = &spec;
    return t;
  }();
  return *table;
}

}  // namespace

const std::vector<CommandSpec>& AllCommands() { return GetTable().commands; }

const CommandSpec* FindCommand(std::string_view name) {
  const Table& table = GetTable();
  auto it = table.by_name.find(ToLower(name));
  return it == table.by_name.end() ? nullptr : it->second;
}

namespace {

// Commands that run at once inside MULTI instead of being queued (Redis 7.0 processCommand),
// and PWATCH, refused there as WATCH (queued, it subscribed inside EXEC and left a hole in
// EXEC's array).
bool RunsInsideMulti(std::string_view name) {
  return name == "exec" || name == "discard" || name == "multi" || name == "watch" ||
         name == "pwatch" || name == "quit" || name == "reset";
}

}  // namespace

void DispatchCommand(CommandContext& ctx, Argv& argv) {
  ClientState& client = ctx.client();
  const CommandSpec* spec = FindCommand(argv[0]);
  if (spec == nullptr) {
    client.multi_dirty |= client.in_multi;  // EXEC will answer EXECABORT
    ctx.out().Error(UnknownCommand(argv));
    return;
  }
  const int index = static_cast<int>(spec - AllCommands().data());
  const int argc = static_cast<int>(argv.size());
  if ((spec->arity > 0 && argc != spec->arity) || argc < -spec->arity) {
    client.multi_dirty |= client.in_multi;
    ctx.shared().command_stats.Rejected(index);
    ctx.out().Error(WrongArity(spec->name));
    return;
  }
  if (!client.authenticated && !spec->no_auth) {
    client.multi_dirty |= client.in_multi;
    ctx.shared().command_stats.Rejected(index);
    ctx.out().Error(kErrNoAuth);
    return;
  }
  if (client.in_multi && !RunsInsideMulti(spec->name)) {
    client.queued.push_back(std::move(argv));
    ctx.out().Simple("QUEUED");
    return;
  }
  ctx.SetCommand(index);
  client.last_command = std::string(spec->name);
  spec->handler(ctx, argv);
}

}  // namespace beyondkv::gateway
