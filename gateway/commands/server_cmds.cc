// Server commands: COMMAND, CONFIG GET, DBSIZE, INFO. What real clients send on connect must
// work (architecture §8): redis-benchmark reads CONFIG GET save/appendonly, ioredis reads
// INFO, redis-cli reads COMMAND DOCS.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/commands/command_util.h"
#include "gateway/io_loop.h"
#include "absl/time/clock.h"
#include "gateway/command_table.h"
#include "common/glob.h"
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

void DbsizeCommand(CommandContext& ctx, Argv&) {
  auto total = std::make_shared<int64_t>(0);
  auto error = std::make_shared<FirstError>();
  for (uint32_t shard = 0; shard < ctx.shard_count(); ++shard) {
    Op op;
    op.set_type(Op::DBSIZE);
    op.set_ns(ctx.client().db);
    ctx.SendToShard(shard, std::move(op), [total, error](const OpResult& r, CommandContext&) {
      error->Note(r);
      *total += r.count();
    });
  }
  ctx.Finish([total, error](CommandContext& c) {
    RespWriter out = c.out();
    if (!error->Reply(out)) out.Integer(*total);
  });
}

// One shard's STATS, or nothing when it did not answer.
struct ShardAnswer {
  bool up = false;
  v1::ShardStats stats;
};

// Asks every shard for its STATS and passes the answers to `done`, element i = shard i; a
// shard that does not answer is reported down rather than failing the command.
void GatherStats(CommandContext& ctx,
                 std::function<void(const std::vector<ShardAnswer>&, CommandContext&)> done) {
  auto answers = std::make_shared<std::vector<ShardAnswer>>(ctx.shard_count());
  for (uint32_t shard = 0; shard < ctx.shard_count(); ++shard) {
    Op op;
    op.set_type(Op::STATS);
    ctx.SendToShard(shard, std::move(op), [answers, shard](const OpResult& r, CommandContext&) {
      ShardAnswer& a = (*answers)[shard];
      a.up = r.code() == OpResult::OK;
      if (a.up) a.stats = r.stats();
    });
  }
  ctx.Finish([answers, done](CommandContext& c) { done(*answers, c); });
}

std::string HumanBytes(uint64_t n) {
  const char* units[] = {"B", "K", "M", "G", "T"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? absl::StrCat(n, "B") : absl::StrFormat("%.2f%s", v, units[u]);
}

// Sections of INFO without arguments and of INFO default: Redis 7.0's defaults, then ours
// (namespaces, shards: as a module's sections come after Redis's own). INFO all and INFO
// everything add commandstats, errorstats and latencystats.
constexpr std::string_view kDefaultSections[] = {
    "server", "clients", "memory",   "persistence", "stats",     "replication",
    "cpu",    "module_list", "errorstats", "cluster", "keyspace", "namespaces", "shards"};

// INFO's section selection, as Redis 7.0's genInfoSectionDict: no argument = the defaults;
// each argument, case-insensitive, is a section name, "default" (the defaults), "all" or
// "everything" (every section); a name that matches no section adds nothing.
struct InfoSelection {
  bool all = false;
  std::vector<std::string> names;

  explicit InfoSelection(const Argv& argv) {
    auto add_defaults = [this] {
      for (std::string_view s : kDefaultSections) names.emplace_back(s);
    };
    if (argv.size() == 1) add_defaults();
    for (size_t i = 1; i < argv.size(); ++i) {
      std::string name = ToLower(argv[i]);
      if (name == "default") {
        add_defaults();
      } else if (name == "all" || name == "everything") {
        all = true;
      } else {
        names.push_back(std::move(name));
      }
    }
  }

  bool Wants(std::string_view name) const {
    return all || std::find(names.begin(), names.end(), name) != names.end();
  }
};

void AppendCpuFields(std::string* text) {
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  auto seconds = [](const timeval& tv) {
    return absl::StrFormat("%d.%06d", static_cast<int64_t>(tv.tv_sec),
                           static_cast<int64_t>(tv.tv_usec));
  };
  absl::StrAppend(text, "used_cpu_sys:", seconds(self.ru_stime), "\r\nused_cpu_user:",
                  seconds(self.ru_utime), "\r\nused_cpu_sys_children:0.000000\r\n",
                  "used_cpu_user_children:0.000000\r\n");
}

// INFO [section ...]: Redis's server, clients, memory, persistence, stats, replication, cpu,
// modules, commandstats, errorstats, latencystats, cluster, keyspace, then ours: namespaces
// and shards. The figures are those of GET /metrics on the HTTP gateway (docs/http.md): this
// gateway's own (connections, commands with their latency) and every shard's (keys and bytes
// per namespace, cache, log, sealed segments, reclaim runs), as totals and per shard.
// Replication, cpu, modules, errorstats and cluster hold what a standalone server without
// replicas or modules reports (errorstats: not counted per error code, so empty).
void InfoCommand(CommandContext& ctx, Argv& argv) {
  InfoSelection selection(argv);
  GatherStats(ctx, [selection](const std::vector<ShardAnswer>& answers, CommandContext& c) {
    auto wanted = [&](std::string_view name) { return selection.Wants(name); };
    const GatewayConfig& cfg = c.config();
    GatewayShared& shared = c.shared();
    const int64_t uptime = (NowMs() - shared.started_ms) / 1000;
    struct NsTotals {
      uint64_t keys = 0, expires = 0, live_bytes = 0, log_bytes = 0, sealed = 0;
    };
    NsTotals ns_totals[16];
    uint64_t cache_bytes = 0, cache_budget = 0, index_bytes = 0, hits = 0, misses = 0;
    uint64_t log_bytes = 0, live_bytes = 0, sealed = 0, reclaims = 0, expired = 0, corrupt = 0;
    uint64_t shard_ops = 0, shards_up = 0;
    for (const ShardAnswer& a : answers) {
      if (!a.up) continue;
      ++shards_up;
      const v1::ShardStats& s = a.stats;
      for (const v1::NamespaceStats& n : s.namespaces()) {
        if (n.ns() < 16) {
          NsTotals& t = ns_totals[n.ns()];
          t.keys += n.keys();
          t.expires += n.expires();
          t.live_bytes += n.live_bytes();
          t.log_bytes += n.log_bytes();
          t.sealed += n.sealed_segments();
        }
        log_bytes += n.log_bytes();
        live_bytes += n.live_bytes();
        sealed += n.sealed_segments();
      }
      cache_bytes += s.cache_bytes();
      cache_budget += s.cache_budget_bytes();
      index_bytes += s.index_bytes();
      hits += s.cache_hits();
      misses += s.cache_misses();
      reclaims += s.reclaim_runs();
      expired += s.expired_keys();
      corrupt += s.corrupt_records();
      shard_ops += s.commands();
    }
    std::string text;
    auto section = [&](const char* title) {
      if (!text.empty()) text += "\r\n";
      absl::StrAppend(&text, "# ", title, "\r\n");
    };
    if (wanted("server")) {
      section("Server");
      absl::StrAppend(&text, "redis_version:7.0.15\r\nbeyond_kv_version:0.1.0\r\n",
                      "redis_mode:standalone\r\narch_bits:64\r\nprocess_id:", getpid(),
                      "\r\ntcp_port:", cfg.port, "\r\nuptime_in_seconds:", uptime,
                      "\r\nuptime_in_days:", uptime / 86400, "\r\nshards:", cfg.shard_count,
                      "\r\nshards_up:", shards_up, "\r\nio_threads_active:", cfg.threads,
                      "\r\n");
    }
    if (wanted("clients")) {
      section("Clients");
      absl::StrAppend(&text, "connected_clients:", shared.open_connections.load(),
                      "\r\nmaxclients:", cfg.max_conns, "\r\n");
    }
    if (wanted("memory")) {
      section("Memory");
      const uint64_t used = cache_bytes + index_bytes;
      absl::StrAppend(&text, "used_memory:", used, "\r\nused_memory_human:", HumanBytes(used),
                      "\r\nmaxmemory:", cache_budget, "\r\nmaxmemory_human:",
                      HumanBytes(cache_budget), "\r\nmaxmemory_policy:s3fifo\r\n",
                      "cache_bytes:", cache_bytes, "\r\ncache_budget_bytes:", cache_budget,
                      "\r\nindex_bytes:", index_bytes, "\r\n");
    }
    if (wanted("persistence")) {
      section("Persistence");
      absl::StrAppend(&text, "loading:0\r\naof_enabled:1\r\nappendfsync:", cfg.fsync,
                      "\r\nlog_bytes:", log_bytes, "\r\nlive_bytes:", live_bytes,
                      "\r\nsealed_segments:", sealed, "\r\nreclaim_runs:", reclaims,
                      "\r\ncorrupt_records:", corrupt, "\r\n");
    }
    if (wanted("stats")) {
      section("Stats");
      absl::StrAppend(&text, "total_connections_received:", shared.total_connections.load(),
                      "\r\ntotal_commands_processed:", shared.total_commands.load(),
                      "\r\nshard_ops_processed:", shard_ops, "\r\nexpired_keys:", expired,
                      "\r\ncache_hits:", hits, "\r\ncache_misses:", misses, "\r\n");
    }
    if (wanted("replication")) {
      section("Replication");
      absl::StrAppend(&text, "role:master\r\nconnected_slaves:0\r\n",
                      "master_failover_state:no-failover\r\nmaster_repl_offset:0\r\n",
                      "second_repl_offset:-1\r\nrepl_backlog_active:0\r\n");
    }
    if (wanted("cpu")) {
      section("CPU");
      AppendCpuFields(&text);
    }
    if (wanted("module_list") || wanted("modules")) section("Modules");
    const std::vector<CommandSpec>& all = AllCommands();
    if (wanted("commandstats")) {
      section("Commandstats");
      for (size_t i = 0; i < all.size(); ++i) {
        const CommandStats::Snapshot st = shared.command_stats.Get(i);
        if (st.calls == 0 && st.rejected == 0) continue;
        absl::StrAppend(&text, "cmdstat_", std::string(all[i].name), ":calls=", st.calls,
                        ",usec=", st.usec, ",usec_per_call=",
                        absl::StrFormat("%.2f", st.calls == 0 ? 0.0
                                                              : static_cast<double>(st.usec) /
                                                                    static_cast<double>(st.calls)),
                        ",rejected_calls=", st.rejected, ",failed_calls=", st.failed, "\r\n");
      }
    }
    if (wanted("errorstats")) section("Errorstats");
    if (wanted("latencystats")) {
      section("Latencystats");
      for (size_t i = 0; i < all.size(); ++i) {
        const CommandStats::Snapshot st = shared.command_stats.Get(i);
        if (st.calls == 0) continue;
        absl::StrAppend(&text, "latency_percentiles_usec_", std::string(all[i].name), ":p50=",
                        absl::StrFormat("%.3f", CommandStats::Percentile(st, 0.5)), ",p99=",
                        absl::StrFormat("%.3f", CommandStats::Percentile(st, 0.99)),
                        ",p99.9=", absl::StrFormat("%.3f", CommandStats::Percentile(st, 0.999)),
                        "\r\n");
      }
    }
    if (wanted("cluster")) {
      section("Cluster");
      absl::StrAppend(&text, "cluster_enabled:0\r\n");
    }
    if (wanted("keyspace")) {
      section("Keyspace");
      for (uint32_t ns = 0; ns < 16; ++ns) {
        if (ns_totals[ns].keys > 0) {
          absl::StrAppend(&text, "db", ns, ":keys=", ns_totals[ns].keys,
                          ",expires=", ns_totals[ns].expires, ",avg_ttl=0\r\n");
        }
      }
    }
    if (wanted("namespaces")) {
      // Keys and bytes of every namespace that holds anything (summed over the shards).
      section("Namespaces");
      for (uint32_t ns = 0; ns < 16; ++ns) {
        const NsTotals& t = ns_totals[ns];
        if (t.keys == 0 && t.log_bytes == 0) continue;
        absl::StrAppend(&text, "ns", ns, ":keys=", t.keys, ",expires=", t.expires,
                        ",live_bytes=", t.live_bytes, ",log_bytes=", t.log_bytes,
                        ",sealed_segments=", t.sealed, "\r\n");
      }
    }
    if (wanted("shards")) {
      section("Shards");
      for (size_t i = 0; i < answers.size(); ++i) {
        const ShardAnswer& a = answers[i];
        if (!a.up) {
          absl::StrAppend(&text, "shard", i, ":up=0\r\n");
          continue;
        }
        uint64_t keys = 0, expires = 0, live = 0, log = 0, segs = 0;
        for (const v1::NamespaceStats& n : a.stats.namespaces()) {
          keys += n.keys();
          expires += n.expires();
          live += n.live_bytes();
          log += n.log_bytes();
          segs += n.sealed_segments();
        }
        const v1::ShardStats& s = a.stats;
        absl::StrAppend(&text, "shard", i, ":up=1,keys=", keys, ",expires=", expires,
                        ",live_bytes=", live, ",log_bytes=", log, ",sealed_segments=", segs,
                        ",cache_hits=", s.cache_hits(), ",cache_misses=", s.cache_misses(),
                        ",cache_bytes=", s.cache_bytes(),
                        ",cache_budget_bytes=", s.cache_budget_bytes());
        absl::StrAppend(&text, ",index_bytes=", s.index_bytes(), ",reclaim_runs=",
                        s.reclaim_runs(), ",expired_keys=", s.expired_keys(),
                        ",corrupt_records=", s.corrupt_records(), ",ops=", s.commands(), "\r\n");
      }
    }
    c.out().Verbatim("txt", text);
  });
}

void TimeCommand(CommandContext& ctx, Argv&) {
  const int64_t us = absl::ToUnixMicros(absl::Now());
  RespWriter out = ctx.out();
  out.ArrayHeader(2);
  out.Bulk(std::to_string(us / 1000000));
  out.Bulk(std::to_string(us % 1000000));
}

// BGREWRITEAOF: start reclaim (compaction of sealed log segments) in every shard.
void BgRewriteAofCommand(CommandContext& ctx, Argv&) {
  auto error = std::make_shared<FirstError>();
  for (uint32_t shard = 0; shard < ctx.shard_count(); ++shard) {
    Op op;
    op.set_type(Op::RECLAIM);
    ctx.SendToShard(shard, std::move(op), NoteError(error));
  }
  FinishOk(ctx, error, "Background append only file rewriting started");
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
      {"time", 1, {"loading", "stale", "fast"}, 0, 0, 0, "server", "2.6.0",
       "Returns the server time.", TimeCommand},
      {"bgrewriteaof", 1, {"admin", "noscript", "no_async_loading"}, 0, 0, 0, "server",
       "1.0.0", "Asynchronously rewrites the append-only file to disk (in beyond-kv: reclaims "
       "sealed log segments).",
       BgRewriteAofCommand},
  };
}

}  // namespace beyondkv::gateway
