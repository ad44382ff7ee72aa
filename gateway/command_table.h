// The RESP gateway's command table: one entry per command with Redis's arity convention,
// flags and key positions (Redis's src/commands/*.json), which also answers COMMAND INFO.
// Commands are grouped in families under gateway/commands/; each family file parses its
// arguments and builds shard ops, the shards execute them.
#ifndef BEYONDKV_GATEWAY_COMMAND_TABLE_H_
#define BEYONDKV_GATEWAY_COMMAND_TABLE_H_

#include <string>
#include <string_view>
#include <vector>

#include "gateway/command_context.h"

namespace beyondkv::gateway {

using Argv = std::vector<std::string>;
using CommandHandler = void (*)(CommandContext& ctx, Argv& argv);

struct CommandSpec {
  std::string_view name;  // lower case
  // Redis convention: N > 0 means exactly N arguments (the name included); -N at least N.
  int arity;
  std::vector<std::string_view> flags;  // as COMMAND INFO reports them: "write", "fast", ...
  int first_key;  // 1-based position of the first key, 0 if none
  int last_key;   // position of the last key; -1 = the last argument
  int key_step;
  std::string_view group;    // COMMAND DOCS group: "string", "keyspace", "connection", ...
  std::string_view since;    // Redis version that introduced it
  std::string_view summary;  // one line for COMMAND DOCS
  CommandHandler handler;
  bool no_auth = false;  // allowed before AUTH (AUTH, HELLO, QUIT)
};

// Families (gateway/commands/*.cc).
std::vector<CommandSpec> ConnectionCommands();
std::vector<CommandSpec> StringCommands();
std::vector<CommandSpec> KeyspaceCommands();
std::vector<CommandSpec> ServerCommands();
std::vector<CommandSpec> ExpireCommands();
std::vector<CommandSpec> RevisionCommands();
std::vector<CommandSpec> WatchCommands();
std::vector<CommandSpec> BitCommands();
std::vector<CommandSpec> TransactionCommands();

// Every command, sorted by name. Built once; thread-safe to read.
const std::vector<CommandSpec>& AllCommands();

// Case-insensitive lookup; nullptr when unknown.
const CommandSpec* FindCommand(std::string_view name);

// Looks the command up, checks arity and authentication exactly in Redis's order (unknown
// command, wrong arity, NOAUTH) and runs its handler.
void DispatchCommand(CommandContext& ctx, Argv& argv);

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_COMMAND_TABLE_H_
