// Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, CLIENT. Replies follow Redis 7.0
// (src/networking.c, src/server.c); HELLO's map uses only the RESP3 types that minimal
// clients read (wire-protocol.md).
#include <unistd.h>

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/secrets.h"
#include "gateway/io_loop.h"
#include "gateway/command_table.h"
#include "gateway/replies.h"
#include "gateway/shardlink/watch_session.h"

namespace beyondkv::gateway {
namespace {

constexpr std::string_view kRedisVersion = "7.0.15";

void PingCommand(CommandContext& ctx, Argv& argv) {
  if (argv.size() > 2) {
    ctx.out().Error(WrongArity("ping"));
  } else if (argv.size() == 2) {
    ctx.out().Bulk(argv[1]);
  } else {
    ctx.out().Simple("PONG");
  }
}

void EchoCommand(CommandContext& ctx, Argv& argv) { ctx.out().Bulk(argv[1]); }

void QuitCommand(CommandContext& ctx, Argv&) {
  ctx.out().Simple("OK");
  ctx.CloseAfterReply();
}

// Checks `user` and `password` against --requirepass; only the "default" user exists, and
// with no password configured it accepts any password (Redis's "nopass").
bool CheckPassword(CommandContext& ctx, std::string_view user, std::string_view password) {
  const std::string& expected = ctx.config().requirepass;
  // Constant time (common/secrets.h); the user name is not a secret.
  bool ok = user == "default" && (expected.empty() || SecretEquals(password, expected));
  if (!ok) ctx.out().Error(kErrWrongPass);
  return ok;
}

void AuthCommand(CommandContext& ctx, Argv& argv) {
  if (argv.size() > 3) {
    ctx.out().Error(kErrSyntax);
    return;
  }
  if (argv.size() == 2 && ctx.config().requirepass.empty()) {
    ctx.out().Error(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?");
    return;
  }
  std::string_view user = argv.size() == 3 ? std::string_view(argv[1]) : "default";
  if (!CheckPassword(ctx, user, argv.back())) return;
  ctx.client().authenticated = true;
  ctx.out().Simple("OK");
}

bool ValidClientName(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;  // Redis: no spaces, newlines or specials
  }
  return true;
}

constexpr std::string_view kErrClientName =
    "ERR Client names cannot contain spaces, newlines or special characters.";

void HelloCommand(CommandContext& ctx, Argv& argv) {
  int64_t version = ctx.client().protocol;
  if (argv.size() >= 2) {
    if (!ParseInt64(argv[1], &version)) {
      ctx.out().Error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (version < 2 || version > 3) {
      ctx.out().Error("NOPROTO unsupported protocol version");
      return;
    }
  }
  const std::string* user = nullptr;
  const std::string* password = nullptr;
  const std::string* name = nullptr;
  for (size_t j = 2; j < argv.size(); ++j) {
    size_t more = argv.size() - 1 - j;
    if (EqualsIgnoreCase(argv[j], "auth") && more >= 2) {
      user = &argv[j + 1];
      password = &argv[j + 2];
      j += 2;
    } else if (EqualsIgnoreCase(argv[j], "setname") && more >= 1) {
      name = &argv[j + 1];
      if (!ValidClientName(*name)) {
        ctx.out().Error(kErrClientName);
        return;
      }
      ++j;
    } else {
      ctx.out().Error(absl::StrCat("ERR Syntax error in HELLO option '", argv[j], "'"));
      return;
    }
  }
  if (!ctx.client().authenticated && password == nullptr) {
    ctx.out().Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
        "select the RESP protocol version at the same time");
    return;
  }
  if (password != nullptr) {
    if (!CheckPassword(ctx, *user, *password)) return;
    ctx.client().authenticated = true;
  }
  if (name != nullptr) ctx.client().name = *name;
  ctx.client().protocol = static_cast<int>(version);
  RespWriter out = ctx.out();
  out.MapHeader(7);
  out.Bulk("server");
  out.Bulk("redis");
  out.Bulk("version");
  out.Bulk(kRedisVersion);
  out.Bulk("proto");
  out.Integer(version);
  out.Bulk("id");
  out.Integer(static_cast<int64_t>(ctx.client().id));
  out.Bulk("mode");
  out.Bulk("standalone");
  out.Bulk("role");
  out.Bulk("master");
  out.Bulk("modules");
  out.ArrayHeader(0);
}

// RESET: back to a fresh connection's state (Redis 7.0 resetCommand).
void ResetCommand(CommandContext& ctx, Argv&) {
  ClientState& c = ctx.client();
  c.ClearTransaction();  // discards MULTI and unwatches, as Redis's RESET
  // Ends WATCH/PWATCH subscriptions too: no push may follow the switch back to RESP2.
  Connection& conn = *ctx.connection();
  for (auto& watch : conn.watches) watch->Cancel();
  conn.watches.clear();
  std::vector<std::function<void(const std::string&)>> replies;
  replies.swap(conn.watch_replies);
  for (auto& release : replies) release("");
  c.db = 0;
  c.protocol = 2;
  c.name.clear();
  c.authenticated = ctx.config().requirepass.empty();
  ctx.out().Simple("RESET");
}

void SelectCommand(CommandContext& ctx, Argv& argv) {
  int64_t db;
  if (!ParseInt64(argv[1], &db)) {
    ctx.out().Error(kErrNotInteger);
    return;
  }
  if (db < 0 || db > 15) {
    ctx.out().Error(kErrDbIndex);
    return;
  }
  ctx.client().db = static_cast<uint32_t>(db);
  ctx.out().Simple("OK");
}

// CLIENT LIST [TYPE normal] [ID id ...]: every loop lists its own connections.
void ClientList(CommandContext& ctx, Argv& argv) {
  std::vector<uint64_t> ids;
  for (size_t j = 2; j < argv.size(); ++j) {
    if (EqualsIgnoreCase(argv[j], "type") && j + 1 < argv.size()) {
      if (!EqualsIgnoreCase(argv[j + 1], "normal")) {
        ctx.out().Error(absl::StrCat("ERR Unknown client type '", argv[j + 1], "'"));
        return;
      }
      ++j;
    } else if (EqualsIgnoreCase(argv[j], "id") && j + 1 < argv.size()) {
      for (++j; j < argv.size(); ++j) {
        int64_t id;
        if (!ParseInt64(argv[j], &id) || id <= 0) {
          ctx.out().Error("ERR Invalid client ID");
          return;
        }
        ids.push_back(static_cast<uint64_t>(id));
      }
    } else {
      ctx.out().Error(kErrSyntax);
      return;
    }
  }
  auto text = std::make_shared<std::string>();
  ctx.ForEachLoop([](IoLoop& loop) { return loop.ListClients(); },
                  [text](const std::string& lines, CommandContext&) { *text += lines; });
  ctx.Finish([text, ids](CommandContext& c) {
    std::string selected;
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
      bool keep = ids.empty();
      for (uint64_t id : ids) {
        if (absl::StartsWith(line, absl::StrCat("id=", id, " "))) keep = true;
      }
      if (keep) absl::StrAppend(&selected, line, "\n");
    }
    c.out().Verbatim("txt", selected);
  });
}

// CLIENT KILL ip:port (answers OK or an error) or CLIENT KILL <filter> <value> ... (answers
// the number of connections closed).
void ClientKill(CommandContext& ctx, Argv& argv) {
  IoLoop::KillFilter filter;
  const bool old_form = argv.size() == 3;
  if (old_form) {
    filter.addr = argv[2];
  } else {
    filter.skip = ctx.client().id;
    if (argv.size() < 3 || argv.size() % 2 != 0) {
      ctx.out().Error(kErrSyntax);
      return;
    }
    for (size_t j = 2; j + 1 < argv.size(); j += 2) {
      const std::string& opt = argv[j];
      const std::string& value = argv[j + 1];
      if (EqualsIgnoreCase(opt, "id")) {
        int64_t id;
        if (!ParseInt64(value, &id) || id <= 0) {
          ctx.out().Error("ERR client-id should be greater than 0");
          return;
        }
        filter.id = static_cast<uint64_t>(id);
      } else if (EqualsIgnoreCase(opt, "addr")) {
        filter.addr = value;
      } else if (EqualsIgnoreCase(opt, "laddr")) {
        filter.laddr = value;
      } else if (EqualsIgnoreCase(opt, "skipme")) {
        if (EqualsIgnoreCase(value, "yes")) {
          filter.skip = ctx.client().id;
        } else if (EqualsIgnoreCase(value, "no")) {
          filter.skip = 0;
        } else {
          ctx.out().Error(kErrSyntax);
          return;
        }
      } else {
        ctx.out().Error(kErrSyntax);
        return;
      }
    }
  }
  auto killed = std::make_shared<int>(0);
  ctx.ForEachLoop(
      [filter](IoLoop& loop) { return std::to_string(loop.KillClients(filter)); },
      [killed](const std::string& n, CommandContext&) { *killed += std::stoi(n); });
  ctx.Finish([killed, old_form](CommandContext& c) {
    if (!old_form) {
      c.out().Integer(*killed);
    } else if (*killed > 0) {
      c.out().Simple("OK");
    } else {
      c.out().Error("ERR No such client");
    }
  });
}

void ClientCommand(CommandContext& ctx, Argv& argv) {
  const std::string sub = ToLower(argv[1]);
  const size_t argc = argv.size();
  auto arity = [&](size_t n) {
    if (argc == n) return true;
    ctx.out().Error(WrongArity("client|" + sub));
    return false;
  };
  if (sub == "id") {
    if (arity(2)) ctx.out().Integer(static_cast<int64_t>(ctx.client().id));
  } else if (sub == "getname") {
    if (!arity(2)) return;
    if (ctx.client().name.empty()) {
      ctx.out().Null();
    } else {
      ctx.out().Bulk(ctx.client().name);
    }
  } else if (sub == "setname") {
    if (!arity(3)) return;
    if (!ValidClientName(argv[2])) {
      ctx.out().Error(kErrClientName);
      return;
    }
    ctx.client().name = argv[2];
    ctx.out().Simple("OK");
  } else if (sub == "info") {
    if (arity(2)) ctx.out().Verbatim("txt", FormatClientInfo(ctx.client(), -1));
  } else if (sub == "list") {
    ClientList(ctx, argv);
  } else if (sub == "kill") {
    ClientKill(ctx, argv);
  } else if (sub == "help" && argc == 2) {
    RespWriter out = ctx.out();
    const std::vector<std::string_view> lines = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID <client-id>, ADDR <ip:port>, LADDR <ip:port>,",
        "    SKIPME (YES|NO).",
        "LIST",
        "    Return information about client connections.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "HELP",
        "    Print this help."};
    out.ArrayHeader(lines.size());
    for (std::string_view line : lines) out.Simple(line);
  } else {
    ctx.out().Error(UnknownSubcommand(argv[1], "client"));
  }
}

}  // namespace

std::vector<CommandSpec> ConnectionCommands() {
  return {
      {"ping", -1, {"fast"}, 0, 0, 0, "connection", "1.0.0", "Returns the server's liveliness response.",
       PingCommand},
      {"echo", 2, {"fast"}, 0, 0, 0, "connection", "1.0.0", "Returns the given string.",
       EchoCommand},
      {"quit", -1, {"allow_busy", "fast", "no_auth"}, 0, 0, 0, "connection", "1.0.0",
       "Closes the connection.", QuitCommand, /*no_auth=*/true},
      {"auth", -2, {"noscript", "loading", "stale", "fast", "no_auth"}, 0, 0, 0, "connection",
       "1.0.0", "Authenticates the connection.", AuthCommand, /*no_auth=*/true},
      {"hello", -1, {"noscript", "loading", "stale", "fast", "no_auth"}, 0, 0, 0, "connection",
       "6.0.0", "Handshakes with the Redis server.", HelloCommand, /*no_auth=*/true},
      {"select", 2, {"loading", "stale", "fast"}, 0, 0, 0, "connection", "1.0.0",
       "Changes the selected database.", SelectCommand},
      {"reset", 1, {"noscript", "loading", "stale", "fast", "no_auth"}, 0, 0, 0, "connection",
       "6.2.0", "Resets the connection.", ResetCommand, /*no_auth=*/true},
      {"client", -2, {}, 0, 0, 0, "connection", "2.4.0",
       "A container for client connection commands.", ClientCommand},
  };
}

}  // namespace beyondkv::gateway
