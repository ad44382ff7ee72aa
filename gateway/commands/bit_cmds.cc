// Bit and string-reading commands (Redis 7.0 src/bitops.c and src/t_string.c semantics, via
// common/bit_ops.h): GETBIT, SETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO, LCS;
// and the object commands COPY, MOVE, OBJECT, MEMORY (src/db.c, src/object.c).
//
// Reads fetch the value and compute here; SETBIT and writing BITFIELDs travel as one BITS op
// and run in the owning shard's engine thread (atomic; the shard parses the arguments again).
// Arguments are checked here first, so errors come back without a shard hop, in Redis's
// order. BITOP reads its sources (any shards) and then writes dest: not atomic across shards,
// as MSETNX and cross-shard RENAME (ARCHITECTURE.md §4). COPY and MOVE read the source and
// write the target with NX (unless REPLACE); MOVE then deletes the source only if it still
// holds the revision read.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/bit_ops.h"
#include "common/numbers.h"
#include "gateway/commands/command_util.h"

namespace beyondkv::gateway {
namespace {

using v1::Op;
using v1::OpResult;

bitops::Args ArgsFrom(const Argv& argv, size_t first) {
  bitops::Args args;
  for (size_t i = first; i < argv.size(); ++i) args.emplace_back(argv[i]);
  return args;
}

// Fetches `key`'s value and replies `compute(value or nullptr, out)`.
template <typename F>
void WithValue(CommandContext& ctx, const std::string& key, F compute) {
  ctx.NewOp(Op::GET, key, [compute = std::move(compute)](OpResult& r, CommandContext& c) {
    RespWriter out = c.out();
    if (ReplyIfFailed(r, out)) return;
    compute(r.code() == OpResult::OK ? &r.value() : nullptr, out);
  });
}

void ReplyStatusError(RespWriter out, const absl::Status& status) {
  out.Error(std::string(status.message()));
}

void GetBitCommand(CommandContext& ctx, Argv& argv) {
  bitops::Args args = ArgsFrom(argv, 2);
  absl::StatusOr<int64_t> checked = bitops::GetBit(nullptr, args);
  if (!checked.ok()) return ReplyStatusError(ctx.out(), checked.status());
  WithValue(ctx, argv[1], [offset = argv[2]](const std::string* value, RespWriter& out) {
    absl::StatusOr<int64_t> bit = bitops::GetBit(value, {offset});
    if (!bit.ok()) return ReplyStatusError(out, bit.status());
    out.Integer(*bit);
  });
}

// Sends a BITS op (SETBIT, writing BITFIELD) to the key's shard.
template <typename F>
void SendBits(CommandContext& ctx, Argv& argv, std::string_view command, F reply) {
  Op* op = ctx.NewOp(Op::BITS, argv[1], [reply = std::move(reply)](OpResult& r,
                                                                   CommandContext& c) {
    RespWriter out = c.out();
    if (ReplyIfFailed(r, out)) return;
    reply(r, out);
  });
  op->set_command(std::string(command));
  for (size_t i = 2; i < argv.size(); ++i) op->add_args(std::move(argv[i]));
}

void SetBitCommand(CommandContext& ctx, Argv& argv) {
  absl::StatusOr<bitops::SetBitArgs> parsed = bitops::ParseSetBit(ArgsFrom(argv, 2));
  if (!parsed.ok()) return ReplyStatusError(ctx.out(), parsed.status());
  SendBits(ctx, argv, "setbit", [](const OpResult& r, RespWriter& out) {
    out.Integer(r.int_value());
  });
}

// BITCOUNT and BITPOS: an integer computed from the value and the arguments after the key
// (an absent key answers before the arguments are parsed, as Redis).
void ReplyCount(CommandContext& ctx, Argv& argv,
                absl::StatusOr<int64_t> (*count)(const std::string*, const bitops::Args&)) {
  WithValue(ctx, argv[1], [count, args = Argv(argv.begin() + 2, argv.end())](
                              const std::string* value, RespWriter& out) {
    absl::StatusOr<int64_t> n = count(value, ArgsFrom(args, 0));
    if (!n.ok()) return ReplyStatusError(out, n.status());
    out.Integer(*n);
  });
}

void BitCountCommand(CommandContext& ctx, Argv& argv) { ReplyCount(ctx, argv, bitops::BitCount); }
void BitPosCommand(CommandContext& ctx, Argv& argv) { ReplyCount(ctx, argv, bitops::BitPos); }

void ReplyBitfield(const bitops::BitfieldReply& replies, RespWriter& out) {
  out.ArrayHeader(static_cast<int64_t>(replies.size()));
  for (const std::optional<int64_t>& r : replies) {
    if (r.has_value()) {
      out.Integer(*r);
    } else {
      out.Null();
    }
  }
}

void BitfieldGeneric(CommandContext& ctx, Argv& argv, bool read_only) {
  absl::StatusOr<bitops::BitfieldSpec> spec = bitops::ParseBitfield(ArgsFrom(argv, 2), read_only);
  if (!spec.ok()) return ReplyStatusError(ctx.out(), spec.status());
  if (!bitops::BitfieldWrites(*spec)) {
    WithValue(ctx, argv[1], [spec = *std::move(spec)](const std::string* value, RespWriter& out) {
      ReplyBitfield(bitops::ReadBitfield(spec, value), out);
    });
    return;
  }
  SendBits(ctx, argv, "bitfield", [](const OpResult& r, RespWriter& out) {
    out.ArrayHeader(r.values_size());
    for (int i = 0; i < r.values_size(); ++i) {
      int64_t n = 0;
      if (i < r.found_size() && r.found(i) && ParseInt64(r.values(i), &n)) {
        out.Integer(n);
      } else {
        out.Null();
      }
    }
  });
}

void BitfieldCommand(CommandContext& ctx, Argv& argv) { BitfieldGeneric(ctx, argv, false); }
void BitfieldRoCommand(CommandContext& ctx, Argv& argv) { BitfieldGeneric(ctx, argv, true); }

// BITOP op dest src...: reads every source, then writes dest (an empty result deletes it).
void BitOpCommand(CommandContext& ctx, Argv& argv) {
  const size_t sources = argv.size() - 3;
  absl::StatusOr<bitops::BitOpKind> kind = bitops::ParseBitOp(argv[1], sources);
  if (!kind.ok()) return ReplyStatusError(ctx.out(), kind.status());
  struct State {
    std::vector<std::optional<std::string>> values;
    FirstError error;
  };
  auto state = std::make_shared<State>();
  state->values.resize(sources);
  for (size_t i = 0; i < sources; ++i) {
    ctx.NewOp(Op::GET, argv[3 + i], [state, i](OpResult& r, CommandContext&) {
      state->error.Note(r);
      if (r.code() == OpResult::OK) state->values[i] = std::move(*r.mutable_value());
    });
  }
  ctx.Finish([state, op = argv[1], dest = argv[2]](CommandContext& c) {
    RespWriter out = c.out();
    if (state->error.Reply(out)) return;
    std::vector<const std::string*> inputs;
    for (const auto& v : state->values) inputs.push_back(v.has_value() ? &*v : nullptr);
    absl::StatusOr<std::string> result = bitops::BitOp(op, inputs);
    if (!result.ok()) return ReplyStatusError(out, result.status());
    const int64_t length = static_cast<int64_t>(result->size());
    Op write = KeyOp(c, result->empty() ? Op::DELETE : Op::PUT, dest);
    write.set_value(*std::move(result));  // a PUT without expiry: BITOP drops dest's TTL
    c.Send(dest, std::move(write), [length](const OpResult& r, CommandContext& c2) {
      RespWriter out2 = c2.out();
      if (!ReplyIfFailed(r, out2)) out2.Integer(length);
    });
  });
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]
void LcsCommand(CommandContext& ctx, Argv& argv) {
  struct State {
    std::optional<std::string> a, b;
    FirstError error;
  };
  auto state = std::make_shared<State>();
  for (int i = 0; i < 2; ++i) {
    ctx.NewOp(Op::GET, argv[1 + i], [state, i](OpResult& r, CommandContext&) {
      state->error.Note(r);
      if (r.code() == OpResult::OK) (i == 0 ? state->a : state->b) = std::move(*r.mutable_value());
    });
  }
  ctx.Finish([state, args = Argv(argv.begin() + 3, argv.end())](CommandContext& c) {
    RespWriter out = c.out();
    if (state->error.Reply(out)) return;
    absl::StatusOr<bitops::LcsResult> lcs =
        bitops::Lcs(state->a ? &*state->a : nullptr, state->b ? &*state->b : nullptr,
                    ArgsFrom(args, 0));
    if (!lcs.ok()) return ReplyStatusError(out, lcs.status());
    switch (lcs->mode) {
      case bitops::LcsMode::kString:
        out.Bulk(lcs->lcs);
        return;
      case bitops::LcsMode::kLen:
        out.Integer(lcs->len);
        return;
      case bitops::LcsMode::kIdx:
        break;
    }
    // RESP3: a map {matches, len}; RESP2: the same as a flat array of 4.
    if (c.client().protocol >= 3) {
      out.MapHeader(2);
    } else {
      out.ArrayHeader(4);
    }
    out.Bulk("matches");
    out.ArrayHeader(static_cast<int64_t>(lcs->matches.size()));
    for (const bitops::LcsMatch& m : lcs->matches) {
      out.ArrayHeader(lcs->with_match_len ? 3 : 2);
      out.ArrayHeader(2);
      out.Integer(m.a_start);
      out.Integer(m.a_end);
      out.ArrayHeader(2);
      out.Integer(m.b_start);
      out.Integer(m.b_end);
      if (lcs->with_match_len) out.Integer(m.length);
    }
    out.Bulk("len");
    out.Integer(lcs->len);
  });
}

// A DB argument (COPY ... DB n, MOVE key n): Redis's errors for a non-integer and a range.
bool ParseDb(CommandContext& ctx, const std::string& arg, uint32_t* db) {
  int64_t n = 0;
  if (!ParseInt64(arg, &n)) {
    ctx.out().Error(kErrNotInteger);
    return false;
  }
  if (n < 0 || n >= 16) {
    ctx.out().Error(kErrDbIndex);
    return false;
  }
  *db = static_cast<uint32_t>(n);
  return true;
}

constexpr std::string_view kErrSameObject = "ERR source and destination objects are the same";

// Copies `from` (client's namespace) to `to` in namespace `db`, keeping value, metadata and
// expiry; NX unless `replace`. `done(copied, revision_read, ctx)` runs after the write.
template <typename F>
void CopyKey(CommandContext& ctx, std::string from, std::string to, uint32_t db, bool replace,
             F done) {
  ctx.Send(from, KeyOp(ctx, Op::GET, from),
           [to = std::move(to), db, replace, done](OpResult& got, CommandContext& c) {
             RespWriter out = c.out();
             if (ReplyIfFailed(got, out)) return;
             if (got.code() == OpResult::NOT_FOUND) {
               out.Integer(0);
               return;
             }
             Op put = KeyOp(c, Op::PUT, to);
             put.set_ns(db);
             put.set_value(std::move(*got.mutable_value()));
             put.set_metadata(std::move(*got.mutable_metadata()));
             put.set_expire_at_ms(got.expire_at_ms());
             if (!replace) put.set_condition(Op::IF_ABSENT);
             const uint64_t revision = got.revision();
             c.Send(to, std::move(put),
                    [done, revision](const OpResult& r, CommandContext& c2) {
                      RespWriter out2 = c2.out();
                      if (ReplyIfFailed(r, out2)) return;
                      done(r.code() == OpResult::OK, revision, c2);
                    });
           });
}

// COPY source destination [DB destination-db] [REPLACE]
void CopyCommand(CommandContext& ctx, Argv& argv) {
  uint32_t db = ctx.client().db;
  bool replace = false;
  for (size_t i = 3; i < argv.size(); ++i) {
    if (EqualsIgnoreCase(argv[i], "replace")) {
      replace = true;
    } else if (EqualsIgnoreCase(argv[i], "db") && i + 1 < argv.size()) {
      if (!ParseDb(ctx, argv[++i], &db)) return;
    } else {
      ctx.out().Error(kErrSyntax);
      return;
    }
  }
  if (db == ctx.client().db && argv[1] == argv[2]) {
    ctx.out().Error(kErrSameObject);
    return;
  }
  CopyKey(ctx, std::move(argv[1]), std::move(argv[2]), db, replace,
          [](bool copied, uint64_t, CommandContext& c) { c.out().Integer(copied ? 1 : 0); });
}

// MOVE key db: copies into db unless the key exists there, then deletes the source if it
// still holds the revision read.
void MoveCommand(CommandContext& ctx, Argv& argv) {
  uint32_t db = 0;
  if (!ParseDb(ctx, argv[2], &db)) return;
  if (db == ctx.client().db) {
    ctx.out().Error(kErrSameObject);
    return;
  }
  std::string key = argv[1];
  CopyKey(ctx, key, argv[1], db, false,
          [key](bool copied, uint64_t revision, CommandContext& c) {
            if (!copied) {
              c.out().Integer(0);
              return;
            }
            Op del = KeyOp(c, Op::DELETE, key);
            del.set_condition(Op::IF_REVISION);
            del.set_if_revision(revision);
            c.Send(key, std::move(del), [](const OpResult& r, CommandContext& c2) {
              RespWriter out = c2.out();
              if (!ReplyIfFailed(r, out)) out.Integer(1);
            });
          });
}

// Redis's encoding of a string value (src/object.c tryObjectEncoding): "int" when it reads
// as a 64-bit integer of at most 20 characters, "embstr" up to 44 bytes, else "raw".
std::string_view EncodingOf(const std::string& value) {
  int64_t n = 0;
  if (value.size() <= 20 && ParseInt64(value, &n)) return "int";
  return value.size() <= 44 ? "embstr" : "raw";
}

void UnknownSubcommand(CommandContext& ctx, const Argv& argv, std::string_view command) {
  ctx.out().Error(absl::StrCat("ERR unknown subcommand '", argv[1], "'. Try ", std::string(command),
                               " HELP."));
}

void SubcommandArity(CommandContext& ctx, std::string_view command, const std::string& sub) {
  ctx.out().Error(absl::StrCat("ERR wrong number of arguments for '", std::string(command), "|",
                               ToLower(sub), "' command"));
}

void ReplyHelp(CommandContext& ctx, const std::vector<std::string_view>& lines) {
  RespWriter out = ctx.out();
  out.ArrayHeader(static_cast<int64_t>(lines.size()));
  for (std::string_view line : lines) out.Simple(line);
}

// OBJECT ENCODING | FREQ | IDLETIME | REFCOUNT | HELP. We keep no LRU clock or LFU counter
// per key: IDLETIME answers 0 and FREQ Redis's error for a non-LFU policy (ours evicts from
// the cache, never from the store).
void ObjectCommand(CommandContext& ctx, Argv& argv) {
  const std::string sub = ToLower(argv[1]);
  if (sub == "help") {
    ReplyHelp(ctx, {"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "ENCODING <key>", "    Return the kind of internal representation used in "
                    "order to store the value associated with a <key>.",
                    "FREQ <key>", "    Return the access frequency index of the <key>. The "
                    "returned integer is proportional to the logarithm of the recent access "
                    "frequency of the key.",
                    "IDLETIME <key>", "    Return the idle time of the <key>, that is the "
                    "approximated number of seconds elapsed since the last access to the key.",
                    "REFCOUNT <key>", "    Return the number of references of the value "
                    "associated with the specified <key>.",
                    "HELP", "    Print this help."});
    return;
  }
  if (sub != "encoding" && sub != "freq" && sub != "idletime" && sub != "refcount") {
    return UnknownSubcommand(ctx, argv, "OBJECT");
  }
  if (argv.size() != 3) return SubcommandArity(ctx, "object", sub);
  WithValue(ctx, argv[2], [sub](const std::string* value,
                                                      RespWriter& out) {
    if (value == nullptr) return out.Null();
    if (sub == "encoding") return out.Bulk(EncodingOf(*value));
    if (sub == "idletime") return out.Integer(0);
    if (sub == "freq") {
      return out.Error(
          "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
          "note that when switching between policies at runtime LRU and LFU data will take "
          "some time to adjust.");
    }
    // REFCOUNT: Redis shares the integers 0..9999 (OBJ_SHARED_REFCOUNT); others have one.
    int64_t n = 0;
    const bool shared = ParseInt64(*value, &n) && n >= 0 && n < 10000;
    out.Integer(shared ? 2147483647 : 1);
  });
}

// MEMORY USAGE key [SAMPLES n] | HELP. The figure is what the key costs us: the key and value
// bytes plus the keydir entry (docs/benchmarks/engine.md: ~159 bytes per 16-byte key, of
// which the key itself is 16) and the record header on disk; the cache may hold a copy too.
void MemoryCommand(CommandContext& ctx, Argv& argv) {
  const std::string sub = ToLower(argv[1]);
  if (sub == "help") {
    ReplyHelp(ctx, {"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "USAGE <key> [SAMPLES <count>]",
                    "    Return memory in bytes used by <key> and its value. Nested values are",
                    "    sampled up to <count> times (default: 5, 0 means sample all).",
                    "HELP", "    Print this help."});
    return;
  }
  if (sub != "usage") return UnknownSubcommand(ctx, argv, "MEMORY");
  if (argv.size() < 3) return SubcommandArity(ctx, "memory", sub);
  for (size_t i = 3; i < argv.size(); ++i) {
    int64_t samples = 0;
    if (EqualsIgnoreCase(argv[i], "samples") && i + 1 < argv.size()) {
      if (!ParseInt64(argv[++i], &samples)) {
        ctx.out().Error(kErrNotInteger);
        return;
      }
    } else {
      ctx.out().Error(kErrSyntax);
      return;
    }
  }
  const size_t key_bytes = argv[2].size();
  WithValue(ctx, argv[2], [key_bytes](const std::string* value,
                                                            RespWriter& out) {
    if (value == nullptr) return out.Null();
    constexpr int64_t kIndexEntryBytes = 143;  // keydir node without the key (engine.md)
    out.Integer(kIndexEntryBytes + static_cast<int64_t>(key_bytes + value->size()));
  });
}

}  // namespace

std::vector<CommandSpec> BitCommands() {
  return {
      {"getbit", 3, {"readonly", "fast"}, 1, 1, 1, "bitmap", "2.2.0",
       "Returns a bit value by offset.", GetBitCommand},
      {"setbit", 4, {"write", "denyoom"}, 1, 1, 1, "bitmap", "2.2.0",
       "Sets or clears the bit at offset of the string value. Creates the key if it doesn't "
       "exist.", SetBitCommand},
      {"bitcount", -2, {"readonly"}, 1, 1, 1, "bitmap", "2.6.0",
       "Counts the number of set bits (population counting) in a string.", BitCountCommand},
      {"bitpos", -3, {"readonly"}, 1, 1, 1, "bitmap", "2.8.7",
       "Finds the first set (1) or clear (0) bit in a string.", BitPosCommand},
      {"bitop", -4, {"write", "denyoom"}, 2, -1, 1, "bitmap", "2.6.0",
       "Performs bitwise operations on multiple strings, and stores the result.", BitOpCommand},
      {"bitfield", -2, {"write", "denyoom"}, 1, 1, 1, "bitmap", "3.2.0",
       "Performs arbitrary bitfield integer operations on strings.", BitfieldCommand},
      {"bitfield_ro", -2, {"readonly", "fast"}, 1, 1, 1, "bitmap", "6.0.0",
       "Performs arbitrary read-only bitfield integer operations on strings.",
       BitfieldRoCommand},
      {"lcs", -3, {"readonly"}, 1, 2, 1, "string", "7.0.0",
       "Finds the longest common substring.", LcsCommand},
      {"copy", -3, {"write", "denyoom"}, 1, 2, 1, "generic", "6.2.0",
       "Copies the value of a key to a new key.", CopyCommand},
      {"move", 3, {"write", "fast"}, 1, 1, 1, "generic", "1.0.0",
       "Moves a key to another database.", MoveCommand},
      {"object", -2, {}, 0, 0, 0, "generic", "2.2.3",
       "A container for object introspection commands.", ObjectCommand},
      {"memory", -2, {}, 0, 0, 0, "server", "4.0.0",
       "A container for memory diagnostics commands.", MemoryCommand},
  };
}

}  // namespace beyondkv::gateway
