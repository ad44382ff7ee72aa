// The semantics of Redis 7.0's bit commands (GETBIT SETBIT BITCOUNT BITPOS BITOP BITFIELD
// BITFIELD_RO, from src/bitops.c) and of LCS and GETRANGE/SUBSTR (src/t_string.c), as pure
// functions of argument lists and values: no engine, no socket. The gateway calls the
// read-only ones on a value it fetched; the shard calls the read-modify-write ones (SETBIT,
// BITOP, BITFIELD) atomically on the stored value. Replies and error texts were checked against
// redis-server 7.0.15 (bit_ops_test.cc).
//
// Conventions:
// - `args` are the command's arguments AFTER the key(s), exactly as the client sent them
//   (BITCOUNT k 0 -1 BIT -> {"0", "-1", "BIT"}).
// - A value is `const std::string*`, nullptr meaning the key is absent. Type checks (WRONGTYPE)
//   are the caller's: Redis makes them before or between these steps as noted per command.
// - Errors are absl::InvalidArgumentError whose message is the exact Redis error line without
//   the leading '-' (e.g. "ERR syntax error"); the caller replies "-" + message. Every error
//   comes from argument parsing or a size limit, never from the value's content.
// - Units: bit offset 0 is the most significant bit (0x80) of byte 0, offset 7 its least
//   significant bit (0x01), offset 8 the 0x80 of byte 1, as in Redis. Byte indexes count bytes.
// - Argument counts: a wrong count for a fixed-arity command gives Redis's arity error
//   ("ERR wrong number of arguments for 'getbit' command"), normally already sent by the
//   caller's command table.
// - Numbers in arguments are parsed as Redis's string2ll (common/numbers.h ParseInt64): no '+',
//   no spaces, no leading zeros. Keywords (BIT/BYTE, AND/OR/XOR/NOT, GET/SET/INCRBY/OVERFLOW,
//   WRAP/SAT/FAIL, LEN/IDX/MINMATCHLEN/WITHMATCHLEN) are case-insensitive and, as Redis compares
//   them with strcasecmp, read up to a NUL byte.
//
// Thread-compatible: every function is pure (no state); concurrent calls on distinct values are
// safe.
#ifndef BEYONDKV_COMMON_BIT_OPS_H_
#define BEYONDKV_COMMON_BIT_OPS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace beyondkv {

// Largest string value, in BYTES: Redis's default proto-max-bulk-len (512 MiB). Same number as
// beyondkv::shard::kMaxStringBytes (services/kv-shard/string_ops.h), usable outside the shard.
// Bit offsets must be below kMaxStringBytes * 8 (so SETBIT builds at most 512 MiB); BITFIELD
// can still reach kMaxStringBytes + 8 bytes (a field of up to 64 bits at the last offset), as in
// Redis.
inline constexpr int64_t kMaxStringBytes = 512ll << 20;

namespace bitops {

using Args = std::vector<std::string_view>;

// Largest bit offset accepted anywhere: 2^32 - 1 (the last bit of 512 MiB).
inline constexpr uint64_t kMaxBitOffset = static_cast<uint64_t>(kMaxStringBytes) * 8 - 1;

// ---- Offsets (getBitOffsetFromArgument) -------------------------------------------------------

// Parses a bit offset: a string2ll integer in [0, kMaxBitOffset]. With `hash_width` > 0 (BITFIELD
// only) "#N" means N * hash_width, multiplied as Redis does in 64-bit two's complement (so a huge
// N can wrap into range and be accepted, as on the real server). Error: "ERR bit offset is not
// an integer or out of range".
absl::StatusOr<uint64_t> ParseBitOffset(std::string_view arg, int hash_width = 0);

// ---- GETBIT key offset ------------------------------------------------------------------------

// args = {offset}. Returns 0 or 1 (0 past the end or when `value` is nullptr). The offset is
// checked before the key is read, so an absent key still gets the offset error.
absl::StatusOr<int64_t> GetBit(const std::string* value, const Args& args);

// ---- SETBIT key offset value ------------------------------------------------------------------

struct SetBitArgs {
  uint64_t offset = 0;  // bits
  int bit = 0;          // 0 or 1
};
// args = {offset, bit}. Errors, in this order: "ERR bit offset is not an integer or out of
// range", "ERR bit is not an integer or out of range" (anything but "0" or "1").
absl::StatusOr<SetBitArgs> ParseSetBit(const Args& args);

// Sets the bit in place, growing `*value` with zero bytes to offset / 8 + 1 bytes if shorter.
// Returns the old bit. `offset` must be <= kMaxBitOffset.
int SetBitInPlace(std::string* value, uint64_t offset, int bit);

struct SetBitResult {
  int old_bit = 0;
  std::string value;  // the new value to store (the key always exists afterwards; an
                      // existing expiry is kept, as for BITFIELD)
};
// SETBIT on `value` (nullptr = absent = ""): ParseSetBit, then a copy with SetBitInPlace.
absl::StatusOr<SetBitResult> SetBit(const std::string* value, const Args& args);

// ---- BITCOUNT key [start end [BYTE|BIT]] -----------------------------------------------------

// args = {} or {start, end} or {start, end, BYTE|BIT}. Number of 1 bits in the range; start/end
// are inclusive byte indexes (bit indexes with BIT), negative counting from the end, clamped.
// As in Redis 7.0, an absent key answers 0 BEFORE the arguments are parsed (BITCOUNT nokey x
// -> 0). Errors: "ERR syntax error" (1 or more than 3 args, unknown unit), "ERR value is not an
// integer or out of range" (start or end). Quirk of 7.0.15: start and end both negative with
// start > end answers 0 at once, before the unit is checked and although both may clamp to the
// same byte (BITCOUNT "\xff" -13 -15 -> 0; BITCOUNT "\xff" -13 -15 junk -> 0).
absl::StatusOr<int64_t> BitCount(const std::string* value, const Args& args);

// ---- BITPOS key bit [start [end [BYTE|BIT]]] -------------------------------------------------

// args = {bit, [start, [end, [BYTE|BIT]]]}. Position (in bits from the start of the string) of
// the first `bit` in the range, or -1. Order, as Redis 7.0: the bit is parsed first ("ERR value
// is not an integer or out of range", then "ERR The bit argument must be 1 or 0."); then an
// absent key answers 0 for bit 0 and -1 for bit 1 without parsing the rest; then the range
// ("ERR syntax error" for more than 4 args or an unknown unit; the unit is checked before end
// is parsed). Corner cases: looking for 0 in a range of ones answers the first bit past the
// string (strlen * 8) when no end was given, -1 when an end was given; an empty range (start >
// end after clamping, or an empty existing string) answers -1 for both bits.
absl::StatusOr<int64_t> BitPos(const std::string* value, const Args& args);

// ---- BITOP op dest src [src ...] -------------------------------------------------------------

enum class BitOpKind { kAnd, kOr, kXor, kNot };

// Validates the op name against the number of source keys, as Redis does before reading any key.
// Errors, in this order: "ERR wrong number of arguments for 'bitop' command" (no source),
// "ERR syntax error" (op not AND/OR/XOR/NOT), "ERR BITOP NOT must be called with a single
// source key.".
absl::StatusOr<BitOpKind> ParseBitOp(std::string_view op, size_t num_sources);

// BITOP: the result string (length = the longest source; shorter and absent (nullptr) sources
// read as zero bytes). The reply is the result's length. An EMPTY result (every source absent
// or empty) means Redis DELETES dest (and does not store ""); otherwise dest is set to it
// (dropping any expiry, like SET; checked: TTL -1 afterwards).
absl::StatusOr<std::string> BitOp(std::string_view op,
                                  const std::vector<const std::string*>& sources);

// ---- BITFIELD / BITFIELD_RO -------------------------------------------------------------------

enum class BitfieldOverflow { kWrap, kSat, kFail };

struct BitfieldOp {
  enum Kind { kGet, kSet, kIncrBy };
  Kind kind = kGet;
  bool is_signed = false;
  int bits = 0;                 // width: 1..64 signed, 1..63 unsigned
  uint64_t offset = 0;          // in bits, "#N" already multiplied
  int64_t value = 0;            // SET value or INCRBY increment
  BitfieldOverflow overflow = BitfieldOverflow::kWrap;  // the OVERFLOW in force for this op
};

struct BitfieldSpec {
  std::vector<BitfieldOp> ops;  // GET/SET/INCRBY in order; OVERFLOW is folded into each op
};

// Parses BITFIELD's args (`read_only_command` = BITFIELD_RO). Errors, as Redis reports the first
// one met scanning left to right: "ERR syntax error" (unknown subcommand or too few args),
// "ERR Invalid OVERFLOW type specified", "ERR Invalid bitfield type. Use something like i16 u8.
// Note that u64 is not supported but i64 is.", "ERR bit offset is not an integer or out of
// range", "ERR value is not an integer or out of range"; and only after everything parsed,
// BITFIELD_RO with SET/INCRBY: "ERR BITFIELD_RO only supports the GET subcommand". No op at all
// is valid (reply: empty array). OVERFLOW is accepted by BITFIELD_RO.
absl::StatusOr<BitfieldSpec> ParseBitfield(const Args& args, bool read_only_command);

// True when the spec has a SET or INCRBY: the shard must run it (ApplyBitfield) and store the
// value, which Redis creates/grows EVEN IF every write fails with OVERFLOW FAIL.
bool BitfieldWrites(const BitfieldSpec& spec);

// Length in bytes the value grows to (if shorter) when the spec writes: highest bit written / 8
// + 1; 0 when it does not write. At most kMaxStringBytes + 8.
uint64_t BitfieldGrowBytes(const BitfieldSpec& spec);

// One reply entry per op: the integer, or nullopt (RESP nil) for a SET/INCRBY refused by
// OVERFLOW FAIL. GET: the field's value. SET: the OLD value. INCRBY: the NEW value.
using BitfieldReply = std::vector<std::optional<int64_t>>;

// Runs the spec on `*value` (the stored value, "" when the key is absent): first grows it with
// zero bytes to BitfieldGrowBytes (only when the spec writes), then applies the ops in order.
BitfieldReply ApplyBitfield(const BitfieldSpec& spec, std::string* value);

// The reply of a spec on a value that is not modified (BITFIELD_RO, or BITFIELD with only
// GETs, computed at the gateway). `value` nullptr = absent (fields read 0). If the spec writes,
// the writes are applied to a private copy.
BitfieldReply ReadBitfield(const BitfieldSpec& spec, const std::string* value);

// ---- LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN] ---------------------------------

enum class LcsMode { kString, kLen, kIdx };

struct LcsOptions {
  LcsMode mode = LcsMode::kString;
  int64_t min_match_len = 0;    // negative given -> 0, as Redis
  bool with_match_len = false;  // only used by IDX (accepted and ignored otherwise)
};

// Errors: "ERR syntax error" (unknown option, MINMATCHLEN without a value), "ERR value is not an
// integer or out of range" (MINMATCHLEN), "ERR If you want both the length and indexes, please
// just use IDX." (LEN and IDX). Options may repeat; order does not matter.
absl::StatusOr<LcsOptions> ParseLcs(const Args& args);

// One match of IDX: inclusive byte ranges in key1 (a) and key2 (b), and its length.
struct LcsMatch {
  int64_t a_start = 0, a_end = 0;
  int64_t b_start = 0, b_end = 0;
  int64_t length = 0;  // a_end - a_start + 1; sent only WITHMATCHLEN
};

struct LcsResult {
  LcsMode mode = LcsMode::kString;
  std::string lcs;                // kString: the reply (bulk string, "" possible)
  int64_t len = 0;                // kLen: the reply (integer); kIdx: the "len" entry
  std::vector<LcsMatch> matches;  // kIdx: in Redis's order (from the END of the strings)
  bool with_match_len = false;    // kIdx: append `length` to each match
};
// Reply shape of kIdx, exactly as Redis 7.0 (addReplyMapLen(2)):
//   RESP3: map  {"matches" => [m...], "len" => (integer) len}
//   RESP2: flat array ["matches", [m...], "len", (integer) len]
// where each m is [[a_start, a_end], [b_start, b_end]] or, WITHMATCHLEN,
// [[a_start, a_end], [b_start, b_end], length], all integers; the keys are bulk strings.
// E.g. LCS of "ohmytext" and "mynewtext" IDX: matches [[[4,7],[5,8]], [[2,3],[0,1]]], len 6.

// LCS: `a`, `b` nullptr = "" (absent). Beside ParseLcs's errors: "ERR String too long for LCS"
// and "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len" when the
// (len(a)+1) * (len(b)+1) * 4-byte table exceeds kMaxStringBytes (Redis 7.0.15 refuses this
// before allocating; e.g. two 12000-byte strings). Time and memory are O(len(a) * len(b)).
absl::StatusOr<LcsResult> Lcs(const std::string* a, const std::string* b, const Args& args);
absl::StatusOr<LcsResult> Lcs(std::string_view a, std::string_view b, const LcsOptions& options);

// ---- GETRANGE / SUBSTR key start end ----------------------------------------------------------

// The bytes [start, end] of `value` (inclusive, negative counting from the end, clamped), as
// Redis 7.0's getrangeCommand, including its quirks: both negative with start > end -> "";
// an end still negative after adding the length clamps to 0 (GETRANGE "Hello" 0 -100 -> "H").
std::string GetRange(const std::string& value, int64_t start, int64_t end);

// args = {start, end}: both parsed BEFORE the key is read ("ERR value is not an integer or out
// of range" even for an absent key); absent (nullptr) -> "".
absl::StatusOr<std::string> GetRangeCommand(const std::string* value, const Args& args);

}  // namespace bitops
}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_BIT_OPS_H_
