#include "common/bit_ops.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "common/numbers.h"

namespace beyondkv::bitops {
namespace {

constexpr char kSyntaxError[] = "ERR syntax error";
constexpr char kNotInteger[] = "ERR value is not an integer or out of range";
constexpr char kBadOffset[] = "ERR bit offset is not an integer or out of range";
constexpr char kBadBit[] = "ERR bit is not an integer or out of range";
constexpr char kBadBitposBit[] = "ERR The bit argument must be 1 or 0.";
constexpr char kBadBitfieldType[] =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but "
    "i64 is.";

// Debian's Abseil has its own string_view (not std's).
absl::Status Error(std::string_view text) {
  return absl::InvalidArgumentError(absl::string_view(text.data(), text.size()));
}

absl::Status Arity(std::string_view command) {
  return Error("ERR wrong number of arguments for '" + std::string(command) + "' command");
}

// Redis compares keywords with strcasecmp on NUL-terminated arguments.
std::string_view CStr(std::string_view arg) {
  size_t nul = arg.find('\0');
  return nul == std::string_view::npos ? arg : arg.substr(0, nul);
}

bool KeywordIs(std::string_view arg, std::string_view keyword) {
  std::string_view s = CStr(arg);
  if (s.size() != keyword.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    char k = keyword[i];
    if (k >= 'A' && k <= 'Z') k = static_cast<char>(k - 'A' + 'a');
    if (c != k) return false;
  }
  return true;
}

unsigned char ByteAt(std::string_view s, uint64_t i) {
  return i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
}

int BitAt(std::string_view s, uint64_t offset) {
  return (ByteAt(s, offset >> 3) >> (7 - (offset & 7))) & 1;
}

// Converts Redis's (start, end) pair for BITCOUNT/BITPOS, already in the unit of `total`
// (bytes or bits): negative from the end, clamped to [0, total - 1]. False: empty range.
bool ClampRange(int64_t total, int64_t* start, int64_t* end) {
  if (*start < 0) *start = total + *start;
  if (*end < 0) *end = total + *end;
  if (*start < 0) *start = 0;
  if (*end < 0) *end = 0;
  if (*end >= total) *end = total - 1;
  return *start <= *end;
}

// Reads the unit argument of BITCOUNT/BITPOS: true for BIT.
absl::StatusOr<bool> ParseUnit(std::string_view arg) {
  if (KeywordIs(arg, "bit")) return true;
  if (KeywordIs(arg, "byte")) return false;
  return Error(kSyntaxError);
}

// ---- Bitfield primitives (getUnsignedBitfield & co): big-endian bit order. ----

uint64_t GetUnsigned(std::string_view s, uint64_t offset, int bits) {
  uint64_t value = 0;
  for (int j = 0; j < bits; ++j) value = (value << 1) | BitAt(s, offset + j);
  return value;
}

int64_t GetSigned(std::string_view s, uint64_t offset, int bits) {
  uint64_t u = GetUnsigned(s, offset, bits);
  if (bits < 64 && (u & (uint64_t{1} << (bits - 1)))) u |= ~uint64_t{0} << bits;
  return static_cast<int64_t>(u);
}

// `value` must already cover the field.
void SetField(std::string* value, uint64_t offset, int bits, uint64_t field) {
  for (int j = 0; j < bits; ++j) {
    uint64_t bit_offset = offset + j;
    int bit = (field >> (bits - 1 - j)) & 1;
    unsigned char& byte = reinterpret_cast<unsigned char&>((*value)[bit_offset >> 3]);
    unsigned char mask = static_cast<unsigned char>(1 << (7 - (bit_offset & 7)));
    byte = bit ? (byte | mask) : (byte & ~mask);
  }
}

// Truncates `v` to `bits` in two's complement, sign-extending when signed (the WRAP result).
uint64_t Wrap(uint64_t v, int bits, bool is_signed) {
  if (bits >= 64) return v;
  uint64_t mask = ~uint64_t{0} << bits;
  if (is_signed && (v & (uint64_t{1} << (bits - 1)))) return v | mask;
  return v & ~mask;
}

// The new field value of a SET (`base` = 0, `incr` = the value) or an INCRBY (`base` = the old
// field). Returns false when OVERFLOW FAIL refuses it. Same outcome as Redis's
// check{Signed,Unsigned}BitfieldOverflow: overflow means the exact sum leaves the type's range.
bool Combine(const BitfieldOp& op, bool is_set, uint64_t old_bits, uint64_t* result) {
  __int128 base;
  __int128 min;
  __int128 max;
  if (op.is_signed) {
    max = op.bits == 64 ? INT64_MAX : ((int64_t{1} << (op.bits - 1)) - 1);
    min = -max - 1;
    base = is_set ? 0 : static_cast<int64_t>(old_bits);
  } else {
    max = (uint64_t{1} << op.bits) - 1;
    min = 0;
    base = is_set ? 0 : old_bits;
  }
  __int128 sum = base + op.value;
  if (!op.is_signed && is_set) {
    // Redis reads the SET value as uint64_t: a negative value is huge, so it overflows HIGH
    // (SAT stores the maximum), while WRAP keeps its low bits.
    sum = static_cast<uint64_t>(op.value);
  }
  if (sum >= min && sum <= max) {
    *result = Wrap(static_cast<uint64_t>(sum), op.bits, op.is_signed);
    return true;
  }
  switch (op.overflow) {
    case BitfieldOverflow::kWrap:
      *result = Wrap(static_cast<uint64_t>(sum), op.bits, op.is_signed);
      return true;
    case BitfieldOverflow::kSat: {
      bool high = sum > max;
      // Redis's checkSignedBitfieldOverflow computes max - value in int64 (wrapping); for a
      // signed SET of a value within 2^(bits-1) of INT64_MIN that is negative, and the value
      // counts as overflowing HIGH: BITFIELD k OVERFLOW SAT SET i7 0 -9223372036854775808
      // stores 63, not -64 (checked on 7.0.15).
      if (op.is_signed && is_set && op.bits < 64 &&
          static_cast<int64_t>(static_cast<uint64_t>(static_cast<int64_t>(max)) -
                               static_cast<uint64_t>(op.value)) < 0) {
        high = true;
      }
      *result = static_cast<uint64_t>(static_cast<int64_t>(high ? max : min));
      return true;
    }
    case BitfieldOverflow::kFail:
      return false;
  }
  return false;
}

int64_t FieldValue(uint64_t bits_value, const BitfieldOp& op) {
  if (op.is_signed) return static_cast<int64_t>(Wrap(bits_value, op.bits, true));
  return static_cast<int64_t>(bits_value);
}

uint64_t ReadField(std::string_view s, const BitfieldOp& op) {
  return op.is_signed ? static_cast<uint64_t>(GetSigned(s, op.offset, op.bits))
                      : GetUnsigned(s, op.offset, op.bits);
}

absl::StatusOr<BitfieldOp> ParseBitfieldType(std::string_view arg) {
  std::string_view s = CStr(arg);  // Redis: string2ll(p+1, strlen(p+1))
  BitfieldOp op;
  if (s.empty() || (s[0] != 'i' && s[0] != 'u')) return Error(kBadBitfieldType);
  op.is_signed = s[0] == 'i';
  int64_t bits = 0;
  if (!ParseInt64(s.substr(1), &bits) || bits < 1 || (op.is_signed && bits > 64) ||
      (!op.is_signed && bits > 63)) {
    return Error(kBadBitfieldType);
  }
  op.bits = static_cast<int>(bits);
  return op;
}

// The LCS table, (alen + 1) x (blen + 1) lengths.
class LcsTable {
 public:
  LcsTable(std::string_view a, std::string_view b)
      : blen_(b.size()), cells_((a.size() + 1) * (b.size() + 1), 0) {
    for (size_t i = 1; i <= a.size(); ++i) {
      for (size_t j = 1; j <= b.size(); ++j) {
        if (a[i - 1] == b[j - 1]) {
          At(i, j) = At(i - 1, j - 1) + 1;
        } else {
          At(i, j) = std::max(At(i - 1, j), At(i, j - 1));
        }
      }
    }
  }
  uint32_t& At(size_t i, size_t j) { return cells_[j + i * (blen_ + 1)]; }

 private:
  size_t blen_;
  std::vector<uint32_t> cells_;
};

}  // namespace

absl::StatusOr<uint64_t> ParseBitOffset(std::string_view arg, int hash_width) {
  bool use_hash = hash_width > 0 && !arg.empty() && arg[0] == '#';
  int64_t offset = 0;
  if (!ParseInt64(arg.substr(use_hash ? 1 : 0), &offset)) return Error(kBadOffset);
  // Redis multiplies long longs (wrapping in practice); do it in unsigned to keep it defined.
  if (use_hash) {
    offset = static_cast<int64_t>(static_cast<uint64_t>(offset) *
                                  static_cast<uint64_t>(hash_width));
  }
  if (offset < 0 || static_cast<uint64_t>(offset) > kMaxBitOffset) return Error(kBadOffset);
  return static_cast<uint64_t>(offset);
}

absl::StatusOr<int64_t> GetBit(const std::string* value, const Args& args) {
  if (args.size() != 1) return Arity("getbit");
  absl::StatusOr<uint64_t> offset = ParseBitOffset(args[0]);
  if (!offset.ok()) return offset.status();
  if (value == nullptr) return 0;
  return BitAt(*value, *offset);
}

absl::StatusOr<SetBitArgs> ParseSetBit(const Args& args) {
  if (args.size() != 2) return Arity("setbit");
  absl::StatusOr<uint64_t> offset = ParseBitOffset(args[0]);
  if (!offset.ok()) return offset.status();
  int64_t bit = 0;
  if (!ParseInt64(args[1], &bit) || (bit & ~int64_t{1}) != 0) return Error(kBadBit);
  return SetBitArgs{*offset, static_cast<int>(bit)};
}

int SetBitInPlace(std::string* value, uint64_t offset, int bit) {
  uint64_t byte = offset >> 3;
  if (value->size() <= byte) value->resize(byte + 1, '\0');
  int old = BitAt(*value, offset);
  SetField(value, offset, 1, static_cast<uint64_t>(bit & 1));
  return old;
}

absl::StatusOr<SetBitResult> SetBit(const std::string* value, const Args& args) {
  absl::StatusOr<SetBitArgs> parsed = ParseSetBit(args);
  if (!parsed.ok()) return parsed.status();
  SetBitResult result;
  if (value != nullptr) result.value = *value;
  result.old_bit = SetBitInPlace(&result.value, parsed->offset, parsed->bit);
  return result;
}

absl::StatusOr<int64_t> BitCount(const std::string* value, const Args& args) {
  if (value == nullptr) return 0;  // Redis 7.0 looks the key up before parsing anything.
  const std::string& s = *value;
  int64_t start = 0;
  int64_t end = 0;
  bool is_bit = false;
  if (args.size() == 2 || args.size() == 3) {
    if (!ParseInt64(args[0], &start) || !ParseInt64(args[1], &end)) return Error(kNotInteger);
    // Redis 7.0.15 (not BITPOS): both negative and start > end answers 0 at once, before the
    // unit is read and before clamping (BITCOUNT "\xff" -13 -15 and ... -13 -15 junk: 0, though
    // both indexes clamp to byte 0).
    if (start < 0 && end < 0 && start > end) return 0;
    if (args.size() == 3) {
      absl::StatusOr<bool> unit = ParseUnit(args[2]);
      if (!unit.ok()) return unit.status();
      is_bit = *unit;
    }
    int64_t total = static_cast<int64_t>(s.size()) * (is_bit ? 8 : 1);
    if (!ClampRange(total, &start, &end)) return 0;
  } else if (args.empty()) {
    if (s.empty()) return 0;
    end = static_cast<int64_t>(s.size()) - 1;
  } else {
    return Error(kSyntaxError);
  }
  if (!is_bit) {
    start *= 8;
    end = end * 8 + 7;
  }
  // Count bits [start, end]: whole bytes with popcount, partial edges bit by bit.
  int64_t count = 0;
  int64_t i = start;
  for (; i <= end && (i & 7) != 0; ++i) count += BitAt(s, i);
  for (; i + 7 <= end; i += 8) {
    count += __builtin_popcount(static_cast<unsigned char>(s[i >> 3]));
  }
  for (; i <= end; ++i) count += BitAt(s, i);
  return count;
}

absl::StatusOr<int64_t> BitPos(const std::string* value, const Args& args) {
  if (args.empty()) return Arity("bitpos");
  int64_t bit = 0;
  if (!ParseInt64(args[0], &bit)) return Error(kNotInteger);
  if (bit != 0 && bit != 1) return Error(kBadBitposBit);
  if (value == nullptr) return bit ? -1 : 0;  // an infinite string of zeros
  const std::string& s = *value;
  const int64_t len = static_cast<int64_t>(s.size());
  int64_t start = 0;
  int64_t end = len * 8 - 1;  // in bits
  bool end_given = false;
  if (args.size() >= 2 && args.size() <= 4) {
    bool is_bit = false;
    if (!ParseInt64(args[1], &start)) return Error(kNotInteger);
    if (args.size() == 4) {
      absl::StatusOr<bool> unit = ParseUnit(args[3]);
      if (!unit.ok()) return unit.status();
      is_bit = *unit;
    }
    int64_t total = is_bit ? len * 8 : len;
    int64_t e = total - 1;
    if (args.size() >= 3) {
      if (!ParseInt64(args[2], &e)) return Error(kNotInteger);
      end_given = true;
    }
    if (!ClampRange(total, &start, &e)) return -1;
    end = e;
    if (!is_bit) {
      start *= 8;
      end = end * 8 + 7;
    }
  } else if (args.size() != 1) {
    return Error(kSyntaxError);
  }
  if (start > end) return -1;  // empty existing string
  for (int64_t i = start; i <= end; ++i) {
    // Skip whole bytes that cannot hold the bit.
    if ((i & 7) == 0 && i + 7 <= end) {
      unsigned char byte = static_cast<unsigned char>(s[i >> 3]);
      if (byte == (bit ? 0x00 : 0xff)) {
        i += 7;
        continue;
      }
    }
    if (BitAt(s, i) == bit) return i;
  }
  // Not found. Looking for a 0 without an explicit end: the string reads as padded with zeros,
  // so the answer is the first bit past it.
  if (bit == 0 && !end_given) return len * 8;
  return -1;
}

absl::StatusOr<BitOpKind> ParseBitOp(std::string_view op, size_t num_sources) {
  if (num_sources == 0) return Arity("bitop");
  BitOpKind kind;
  if (KeywordIs(op, "and")) {
    kind = BitOpKind::kAnd;
  } else if (KeywordIs(op, "or")) {
    kind = BitOpKind::kOr;
  } else if (KeywordIs(op, "xor")) {
    kind = BitOpKind::kXor;
  } else if (KeywordIs(op, "not")) {
    kind = BitOpKind::kNot;
  } else {
    return Error(kSyntaxError);
  }
  if (kind == BitOpKind::kNot && num_sources != 1) {
    return Error("ERR BITOP NOT must be called with a single source key.");
  }
  return kind;
}

absl::StatusOr<std::string> BitOp(std::string_view op,
                                  const std::vector<const std::string*>& sources) {
  absl::StatusOr<BitOpKind> kind = ParseBitOp(op, sources.size());
  if (!kind.ok()) return kind.status();
  size_t max_len = 0;
  for (const std::string* s : sources) {
    if (s != nullptr) max_len = std::max(max_len, s->size());
  }
  std::string result(max_len, '\0');
  for (size_t j = 0; j < max_len; ++j) {
    auto byte_of = [j](const std::string* s) -> unsigned char {
      return (s == nullptr || j >= s->size()) ? 0 : static_cast<unsigned char>((*s)[j]);
    };
    unsigned char out = byte_of(sources[0]);
    if (*kind == BitOpKind::kNot) out = static_cast<unsigned char>(~out);
    for (size_t i = 1; i < sources.size(); ++i) {
      unsigned char b = byte_of(sources[i]);
      switch (*kind) {
        case BitOpKind::kAnd:
          out &= b;
          break;
        case BitOpKind::kOr:
          out |= b;
          break;
        case BitOpKind::kXor:
          out ^= b;
          break;
        case BitOpKind::kNot:
          break;
      }
    }
    result[j] = static_cast<char>(out);
  }
  return result;
}

absl::StatusOr<BitfieldSpec> ParseBitfield(const Args& args, bool read_only_command) {
  BitfieldSpec spec;
  BitfieldOverflow overflow = BitfieldOverflow::kWrap;
  bool writes = false;
  for (size_t j = 0; j < args.size(); ++j) {
    size_t remaining = args.size() - j - 1;
    std::string_view sub = args[j];
    BitfieldOp::Kind kind;
    if (KeywordIs(sub, "get") && remaining >= 2) {
      kind = BitfieldOp::kGet;
    } else if (KeywordIs(sub, "set") && remaining >= 3) {
      kind = BitfieldOp::kSet;
    } else if (KeywordIs(sub, "incrby") && remaining >= 3) {
      kind = BitfieldOp::kIncrBy;
    } else if (KeywordIs(sub, "overflow") && remaining >= 1) {
      std::string_view type = args[++j];
      if (KeywordIs(type, "wrap")) {
        overflow = BitfieldOverflow::kWrap;
      } else if (KeywordIs(type, "sat")) {
        overflow = BitfieldOverflow::kSat;
      } else if (KeywordIs(type, "fail")) {
        overflow = BitfieldOverflow::kFail;
      } else {
        return Error("ERR Invalid OVERFLOW type specified");
      }
      continue;
    } else {
      return Error(kSyntaxError);
    }
    absl::StatusOr<BitfieldOp> op = ParseBitfieldType(args[j + 1]);
    if (!op.ok()) return op.status();
    absl::StatusOr<uint64_t> offset = ParseBitOffset(args[j + 2], op->bits);
    if (!offset.ok()) return offset.status();
    op->kind = kind;
    op->offset = *offset;
    op->overflow = overflow;
    if (kind != BitfieldOp::kGet) {
      writes = true;
      if (!ParseInt64(args[j + 3], &op->value)) return Error(kNotInteger);
    }
    spec.ops.push_back(*op);
    j += kind == BitfieldOp::kGet ? 2 : 3;
  }
  if (writes && read_only_command) {
    return Error("ERR BITFIELD_RO only supports the GET subcommand");
  }
  return spec;
}

bool BitfieldWrites(const BitfieldSpec& spec) {
  for (const BitfieldOp& op : spec.ops) {
    if (op.kind != BitfieldOp::kGet) return true;
  }
  return false;
}

uint64_t BitfieldGrowBytes(const BitfieldSpec& spec) {
  bool writes = false;
  uint64_t highest = 0;
  for (const BitfieldOp& op : spec.ops) {
    if (op.kind == BitfieldOp::kGet) continue;
    writes = true;
    highest = std::max(highest, op.offset + op.bits - 1);
  }
  return writes ? (highest >> 3) + 1 : 0;
}

BitfieldReply ApplyBitfield(const BitfieldSpec& spec, std::string* value) {
  uint64_t grow = BitfieldGrowBytes(spec);
  if (value->size() < grow) value->resize(grow, '\0');
  BitfieldReply reply;
  reply.reserve(spec.ops.size());
  for (const BitfieldOp& op : spec.ops) {
    uint64_t old_bits = ReadField(*value, op);
    if (op.kind == BitfieldOp::kGet) {
      reply.push_back(FieldValue(old_bits, op));
      continue;
    }
    bool is_set = op.kind == BitfieldOp::kSet;
    uint64_t new_bits = 0;
    if (!Combine(op, is_set, old_bits, &new_bits)) {
      reply.push_back(std::nullopt);  // OVERFLOW FAIL: nothing written
      continue;
    }
    SetField(value, op.offset, op.bits, new_bits);
    reply.push_back(FieldValue(is_set ? old_bits : new_bits, op));
  }
  return reply;
}

BitfieldReply ReadBitfield(const BitfieldSpec& spec, const std::string* value) {
  if (BitfieldWrites(spec)) {
    std::string copy = value != nullptr ? *value : std::string();
    return ApplyBitfield(spec, &copy);
  }
  std::string_view s = value != nullptr ? std::string_view(*value) : std::string_view();
  BitfieldReply reply;
  reply.reserve(spec.ops.size());
  for (const BitfieldOp& op : spec.ops) reply.push_back(FieldValue(ReadField(s, op), op));
  return reply;
}

absl::StatusOr<LcsOptions> ParseLcs(const Args& args) {
  LcsOptions options;
  bool idx = false;
  bool len = false;
  for (size_t j = 0; j < args.size(); ++j) {
    bool more = j + 1 < args.size();
    if (KeywordIs(args[j], "idx")) {
      idx = true;
    } else if (KeywordIs(args[j], "len")) {
      len = true;
    } else if (KeywordIs(args[j], "withmatchlen")) {
      options.with_match_len = true;
    } else if (KeywordIs(args[j], "minmatchlen") && more) {
      if (!ParseInt64(args[j + 1], &options.min_match_len)) return Error(kNotInteger);
      if (options.min_match_len < 0) options.min_match_len = 0;
      ++j;
    } else {
      return Error(kSyntaxError);
    }
  }
  if (idx && len) return Error("ERR If you want both the length and indexes, please just use IDX.");
  options.mode = idx ? LcsMode::kIdx : len ? LcsMode::kLen : LcsMode::kString;
  return options;
}

absl::StatusOr<LcsResult> Lcs(std::string_view a, std::string_view b, const LcsOptions& options) {
  if (a.size() >= UINT32_MAX - 1 || b.size() >= UINT32_MAX - 1) {
    return Error("ERR String too long for LCS");
  }
  const uint64_t table_bytes = (uint64_t{a.size()} + 1) * (uint64_t{b.size()} + 1) * 4;
  if (table_bytes > static_cast<uint64_t>(kMaxStringBytes)) {
    return Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  LcsTable table(a, b);
  LcsResult result;
  result.mode = options.mode;
  result.with_match_len = options.with_match_len;
  result.len = table.At(a.size(), b.size());
  if (options.mode == LcsMode::kLen) return result;

  // Walk back from the end as Redis does (same tie-break), collecting the string and the runs.
  const size_t alen = a.size();
  uint32_t idx = static_cast<uint32_t>(result.len);
  result.lcs.assign(idx, '\0');
  size_t i = alen;
  size_t j = b.size();
  bool in_range = false;
  size_t a_start = 0, a_end = 0, b_start = 0, b_end = 0;
  while (i > 0 && j > 0) {
    bool emit = false;
    if (a[i - 1] == b[j - 1]) {
      result.lcs[idx - 1] = a[i - 1];
      if (!in_range) {
        in_range = true;
        a_start = a_end = i - 1;
        b_start = b_end = j - 1;
      } else if (a_start == i && b_start == j) {
        --a_start;
        --b_start;
      } else {
        emit = true;  // unreachable in practice; kept as in Redis
      }
      if (a_start == 0 || b_start == 0) emit = true;
      --idx;
      --i;
      --j;
    } else {
      if (table.At(i - 1, j) > table.At(i, j - 1)) {
        --i;
      } else {
        --j;
      }
      if (in_range) emit = true;
    }
    if (emit) {
      int64_t match_len = static_cast<int64_t>(a_end - a_start + 1);
      if (options.min_match_len == 0 || match_len >= options.min_match_len) {
        result.matches.push_back(LcsMatch{static_cast<int64_t>(a_start),
                                          static_cast<int64_t>(a_end),
                                          static_cast<int64_t>(b_start),
                                          static_cast<int64_t>(b_end), match_len});
      }
      in_range = false;
    }
  }
  if (options.mode == LcsMode::kIdx) result.lcs.clear();
  return result;
}

absl::StatusOr<LcsResult> Lcs(const std::string* a, const std::string* b, const Args& args) {
  absl::StatusOr<LcsOptions> options = ParseLcs(args);
  if (!options.ok()) return options.status();
  return Lcs(a != nullptr ? std::string_view(*a) : std::string_view(),
             b != nullptr ? std::string_view(*b) : std::string_view(), *options);
}

std::string GetRange(const std::string& value, int64_t start, int64_t end) {
  const int64_t len = static_cast<int64_t>(value.size());
  if (start < 0 && end < 0 && start > end) return "";
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len == 0) return "";
  return value.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1));
}

absl::StatusOr<std::string> GetRangeCommand(const std::string* value, const Args& args) {
  if (args.size() != 2) return Arity("getrange");
  int64_t start = 0;
  int64_t end = 0;
  if (!ParseInt64(args[0], &start) || !ParseInt64(args[1], &end)) return Error(kNotInteger);
  if (value == nullptr) return std::string();
  return GetRange(*value, start, end);
}

}  // namespace beyondkv::bitops
