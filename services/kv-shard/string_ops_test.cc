#include "services/kv-shard/string_ops.h"

#include <gtest/gtest.h>

#include <climits>
#include <string>

namespace beyondkv::shard {
namespace {

using v1::Op;
using v1::OpResult;

TEST(StringOpsTest, IncrByCountsFromZeroAndGuardsInt64) {
  EXPECT_EQ(IncrBy(nullptr, 5).int_value, 5);
  EXPECT_EQ(IncrBy(nullptr, 5).value, "5");
  const std::string ten = "10";
  EXPECT_EQ(IncrBy(&ten, -15).value, "-5");
  const std::string max = std::to_string(INT64_MAX);
  EXPECT_EQ(IncrBy(&max, 1).error, OpResult::INT_OVERFLOW);
  EXPECT_EQ(IncrBy(&max, 0).int_value, INT64_MAX);
  const std::string min = std::to_string(INT64_MIN);
  EXPECT_EQ(IncrBy(&min, -1).error, OpResult::INT_OVERFLOW);
  EXPECT_EQ(IncrBy(&min, 1).int_value, INT64_MIN + 1);
  for (const char* bad : {"abc", " 1", "1 ", "+1", "1.5", "", "9223372036854775808"}) {
    const std::string v = bad;
    EXPECT_EQ(IncrBy(&v, 1).error, OpResult::NOT_INTEGER) << "'" << bad << "'";
    EXPECT_FALSE(IncrBy(&v, 1).write);
  }
}

TEST(StringOpsTest, IncrByFloatRefusesNonNumbersAndNanOrInf) {
  EXPECT_EQ(IncrByFloat(nullptr, "1.5").value, "1.5");
  const std::string ten = "10.50";
  EXPECT_EQ(IncrByFloat(&ten, "0.1").value, "10.6");
  EXPECT_EQ(IncrByFloat(&ten, "abc").error, OpResult::NOT_FLOAT);
  const std::string text = "abc";
  EXPECT_EQ(IncrByFloat(&text, "1").error, OpResult::NOT_FLOAT);
  EXPECT_EQ(IncrByFloat(nullptr, "nan").error, OpResult::NOT_FLOAT);
  const std::string huge = "1.1e4932";  // near long double's largest, ~1.19e4932
  EXPECT_EQ(IncrByFloat(&huge, "1.1e4932").error, OpResult::NAN_OR_INF);
}

TEST(StringOpsTest, AppendStopsAt512MiB) {
  EXPECT_EQ(Append(nullptr, "ab").value, "ab");
  EXPECT_EQ(Append(nullptr, "ab").length, 2);
  const std::string hello = "hello";
  EXPECT_EQ(Append(&hello, " world").value, "hello world");
  const std::string big(kMaxStringBytes - 1, 'x');
  EXPECT_EQ(Append(&big, "y").length, kMaxStringBytes);
  EXPECT_EQ(Append(&big, "yz").error, OpResult::STRING_TOO_LONG);
}

TEST(StringOpsTest, SetRangePadsRefusesNegativeAndHugeOffsetsWithoutOverflow) {
  const std::string hello = "Hello World";
  EXPECT_EQ(SetRange(&hello, 6, "Redis").value, "Hello Redis");
  EXPECT_EQ(SetRange(nullptr, 3, "ab").value, std::string("\0\0\0ab", 5));
  EXPECT_EQ(SetRange(nullptr, 3, "ab").length, 5);
  // An empty value writes nothing and reports the current length.
  StringEdit empty = SetRange(&hello, 100, "");
  EXPECT_FALSE(empty.write);
  EXPECT_EQ(empty.error, OpResult::REASON_UNSPECIFIED);
  EXPECT_EQ(empty.length, 11);
  EXPECT_EQ(SetRange(nullptr, 0, "").length, 0);
  EXPECT_EQ(SetRange(&hello, -1, "x").error, OpResult::OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(SetRange(&hello, INT64_MAX, "xx").error, OpResult::STRING_TOO_LONG);
  EXPECT_EQ(SetRange(&hello, INT64_MAX - 1, "xx").error, OpResult::STRING_TOO_LONG);
  EXPECT_EQ(SetRange(nullptr, kMaxStringBytes - 1, "xx").error, OpResult::STRING_TOO_LONG);
  EXPECT_EQ(SetRange(nullptr, kMaxStringBytes - 2, "xx").length, kMaxStringBytes);
}

TEST(StringOpsTest, ExpireConditionsTreatNoExpiryAsInfinite) {
  // NX: only without an expiry; XX: only with one.
  EXPECT_TRUE(ExpireConditionHolds(Op::EXPIRE_NX, 0, 100));
  EXPECT_FALSE(ExpireConditionHolds(Op::EXPIRE_NX, 50, 100));
  EXPECT_FALSE(ExpireConditionHolds(Op::EXPIRE_XX, 0, 100));
  EXPECT_TRUE(ExpireConditionHolds(Op::EXPIRE_XX, 50, 100));
  // GT: nothing is greater than infinite, and infinite (persist) is never "set" by GT.
  EXPECT_FALSE(ExpireConditionHolds(Op::EXPIRE_GT, 0, 100));
  EXPECT_TRUE(ExpireConditionHolds(Op::EXPIRE_GT, 50, 100));
  EXPECT_FALSE(ExpireConditionHolds(Op::EXPIRE_GT, 100, 50));
  EXPECT_FALSE(ExpireConditionHolds(Op::EXPIRE_GT, 100, 0));
  // LT: anything finite is less than infinite.
  EXPECT_TRUE(ExpireConditionHolds(Op::EXPIRE_LT, 0, 100));
  EXPECT_TRUE(ExpireConditionHolds(Op::EXPIRE_LT, 100, 50));
  EXPECT_FALSE(ExpireConditionHolds(Op::EXPIRE_LT, 50, 100));
  EXPECT_FALSE(ExpireConditionHolds(Op::EXPIRE_LT, 50, 0));
  // XX LT: an expiry must exist and the new one be smaller (no expiry is not "smaller").
  EXPECT_FALSE(ExpireConditionHolds(Op::EXPIRE_XX_LT, 0, 100));
  EXPECT_TRUE(ExpireConditionHolds(Op::EXPIRE_XX_LT, 100, 50));
  EXPECT_FALSE(ExpireConditionHolds(Op::EXPIRE_XX_LT, 50, 100));
  EXPECT_FALSE(ExpireConditionHolds(Op::EXPIRE_XX_LT, 50, 0));
  EXPECT_TRUE(ExpireConditionHolds(Op::EXPIRE_ALWAYS, 50, 0));
}

}  // namespace
}  // namespace beyondkv::shard
