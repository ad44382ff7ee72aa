// Server commands: COMMAND, CONFIG GET, DBSIZE, INFO. What real clients send on connect must
// work (architecture §8): redis-benchmark reads CONFIG GET save/appendonly, ioredis reads
// INFO, redis-cli reads COMMAND DOCS.
#include <unistd.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/command_table.h"
#include "gateway/glob.h"
#include "gateway/replies.h"

namespace beyondkv::gateway {
namespace {

using v1::Op;
using v1::OpResult;

void WriteCommandInfo(RespWriter& out, const CommandSpec& spec) {
  out.ArrayHeader(10);
  out.Bulk(spec.name);
  out.Integer(spec.arity);
  out.SetHeader(spec.flags.size());
  for (std::string_view flag : spec.flags) out.Simple(flag);
  out.Integer(spec.first_key);
  out.Integer(spec.last_key);
  out.Integer(spec.key_step);
  out.SetHeader(0);    // ACL categories
  out.SetHeader(0);    // tips
  out.ArrayHeader(0);  // key specifications
  out.ArrayHeader(0);  // subcommands
}

void WriteCommandDocs(RespWriter& out, const CommandSpec& spec) {
  out.Bulk(spec.name);
  out.MapHeader(3);
  out.Bulk("summary");
  out.Bulk(spec.summary);
  out.Bulk("since");
  out.Bulk(spec.since);
  out.Bulk("group");
  out.Bulk(spec.group);
}

void CommandCommand(CommandContext& ctx, Argv& argv) {
  RespWriter out = ctx.out();
  const std::vector<CommandSpec>& all = AllCommands();
  if (argv.size() == 1) {
    out.ArrayHeader(all.size());
    for (const CommandSpec& spec : all) WriteCommandInfo(out, spec);
    return;
  }
  const std::string sub = ToLower(argv[1]);
  if (sub == "count" && argv.size() == 2) {
    out.Integer(static_cast<int64_t>(all.size()));
  } else if (sub == "list" && argv.size() == 2) {
    out.ArrayHeader(all.size());
    for (const CommandSpec& spec : all) out.Bulk(spec.name);
  } else if (sub == "info") {
    if (argv.size() == 2) {
      out.ArrayHeader(all.size());
      for (const CommandSpec& spec : all) WriteCommandInfo(out, spec);
      return;
    }
    out.ArrayHeader(argv.size() - 2);
    for (size_t i = 2; i < argv.size(); ++i) {
      const CommandSpec* spec = FindCommand(argv[i]);
      if (spec == nullptr) {
        out.NullArray();
      } else {
        WriteCommandInfo(out, *spec);
      }
    }
  } else if (sub == "docs") {
    std::vector<const CommandSpec*> specs;
    if (argv.size() == 2) {
      for (const CommandSpec& spec : all) specs.push_back(&spec);
    } else {
      for (size_t i = 2; i < argv.size(); ++i) {
        if (const CommandSpec* spec = FindCommand(argv[i])) specs.push_back(spec);
      }
    }
    out.MapHeader(specs.size());
    for (const CommandSpec* spec : specs) WriteCommandDocs(out, *spec);
  } else if (sub == "count" || sub == "list") {
    out.Error(WrongArity("command|" + sub));
  } else {
    out.Error(UnknownSubcommand(argv[1], "command"));
  }
}

// CONFIG GET reports our settings under Redis's parameter names where one exists.
void ConfigCommand(CommandContext& ctx, Argv& argv) {
  const std::string sub = ToLower(argv[1]);
  if (sub != "get") {
    if (sub == "set" || sub == "resetstat" || sub == "rewrite") {
      ctx.out().Error(absl::StrCat("ERR CONFIG ", sub,
                                   " is not supported: beyond-kv is configured by its flags "
                                   "(beyond-kv --help)"));
    } else {
      ctx.out().Error(UnknownSubcommand(argv[1], "config"));
    }
    return;
  }
  if (argv.size() < 3) {
    ctx.out().Error(WrongArity("config|get"));
    return;
  }
  const GatewayConfig& c = ctx.config();
  const std::vector<std::pair<std::string, std::string>> params = {
      {"appendfsync", c.fsync},
      {"appendonly", "yes"},
      {"bind", c.bind},
      {"databases", "16"},
      {"maxclients", absl::StrCat(c.max_conns)},
      {"port", absl::StrCat(c.port)},
      {"proto-max-bulk-len", absl::StrCat(c.max_value_bytes)},
      {"save", ""},
      {"timeout", absl::StrCat(c.idle_timeout_secs)},
  };
  std::vector<const std::pair<std::string, std::string>*> matched;
  for (const auto& param : params) {
    for (size_t i = 2; i < argv.size(); ++i) {
      if (GlobMatch(argv[i], param.first, /*nocase=*/true)) {
        matched.push_back(&param);
        break;
      }
    }
  }
  RespWriter out = ctx.out();
  out.MapHeader(matched.size());
  for (const auto* param : matched) {
    out.Bulk(param->first);
    out.Bulk(param->second);
  }
}

// Sends one DBSIZE per shard for namespace `ns` and adds the answers into *total.
void CountNamespace(CommandContext& ctx, uint32_t ns, std::shared_ptr<int64_t> total,
                    std::shared_ptr<OpResult> error) {
  for (uint32_t shard = 0; shard < ctx.shard_count(); ++shard) {
    Op op;
    op.set_type(Op::DBSIZE);
    op.set_ns(ns);
    ctx.SendToShard(shard, std::move(op), [total, error](const OpResult& r, RespWriter&) {
      if (r.code() == OpResult::OK) {
        *total += r.count();
      } else if (error->code() == OpResult::OK) {
        *error = r;
      }
    });
  }
}

void DbsizeCommand(CommandContext& ctx, Argv&) {
  auto total = std::make_shared<int64_t>(0);
  auto error = std::make_shared<OpResult>();
  CountNamespace(ctx, ctx.client().db, total, error);
  ctx.Finish([total, error](RespWriter& out) {
    if (error->code() != OpResult::OK) {
      ReplyOpError(out, *error);
    } else {
      out.Integer(*total);
    }
  });
}

// INFO [section ...]: server, clients, stats, persistence and keyspace, with figures gathered
// from this gateway and the shards. (The full set of sections arrives with the RESP gateway
// issue.)
void InfoCommand(CommandContext& ctx, Argv& argv) {
  std::vector<std::shared_ptr<int64_t>> keys;
  auto error = std::make_shared<OpResult>();
  for (uint32_t ns = 0; ns < 16; ++ns) {
    keys.push_back(std::make_shared<int64_t>(0));
    CountNamespace(ctx, ns, keys.back(), error);
  }
  std::vector<std::string> sections;
  for (size_t i = 1; i < argv.size(); ++i) sections.push_back(ToLower(argv[i]));
  const GatewayConfig& c = ctx.config();
  ctx.Finish([keys, error, sections, c](RespWriter& out) {
    if (error->code() != OpResult::OK) {
      ReplyOpError(out, *error);
      return;
    }
    auto wanted = [&](std::string_view name) {
      if (sections.empty()) return true;
      for (const std::string& s : sections) {
        if (s == name || s == "all" || s == "everything" || s == "default") return true;
      }
      return false;
    };
    std::string text;
    if (wanted("server")) {
      absl::StrAppend(&text, "# Server\r\nredis_version:7.0.15\r\nbeyond_kv_version:0.1.0\r\n",
                      "redis_mode:standalone\r\nprocess_id:", getpid(), "\r\ntcp_port:", c.port,
                      "\r\nshards:", c.shard_count, "\r\n\r\n");
    }
    if (wanted("persistence")) {
      absl::StrAppend(&text, "# Persistence\r\nloading:0\r\naof_enabled:1\r\nappendfsync:",
                      c.fsync, "\r\n\r\n");
    }
    if (wanted("keyspace")) {
      absl::StrAppend(&text, "# Keyspace\r\n");
      for (uint32_t ns = 0; ns < keys.size(); ++ns) {
        if (*keys[ns] > 0) {
          absl::StrAppend(&text, "db", ns, ":keys=", *keys[ns], ",expires=0,avg_ttl=0\r\n");
        }
      }
    }
    out.Verbatim("txt", text);
  });
}

}  // namespace

std::vector<CommandSpec> ServerCommands() {
  return {
      {"command", -1, {"loading", "stale"}, 0, 0, 0, "server", "2.8.13",
       "Returns detailed information about all commands.", CommandCommand},
      {"config", -2, {}, 0, 0, 0, "server", "2.0.0",
       "A container for server configuration commands.", ConfigCommand},
      {"dbsize", 1, {"readonly", "fast"}, 0, 0, 0, "server", "1.0.0",
       "Returns the number of keys in the database.", DbsizeCommand},
      {"info", -1, {"loading", "stale"}, 0, 0, 0, "server", "1.0.0",
       "Returns information and statistics about the server.", InfoCommand},
  };
}

}  // namespace beyondkv::gateway
