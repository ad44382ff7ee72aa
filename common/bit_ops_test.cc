// Unless noted, every expectation here is the reply redis-server 7.0.15 (Debian) gave to the
// same command on the same value, run over a Unix socket while writing this file (the command
// is in the comment or the test name). Values with bytes like "\xff" were sent raw.
#include "common/bit_ops.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace beyondkv::bitops {

// Outside the anonymous namespace so that argument-dependent lookup finds it.
bool operator==(const LcsMatch& x, const LcsMatch& y) {
  return x.a_start == y.a_start && x.a_end == y.a_end && x.b_start == y.b_start &&
         x.b_end == y.b_end && x.length == y.length;
}

namespace {

constexpr char kSyntax[] = "ERR syntax error";
constexpr char kNotInt[] = "ERR value is not an integer or out of range";
constexpr char kBadOffset[] = "ERR bit offset is not an integer or out of range";
constexpr char kBadType[] =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but "
    "i64 is.";

// The error line of a failed result ("" when it succeeded).
template <typename T>
std::string Err(const absl::StatusOr<T>& r) {
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

TEST(BitOpsTest, MaxStringBytesIs512MiB) {
  EXPECT_EQ(kMaxStringBytes, 536870912);
  EXPECT_EQ(kMaxBitOffset, 4294967295u);
}

// ---- GETBIT / SETBIT ----------------------------------------------------------------------------

TEST(BitOpsTest, ParseBitOffset) {
  EXPECT_EQ(*ParseBitOffset("0"), 0u);
  EXPECT_EQ(*ParseBitOffset("4294967295"), 4294967295u);
  for (const char* bad : {"4294967296", "-1", "a", "", "01", "+1", " 1", "#1", "1.0"}) {
    EXPECT_EQ(Err(ParseBitOffset(bad)), kBadOffset) << bad;
  }
  // "#N" only for BITFIELD (hash_width > 0), multiplied by the width.
  EXPECT_EQ(*ParseBitOffset("#3", 8), 24u);
  EXPECT_EQ(*ParseBitOffset("#536870911", 8), 4294967288u);   // BITFIELD get i8 #536870911: [0]
  EXPECT_EQ(Err(ParseBitOffset("#536870912", 8)), kBadOffset);
  EXPECT_EQ(*ParseBitOffset("#4294967295", 1), 4294967295u);  // get u1 #4294967295: [0]
  for (const char* bad : {"#-1", "##1", "#", "#01"}) {
    EXPECT_EQ(Err(ParseBitOffset(bad, 8)), kBadOffset) << bad;
  }
  // Redis multiplies in 64 bits: (2^61 + 1) * 8 wraps to 8, and the server accepts it
  // (BITFIELD f get u8 #2305843009213693953 -> [0]).
  EXPECT_EQ(*ParseBitOffset("#2305843009213693953", 8), 8u);
  EXPECT_EQ(Err(ParseBitOffset("#9223372036854775807", 8)), kBadOffset);
}

TEST(BitOpsTest, GetBit) {
  const std::string foobar = "foobar";
  EXPECT_EQ(*GetBit(&foobar, {"1"}), 1);
  EXPECT_EQ(*GetBit(&foobar, {"2"}), 1);
  EXPECT_EQ(*GetBit(&foobar, {"0"}), 0);
  EXPECT_EQ(*GetBit(&foobar, {"48"}), 0);  // past the end
  EXPECT_EQ(*GetBit(&foobar, {"4294967295"}), 0);
  EXPECT_EQ(*GetBit(nullptr, {"5"}), 0);
  // The offset is checked even when the key is absent.
  EXPECT_EQ(Err(GetBit(nullptr, {"4294967296"})), kBadOffset);
  EXPECT_EQ(Err(GetBit(&foobar, {"-1"})), kBadOffset);
  EXPECT_EQ(Err(GetBit(&foobar, {})), "ERR wrong number of arguments for 'getbit' command");
}

TEST(BitOpsTest, SetBit) {
  // SETBIT b 7 1 on an absent key -> 0, value "\x01"; SETBIT b 7 0 -> 1.
  absl::StatusOr<SetBitResult> r = SetBit(nullptr, {"7", "1"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->old_bit, 0);
  EXPECT_EQ(r->value, std::string("\x01", 1));
  r = SetBit(&r->value, {"7", "0"});
  EXPECT_EQ(r->old_bit, 1);
  EXPECT_EQ(r->value, std::string("\x00", 1));
  // SETBIT b 100 1 on an absent key -> 0, STRLEN 13, last byte \x08.
  r = SetBit(nullptr, {"100", "1"});
  EXPECT_EQ(r->old_bit, 0);
  EXPECT_EQ(r->value, std::string(12, '\0') + "\x08");
  // Inside an existing value: nothing grows.
  const std::string foobar = "foobar";
  r = SetBit(&foobar, {"0", "1"});
  EXPECT_EQ(r->old_bit, 0);
  EXPECT_EQ(r->value, "\xe6oobar");
}

TEST(BitOpsTest, SetBitErrors) {
  // Offset first, then the bit.
  for (const char* bad : {"4294967296", "-1", "a", "01", "#1"}) {
    EXPECT_EQ(Err(SetBit(nullptr, {bad, "1"})), kBadOffset) << bad;
  }
  EXPECT_EQ(Err(SetBit(nullptr, {"x", "2"})), kBadOffset);
  for (const char* bad : {"2", "-1", "a", "01", ""}) {
    EXPECT_EQ(Err(SetBit(nullptr, {"0", bad})), "ERR bit is not an integer or out of range")
        << bad;
  }
  EXPECT_EQ(Err(SetBit(nullptr, {"0", std::string_view("1\0", 2)})),
            "ERR bit is not an integer or out of range");
  EXPECT_EQ(Err(SetBit(nullptr, {"0", "1", "2"})),
            "ERR wrong number of arguments for 'setbit' command");
  EXPECT_EQ(ParseSetBit({"4294967295", "1"})->offset, 4294967295u);
}

TEST(BitOpsTest, SetBitInPlaceAtTheLastOffsetBuilds512MiB) {
  // SETBIT b 4294967295 1 -> 0, STRLEN 536870912.
  std::string v;
  EXPECT_EQ(SetBitInPlace(&v, kMaxBitOffset, 1), 0);
  EXPECT_EQ(v.size(), static_cast<size_t>(kMaxStringBytes));
  EXPECT_EQ(v.back(), '\x01');
  EXPECT_EQ(SetBitInPlace(&v, kMaxBitOffset, 1), 1);
}

// ---- BITCOUNT -----------------------------------------------------------------------------------

TEST(BitOpsTest, BitCount) {
  const std::string s = "foobar";
  EXPECT_EQ(*BitCount(&s, {}), 26);
  EXPECT_EQ(*BitCount(&s, {"0", "0"}), 4);
  EXPECT_EQ(*BitCount(&s, {"1", "1"}), 6);
  EXPECT_EQ(*BitCount(&s, {"1", "2", "BiT"}), 2);
  EXPECT_EQ(*BitCount(&s, {"5", "30", "bit"}), 17);
  EXPECT_EQ(*BitCount(&s, {"-1", "-1"}), 4);
  EXPECT_EQ(*BitCount(&s, {"-3", "-1", "bit"}), 1);
  EXPECT_EQ(*BitCount(&s, {"-100", "-50"}), 4);  // both clamp to byte 0
  EXPECT_EQ(*BitCount(&s, {"0", "-100"}), 4);
  EXPECT_EQ(*BitCount(&s, {"2", "1"}), 0);
  EXPECT_EQ(*BitCount(&s, {"0", "-1", "byte"}), 26);
  EXPECT_EQ(*BitCount(&s, {"0", "1000"}), 26);
  const std::string empty;
  EXPECT_EQ(*BitCount(&empty, {}), 0);
  EXPECT_EQ(*BitCount(&empty, {"0", "-1", "bit"}), 0);
}

TEST(BitOpsTest, BitCountBothNegativeAndReversedIsZero) {
  // 7.0.15: BITCOUNT "\xff" -13 -15 -> 0 (found by the differential run), even with a bad unit.
  const std::string ff = "\xff";
  EXPECT_EQ(*BitCount(&ff, {"-13", "-15"}), 0);
  EXPECT_EQ(*BitCount(&ff, {"-13", "-15", "junk"}), 0);
  EXPECT_EQ(*BitCount(&ff, {"-15", "-13"}), 8);
}

TEST(BitOpsTest, BitCountErrors) {
  const std::string s = "foobar";
  EXPECT_EQ(Err(BitCount(&s, {"1"})), kSyntax);
  EXPECT_EQ(Err(BitCount(&s, {"1", "2", "3"})), kSyntax);
  EXPECT_EQ(Err(BitCount(&s, {"1", "2", "byte", "x"})), kSyntax);
  EXPECT_EQ(Err(BitCount(&s, {"1", "2", " byte"})), kSyntax);
  EXPECT_EQ(Err(BitCount(&s, {"a", "1"})), kNotInt);
  EXPECT_EQ(Err(BitCount(&s, {"1", "a"})), kNotInt);
  EXPECT_EQ(Err(BitCount(&s, {"+1", "2"})), kNotInt);
  EXPECT_EQ(Err(BitCount(&s, {"01", "2"})), kNotInt);
  // 7.0 reads the key first: an absent key answers 0 whatever the arguments.
  EXPECT_EQ(*BitCount(nullptr, {"1"}), 0);
  EXPECT_EQ(*BitCount(nullptr, {"a", "b"}), 0);
  EXPECT_EQ(*BitCount(nullptr, {"1", "2", "3"}), 0);
}

// ---- BITPOS -------------------------------------------------------------------------------------

TEST(BitOpsTest, BitPosAbsentKeyAndBitArgument) {
  EXPECT_EQ(*BitPos(nullptr, {"0"}), 0);
  EXPECT_EQ(*BitPos(nullptr, {"1"}), -1);
  EXPECT_EQ(*BitPos(nullptr, {"1", "a"}), -1);            // range not parsed
  EXPECT_EQ(*BitPos(nullptr, {"0", "1", "2", "3", "4"}), 0);
  EXPECT_EQ(Err(BitPos(nullptr, {"2"})), "ERR The bit argument must be 1 or 0.");
  const std::string s = "foobar";
  EXPECT_EQ(Err(BitPos(&s, {"-1"})), "ERR The bit argument must be 1 or 0.");
  EXPECT_EQ(Err(BitPos(&s, {"a"})), kNotInt);
  EXPECT_EQ(Err(BitPos(&s, {"01"})), kNotInt);
  EXPECT_EQ(Err(BitPos(&s, {"1", "1", "2", "3", "4"})), kSyntax);
  EXPECT_EQ(Err(BitPos(&s, {"1", "1", "2", "x"})), kSyntax);
  EXPECT_EQ(Err(BitPos(&s, {"1", "a"})), kNotInt);
  EXPECT_EQ(Err(BitPos(&s, {"1", "1", "a"})), kNotInt);
  // The unit is checked before end is parsed; with 3 args the third is the end.
  EXPECT_EQ(Err(BitPos(&s, {"0", "2", "BYTE"})), kNotInt);
  EXPECT_EQ(Err(BitPos(&s, {"1", "a", "2", "x"})), kNotInt);
}

TEST(BitOpsTest, BitPosLookingForZeroInOnes) {
  const std::string ones = "\xff\xff\xff";
  // No explicit end: the first bit past the string.
  EXPECT_EQ(*BitPos(&ones, {"0"}), 24);
  EXPECT_EQ(*BitPos(&ones, {"0", "0"}), 24);
  EXPECT_EQ(*BitPos(&ones, {"0", "1"}), 24);
  EXPECT_EQ(*BitPos(&ones, {"0", "-1"}), 24);
  // Explicit end: -1.
  EXPECT_EQ(*BitPos(&ones, {"0", "0", "-1"}), -1);
  EXPECT_EQ(*BitPos(&ones, {"0", "0", "2"}), -1);
  EXPECT_EQ(*BitPos(&ones, {"0", "0", "100"}), -1);
  EXPECT_EQ(*BitPos(&ones, {"0", "0", "-1", "bit"}), -1);
  EXPECT_EQ(*BitPos(&ones, {"0", "3", "100", "bit"}), -1);
  // Start past the end: an empty range, -1 for both bits.
  EXPECT_EQ(*BitPos(&ones, {"0", "100"}), -1);
  EXPECT_EQ(*BitPos(&ones, {"1", "100"}), -1);
  EXPECT_EQ(*BitPos(&ones, {"1"}), 0);
}

TEST(BitOpsTest, BitPosEmptyAndZeroStrings) {
  const std::string empty;  // exists but empty: unlike an absent key, -1 for bit 0 too
  EXPECT_EQ(*BitPos(&empty, {"0"}), -1);
  EXPECT_EQ(*BitPos(&empty, {"1"}), -1);
  EXPECT_EQ(*BitPos(&empty, {"0", "0"}), -1);
  EXPECT_EQ(*BitPos(&empty, {"0", "0", "0", "bit"}), -1);
  const std::string zeros("\0\0\0", 3);
  EXPECT_EQ(*BitPos(&zeros, {"1"}), -1);
  EXPECT_EQ(*BitPos(&zeros, {"0"}), 0);
  EXPECT_EQ(*BitPos(&zeros, {"1", "0", "-1", "bit"}), -1);
  EXPECT_EQ(*BitPos(&zeros, {"0", "5", "3", "bit"}), -1);
}

TEST(BitOpsTest, BitPosRanges) {
  const std::string m("\x00\xff\xf0", 3);
  EXPECT_EQ(*BitPos(&m, {"0", "8", "19", "bit"}), -1);
  EXPECT_EQ(*BitPos(&m, {"0", "8", "20", "bit"}), 20);
  EXPECT_EQ(*BitPos(&m, {"1", "20", "23", "bit"}), -1);
  EXPECT_EQ(*BitPos(&m, {"0", "9", "12", "bit"}), -1);
  EXPECT_EQ(*BitPos(&m, {"0", "1", "1"}), -1);
  EXPECT_EQ(*BitPos(&m, {"0", "1"}), 20);
  EXPECT_EQ(*BitPos(&m, {"1", "1"}), 8);
  EXPECT_EQ(*BitPos(&m, {"0", "12"}), -1);
  EXPECT_EQ(*BitPos(&m, {"1", "0", "0"}), -1);
  EXPECT_EQ(*BitPos(&m, {"1", "3", "6", "bit"}), -1);
  EXPECT_EQ(*BitPos(&m, {"0", "-4", "-1", "bit"}), 20);
  EXPECT_EQ(*BitPos(&m, {"1", "5", "2", "bit"}), -1);
  EXPECT_EQ(*BitPos(&m, {"0", "1", "2"}), 20);
  EXPECT_EQ(*BitPos(&m, {"0", "8", "16", "bit"}), -1);
  EXPECT_EQ(*BitPos(&m, {"1", "-100", "-90"}), -1);  // both clamp to byte 0 ("\x00")
  EXPECT_EQ(*BitPos(&m, {"0", "-100", "-90"}), 0);
  EXPECT_EQ(*BitPos(&m, {"1", "16", "17", "bit"}), 16);
  EXPECT_EQ(*BitPos(&m, {"0", "2", "1"}), -1);
  const std::string s = "foobar";
  EXPECT_EQ(*BitPos(&s, {"1", "7", "15", "bit"}), 9);
  EXPECT_EQ(*BitPos(&s, {"0", "7", "15", "bit"}), 7);
  EXPECT_EQ(*BitPos(&s, {"1", "-10", "-1", "bit"}), 39);
  EXPECT_EQ(*BitPos(&s, {"1", "2", "2", "byte"}), 17);
}

// ---- BITOP --------------------------------------------------------------------------------------

TEST(BitOpsTest, BitOp) {
  const std::string a = "foobar", b = "abcdef", c = "\xff", e;
  EXPECT_EQ(*BitOp("and", {&a, &b}), "`bc`ab");
  EXPECT_EQ(*BitOp("or", {&a, &b, &c}), "\xffoofev");
  EXPECT_EQ(*BitOp("xor", {&a, &b, nullptr}), "\x07\r\x0c\x06\x04\x14");
  EXPECT_EQ(*BitOp("AND", {&a, nullptr}), std::string(6, '\0'));
  EXPECT_EQ(*BitOp("not", {&c}), std::string(1, '\0'));
  EXPECT_EQ(*BitOp("NoT", {&a}), "\x99\x90\x90\x9d\x9e\x8d");
  EXPECT_EQ(*BitOp("xor", {&a, &c}), "\x99oobar");
  EXPECT_EQ(*BitOp("and", {&c, &e}), std::string(1, '\0'));
  // Empty results: Redis replies 0 and DELETES dest (EXISTS d -> 0 afterwards).
  EXPECT_EQ(*BitOp("Or", {nullptr, nullptr}), "");
  EXPECT_EQ(*BitOp("not", {&e}), "");
  EXPECT_EQ(*BitOp("not", {nullptr}), "");
}

TEST(BitOpsTest, BitOpErrors) {
  const std::string a = "foobar";
  EXPECT_EQ(Err(BitOp("NoT", {&a, &a})), "ERR BITOP NOT must be called with a single source key.");
  EXPECT_EQ(Err(BitOp("nand", {&a})), kSyntax);
  EXPECT_EQ(Err(BitOp("foo", {&a})), kSyntax);
  EXPECT_EQ(Err(BitOp("or", {})), "ERR wrong number of arguments for 'bitop' command");
  EXPECT_EQ(Err(BitOp("foo", {})), "ERR wrong number of arguments for 'bitop' command");
  EXPECT_EQ(*ParseBitOp(std::string_view("and\0x", 5), 1), BitOpKind::kAnd);  // strcasecmp
}

// ---- BITFIELD -----------------------------------------------------------------------------------

// Parses BITFIELD (or BITFIELD_RO) args and runs them on `*value` ("" = absent).
BitfieldReply Bitfield(std::string* value, const Args& args) {
  absl::StatusOr<BitfieldSpec> spec = ParseBitfield(args, false);
  EXPECT_TRUE(spec.ok()) << spec.status();
  if (!spec.ok()) return {};
  return ApplyBitfield(*spec, value);
}

std::string BitfieldError(const Args& args, bool read_only = false) {
  return Err(ParseBitfield(args, read_only));
}

using R = BitfieldReply;
constexpr std::nullopt_t nil = std::nullopt;

TEST(BitOpsTest, BitfieldBasics) {
  std::string v;
  EXPECT_EQ(Bitfield(&v, {}), R{});
  EXPECT_EQ(v, "");
  EXPECT_EQ(ReadBitfield(*ParseBitfield({"get", "u8", "0"}, false), nullptr), R{0});
  EXPECT_EQ(Bitfield(&v, {"set", "i8", "0", "-1", "get", "u8", "0", "get", "i4", "0", "get", "u4",
                          "4"}),
            (R{0, 255, -1, 15}));
  EXPECT_EQ(v, "\xff");
  // The string grows to the highest written bit: bits 100..107 -> 14 bytes.
  EXPECT_EQ(Bitfield(&v, {"incrby", "u2", "100", "1", "overflow", "sat", "incrby", "i8", "100",
                          "1"}),
            (R{1, 65}));
  EXPECT_EQ(v.size(), 14u);
  // Even a write refused by OVERFLOW FAIL grows it (STRLEN 14 -> 26).
  EXPECT_EQ(Bitfield(&v, {"overflow", "fail", "set", "u2", "200", "5"}), (R{nil}));
  EXPECT_EQ(v.size(), 26u);
  EXPECT_EQ(Bitfield(&v, {"get", "u63", "0"}), (R{9187343239835811840}));
  EXPECT_EQ(Bitfield(&v, {"get", "i8", "4294967295"}), (R{0}));  // GET never grows
  EXPECT_EQ(v.size(), 26u);
  EXPECT_EQ(Bitfield(&v, {"overflow", "FaIl", "GET", "u8", "0", "OVERFLOW", "wrap"}), (R{255}));
}

TEST(BitOpsTest, BitfieldHashOffsets) {
  std::string v = "\xff";
  // BITFIELD f set u8 #1 255 get u8 8 get i8 8 get u7 #1 get u9 #0 -> [0, 255, -1, 127, 511]
  EXPECT_EQ(Bitfield(&v, {"set", "u8", "#1", "255", "get", "u8", "8", "get", "i8", "8", "get",
                          "u7", "#1", "get", "u9", "#0"}),
            (R{0, 255, -1, 127, 511}));
  EXPECT_EQ(v, "\xff\xff");
  absl::StatusOr<BitfieldSpec> spec = ParseBitfield({"get", "i16", "#3", "set", "u4", "#2", "1"},
                                                    false);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->ops[0].offset, 48u);
  EXPECT_EQ(spec->ops[1].offset, 8u);
  EXPECT_EQ(BitfieldGrowBytes(*spec), 2u);  // bits 8..11
}

TEST(BitOpsTest, BitfieldUnsignedOverflow) {
  std::string v;
  EXPECT_EQ(Bitfield(&v, {"set", "u8", "0", "255", "incrby", "u8", "0", "10", "overflow", "sat",
                          "incrby", "u8", "0", "300", "incrby", "u8", "0", "-1000", "overflow",
                          "fail", "incrby", "u8", "0", "1", "incrby", "u8", "0", "-1", "get", "u8",
                          "0"}),
            (R{0, 9, 255, 0, 1, 0, 0}));
  // A negative SET value is read as a huge unsigned one: WRAP keeps the low bits, SAT stores
  // the MAXIMUM, FAIL refuses.
  EXPECT_EQ(Bitfield(&v, {"set", "u8", "0", "-5", "overflow", "sat", "set", "u8", "0", "-5", "set",
                          "u8", "0", "256", "overflow", "fail", "set", "u8", "0", "-5", "set", "u8",
                          "0", "255", "get", "u8", "0"}),
            (R{0, 251, 255, nil, 255, 255}));
}

TEST(BitOpsTest, BitfieldSignedOverflow) {
  std::string v = "\xff";
  EXPECT_EQ(Bitfield(&v, {"set", "i8", "0", "127", "incrby", "i8", "0", "1", "overflow", "sat",
                          "incrby", "i8", "0", "-300", "incrby", "i8", "0", "1000", "overflow",
                          "fail", "incrby", "i8", "0", "1", "set", "i8", "0", "128", "set", "i8",
                          "0", "-128", "overflow", "sat", "set", "i8", "0", "200", "set", "i8", "0",
                          "-200", "overflow", "wrap", "set", "i8", "0", "200", "set", "i8", "0",
                          "-200"}),
            (R{-1, -128, -128, 127, nil, nil, 127, -128, 127, -128, -56}));
  EXPECT_EQ(v, "\x38");  // 56
}

TEST(BitOpsTest, BitfieldI64AndU63) {
  std::string v(8, '\0');
  EXPECT_EQ(Bitfield(&v, {"set", "i64", "0", "9223372036854775807", "incrby", "i64", "0", "1",
                          "overflow", "sat", "incrby", "i64", "0", "-1", "incrby", "i64", "0", "2",
                          "overflow", "fail", "incrby", "i64", "0", "9223372036854775807", "get",
                          "i64", "0", "incrby", "i64", "0", "-9223372036854775808", "incrby", "i64",
                          "0", "-9223372036854775808", "overflow", "sat", "incrby", "i64", "0",
                          "-9223372036854775808", "overflow", "wrap", "incrby", "i64", "0", "-1"}),
            (R{0, INT64_MIN, INT64_MIN, -9223372036854775806, 1, 1, -9223372036854775807, nil,
               INT64_MIN, INT64_MAX}));
  // u63 on the same bits (i64 max = 0 followed by 63 ones; u63 reads bits 0..62).
  EXPECT_EQ(Bitfield(&v, {"set", "u63", "0", "9223372036854775807", "incrby", "u63", "0", "1",
                          "set", "u63", "0", "-1", "overflow", "sat", "set", "u63", "0", "-1",
                          "incrby", "u63", "0", "9223372036854775807", "incrby", "u63", "0",
                          "-9223372036854775808", "overflow", "fail", "incrby", "u63", "0", "-1",
                          "set", "u63", "0", "9223372036854775807", "get", "u63", "0", "incrby",
                          "u63", "0", "1", "overflow", "wrap", "incrby", "u63", "0",
                          "-9223372036854775808", "get", "i64", "0"}),
            (R{4611686018427387903, 0, 0, INT64_MAX, INT64_MAX, 0, nil, 0, INT64_MAX, nil,
               INT64_MAX, -1}));
}

TEST(BitOpsTest, BitfieldOneAndFiveBitFields) {
  std::string v = "\xff";
  EXPECT_EQ(Bitfield(&v, {"set", "i1", "0", "1", "get", "i1", "0", "overflow", "sat", "set", "i1",
                          "0", "1", "incrby", "i1", "0", "-5", "get", "u1", "0", "overflow", "fail",
                          "incrby", "i1", "0", "1", "incrby", "i1", "0", "-1", "set", "u1", "0",
                          "2", "incrby", "u1", "0", "1"}),
            (R{-1, -1, -1, -1, 1, 0, -1, nil, nil}));
  EXPECT_EQ(Bitfield(&v, {"overflow", "wrap", "set", "i5", "3", "100", "get", "i5", "3", "get",
                          "u5", "3", "incrby", "i5", "3", "-1000", "incrby", "u5", "3", "1000"}),
            (R{-1, 4, 4, -4, 4}));
}

TEST(BitOpsTest, BitfieldSatOfSetNearInt64MinGoesHigh) {
  // Redis computes max - value in wrapping int64 (checkSignedBitfieldOverflow): a SET of a
  // value within 2^(bits-1) of INT64_MIN saturates to the MAXIMUM. Found by the differential
  // run; on "\xdd": BITFIELD q OVERFLOW SAT SET i7 1 -9223372036854775808 SET i7 1
  // -9223372036854775745 SET i7 1 -9223372036854775744 SET i63 0 -9223372036854775808 SET i63 0
  // -4611686018427387905 GET i63 0 -> [-35, 63, 63, -2305843009213693952, 4611686018427387903,
  // 4611686018427387903].
  std::string v = "\xdd";
  EXPECT_EQ(Bitfield(&v, {"overflow", "sat", "set", "i7", "1", "-9223372036854775808", "set", "i7",
                          "1", "-9223372036854775745", "set", "i7", "1", "-9223372036854775744",
                          "set", "i63", "0", "-9223372036854775808", "set", "i63", "0",
                          "-4611686018427387905", "get", "i63", "0"}),
            (R{-35, 63, 63, -2305843009213693952, 4611686018427387903, 4611686018427387903}));
  EXPECT_EQ(v, std::string("\x7f\xff\xff\xff\xff\xff\xff\xfe", 8));
  v = "\xdd";
  EXPECT_EQ(Bitfield(&v, {"overflow", "sat", "set", "i7", "1", "-9223372036854775744", "get", "i7",
                          "1"}),
            (R{-35, -64}));
}

TEST(BitOpsTest, BitfieldParseErrors) {
  for (const char* type : {"u64", "i65", "u0", "I8", "i08", "x8", "i", "", "i-1", "u+1"}) {
    EXPECT_EQ(BitfieldError({"get", type, "0"}), kBadType) << type;
  }
  EXPECT_EQ(BitfieldError({"get", "i8", "-1"}), kBadOffset);
  EXPECT_EQ(BitfieldError({"get", "i8", "4294967296"}), kBadOffset);
  EXPECT_EQ(BitfieldError({"get", "i8", "#536870912"}), kBadOffset);
  EXPECT_EQ(BitfieldError({"get", "u8", "#-1"}), kBadOffset);
  EXPECT_EQ(BitfieldError({"get", "u8", "##1"}), kBadOffset);
  EXPECT_EQ(BitfieldError({"get", "u8", "#"}), kBadOffset);
  EXPECT_EQ(BitfieldError({"overflow", "foo", "get", "u8", "0"}),
            "ERR Invalid OVERFLOW type specified");
  EXPECT_EQ(BitfieldError({"overflow"}), kSyntax);
  EXPECT_EQ(BitfieldError({"get", "u8"}), kSyntax);
  EXPECT_EQ(BitfieldError({"set", "u8", "0"}), kSyntax);
  EXPECT_EQ(BitfieldError({"foo"}), kSyntax);
  EXPECT_EQ(BitfieldError({"get", "u8", "0", "foo"}), kSyntax);
  EXPECT_EQ(BitfieldError({"set", "u8", "0", "x"}), kNotInt);
  EXPECT_EQ(BitfieldError({"incrby", "u8", "0", "1.5"}), kNotInt);
  // First error scanning left to right.
  EXPECT_EQ(BitfieldError({"set", "x8", "0", "1", "overflow", "foo"}), kBadType);
  // strcasecmp / strlen on the type: bytes after a NUL are ignored (get u8\0z 0 -> [102]).
  EXPECT_TRUE(ParseBitfield({std::string_view("get\0", 4), std::string_view("u8\0z", 4), "0"},
                            false)
                  .ok());
}

TEST(BitOpsTest, BitfieldRo) {
  const char kRoOnly[] = "ERR BITFIELD_RO only supports the GET subcommand";
  EXPECT_EQ(BitfieldError({"get", "u8", "0", "set", "u8", "0", "1"}, true), kRoOnly);
  EXPECT_EQ(BitfieldError({"incrby", "u8", "0", "1"}, true), kRoOnly);
  // Parse errors come first, wherever they are.
  EXPECT_EQ(BitfieldError({"set", "x8", "0", "1"}, true), kBadType);
  EXPECT_EQ(BitfieldError({"incrby", "u8", "0", "1", "foo"}, true), kSyntax);
  EXPECT_EQ(BitfieldError({"get", "u8", "0", "foo"}, true), kSyntax);
  // OVERFLOW is accepted.
  absl::StatusOr<BitfieldSpec> spec = ParseBitfield({"overflow", "sat", "get", "u8", "0"}, true);
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(BitfieldWrites(*spec));
  EXPECT_EQ(BitfieldGrowBytes(*spec), 0u);
  const std::string ff = "\xff";
  EXPECT_EQ(ReadBitfield(*spec, &ff), (R{255}));
  EXPECT_EQ(ReadBitfield(*ParseBitfield({"get", "i64", "0"}, true), nullptr), (R{0}));
}

TEST(BitOpsTest, BitfieldWritesAndGrowth) {
  absl::StatusOr<BitfieldSpec> spec =
      ParseBitfield({"get", "u8", "1000", "set", "i64", "4294967295", "0"}, false);
  ASSERT_TRUE(spec.ok());
  EXPECT_TRUE(BitfieldWrites(*spec));
  // Highest written bit 4294967295 + 63: 8 bytes past 512 MiB, as Redis.
  EXPECT_EQ(BitfieldGrowBytes(*spec), static_cast<uint64_t>(kMaxStringBytes) + 8);
  // ReadBitfield of a writing spec leaves the value alone.
  spec = ParseBitfield({"incrby", "u8", "0", "1", "get", "u8", "0"}, false);
  const std::string one("\x01", 1);
  EXPECT_EQ(ReadBitfield(*spec, &one), (R{2, 2}));
  EXPECT_EQ(one, "\x01");
}

// ---- LCS ----------------------------------------------------------------------------------------

TEST(BitOpsTest, LcsStringAndLen) {
  const std::string k1 = "ohmytext", k2 = "mynewtext";
  EXPECT_EQ(Lcs(&k1, &k2, {})->lcs, "mytext");
  EXPECT_EQ(Lcs(&k1, &k2, {"WITHMATCHLEN"})->lcs, "mytext");  // ignored without IDX
  absl::StatusOr<LcsResult> r = Lcs(&k1, &k2, {"len"});
  EXPECT_EQ(r->mode, LcsMode::kLen);
  EXPECT_EQ(r->len, 6);
  EXPECT_EQ(Lcs(&k1, &k2, {"len", "withmatchlen", "minmatchlen", "3"})->len, 6);
  EXPECT_EQ(Lcs(&k1, nullptr, {})->lcs, "");
  EXPECT_EQ(Lcs(nullptr, nullptr, {"LEN"})->len, 0);
  const std::string small = "ab";
  EXPECT_EQ(Lcs(&k1, &small, {})->lcs, "");
}

TEST(BitOpsTest, LcsIdx) {
  const std::string k1 = "ohmytext", k2 = "mynewtext";
  // LCS k1 k2 IDX -> RESP2 ["matches", [[[4,7],[5,8]], [[2,3],[0,1]]], "len", 6]
  absl::StatusOr<LcsResult> r = Lcs(&k1, &k2, {"idx"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mode, LcsMode::kIdx);
  EXPECT_FALSE(r->with_match_len);
  EXPECT_EQ(r->matches, (std::vector<LcsMatch>{{4, 7, 5, 8, 4}, {2, 3, 0, 1, 2}}));
  EXPECT_EQ(r->len, 6);
  // IDX MINMATCHLEN 4 WITHMATCHLEN -> [[[4,7],[5,8],4]], len 6 (RESP3: a map).
  r = Lcs(&k1, &k2, {"idx", "minmatchlen", "4", "withmatchlen"});
  EXPECT_TRUE(r->with_match_len);
  EXPECT_EQ(r->matches, (std::vector<LcsMatch>{{4, 7, 5, 8, 4}}));
  EXPECT_EQ(r->len, 6);
  // A negative MINMATCHLEN is 0.
  r = Lcs(&k1, &k2, {"IDX", "WITHMATCHLEN", "MINMATCHLEN", "-5"});
  EXPECT_EQ(r->matches, (std::vector<LcsMatch>{{4, 7, 5, 8, 4}, {2, 3, 0, 1, 2}}));
  // Same string: one match covering all.
  r = Lcs(&k1, &k1, {"idx", "withmatchlen"});
  EXPECT_EQ(r->matches, (std::vector<LcsMatch>{{0, 7, 0, 7, 8}}));
  EXPECT_EQ(r->len, 8);
  // Absent key: no match, len 0.
  r = Lcs(&k1, nullptr, {"idx"});
  EXPECT_TRUE(r->matches.empty());
  EXPECT_EQ(r->len, 0);
}

TEST(BitOpsTest, LcsIdxOrderAndTieBreak) {
  // LCS a1 b1 IDX WITHMATCHLEN -> [[[8,10],[7,9],3], [[4,6],[4,6],3], [[0,2],[1,3],3]], len 9
  const std::string a1 = "abcXdefYghi", b1 = "ZabcdefghiW";
  absl::StatusOr<LcsResult> r = Lcs(&a1, &b1, {"idx", "withmatchlen"});
  EXPECT_EQ(r->matches,
            (std::vector<LcsMatch>{{8, 10, 7, 9, 3}, {4, 6, 4, 6, 3}, {0, 2, 1, 3, 3}}));
  EXPECT_EQ(r->len, 9);
  // "aaaa" vs "aa": [[[2,3],[0,1],2]]; swapped: [[[0,1],[2,3],2]].
  const std::string a2 = "aaaa", b2 = "aa";
  EXPECT_EQ(Lcs(&a2, &b2, {"idx"})->matches, (std::vector<LcsMatch>{{2, 3, 0, 1, 2}}));
  EXPECT_EQ(Lcs(&b2, &a2, {"idx"})->matches, (std::vector<LcsMatch>{{0, 1, 2, 3, 2}}));
}

TEST(BitOpsTest, LcsErrors) {
  const std::string k1 = "ohmytext", k2 = "mynewtext";
  const char kBoth[] = "ERR If you want both the length and indexes, please just use IDX.";
  EXPECT_EQ(Err(Lcs(&k1, &k2, {"len", "idx"})), kBoth);
  EXPECT_EQ(Err(Lcs(&k1, &k2, {"idx", "len"})), kBoth);
  EXPECT_EQ(Err(Lcs(&k1, &k2, {"minmatchlen", "1", "len", "idx"})), kBoth);
  EXPECT_EQ(Err(Lcs(&k1, &k2, {"minmatchlen"})), kSyntax);
  EXPECT_EQ(Err(Lcs(&k1, &k2, {"minmatchlen", "x"})), kNotInt);
  EXPECT_EQ(Err(Lcs(&k1, &k2, {"idx", "minmatchlen", "01"})), kNotInt);
  EXPECT_EQ(Err(Lcs(&k1, &k2, {"foo"})), kSyntax);
  EXPECT_EQ(Err(Lcs(&k1, &k2, {std::string_view("len\0", 4)})), "");  // strcasecmp: LEN
  // Two 12000-byte strings need a 576 MB table: refused (LCS big1 big1 LEN).
  const std::string big(12000, 'a');
  EXPECT_EQ(Err(Lcs(&big, &big, {"len"})),
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  EXPECT_EQ(Lcs(&big, nullptr, {"len"})->len, 0);
  EXPECT_EQ(Lcs(&big, &k1, {})->lcs, "");
  const std::string small = "ab";
  EXPECT_EQ(Lcs(&big, &small, {})->lcs, "a");
  // Argument errors come before the size check.
  EXPECT_EQ(Err(Lcs(&small, &big, {"foo"})), kSyntax);
}

// ---- GETRANGE / SUBSTR --------------------------------------------------------------------------

TEST(BitOpsTest, GetRange) {
  const std::string h = "Hello";
  EXPECT_EQ(GetRange(h, 0, -100), "H");  // end clamps to 0
  EXPECT_EQ(GetRange(h, -1, -100), "");  // both negative, start > end
  EXPECT_EQ(GetRange(h, -100, -200), "");
  EXPECT_EQ(GetRange(h, -100, -1), "Hello");
  EXPECT_EQ(GetRange(h, 1, 3), "ell");
  EXPECT_EQ(GetRange(h, 3, 1), "");
  EXPECT_EQ(GetRange(h, -3, -1), "llo");
  EXPECT_EQ(GetRange(h, 0, 100), "Hello");
  EXPECT_EQ(GetRange(h, 5, 10), "");
  EXPECT_EQ(GetRange(h, 4, 4), "o");
  EXPECT_EQ(GetRange(h, -1, -5), "");
  EXPECT_EQ(GetRange(h, -5, -1), "Hello");
  EXPECT_EQ(GetRange(h, 0, -6), "H");
  EXPECT_EQ(GetRange(h, -6, 0), "H");
  EXPECT_EQ(GetRange(h, INT64_MAX, INT64_MIN), "");
  EXPECT_EQ(GetRange(h, INT64_MIN, INT64_MAX), "Hello");
  EXPECT_EQ(GetRange("", 0, -1), "");
  EXPECT_EQ(GetRange("", 0, 0), "");
}

TEST(BitOpsTest, GetRangeCommand) {
  const std::string h = "Hello";
  EXPECT_EQ(*GetRangeCommand(&h, {"1", "2"}), "el");  // SUBSTR h 1 2
  EXPECT_EQ(*GetRangeCommand(nullptr, {"0", "1"}), "");
  EXPECT_EQ(Err(GetRangeCommand(&h, {"a", "1"})), kNotInt);
  EXPECT_EQ(Err(GetRangeCommand(&h, {"1", "b"})), kNotInt);
  EXPECT_EQ(Err(GetRangeCommand(nullptr, {"a", "1"})), kNotInt);  // parsed before the lookup
}

}  // namespace
}  // namespace beyondkv::bitops
