// Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, CLIENT. Replies follow Redis 7.0
// (src/networking.c, src/server.c); HELLO's map uses only the RESP3 types that minimal
// clients read (wire-protocol.md).
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/command_table.h"
#include "gateway/replies.h"

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
  bool ok = user == "default" && (expected.empty() || password == expected);
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

std::string ClientInfoLine(const ClientState& c) {
  int64_t now = absl::ToUnixMillis(absl::Now());
  return absl::StrCat("id=", c.id, " addr=", c.peer, " laddr=", c.local, " name=", c.name,
                      " age=", (now - c.created_ms) / 1000,
                      " idle=", (now - c.last_active_ms) / 1000, " flags=N db=", c.db,
                      " sub=0 psub=0 ssub=0 multi=-1 cmd=client|info user=default resp=",
                      c.protocol, "\n");
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
    if (arity(2)) ctx.out().Verbatim("txt", ClientInfoLine(ctx.client()));
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
      {"client", -2, {}, 0, 0, 0, "connection", "2.4.0",
       "A container for client connection commands.", ClientCommand},
  };
}

}  // namespace beyondkv::gateway
