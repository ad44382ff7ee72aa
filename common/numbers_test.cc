#include "common/numbers.h"

#include <gtest/gtest.h>

namespace beyondkv {
namespace {

TEST(NumbersTest, ParseInt64FollowsRedisString2ll) {
  int64_t v = 0;
  EXPECT_TRUE(ParseInt64("0", &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(ParseInt64("-42", &v));
  EXPECT_EQ(v, -42);
  EXPECT_TRUE(ParseInt64("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_TRUE(ParseInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "01", "-0", "1.0", "9223372036854775808",
                          "-9223372036854775809", "abc", "123456789012345678901"}) {
    EXPECT_FALSE(ParseInt64(bad, &v)) << bad;
  }
}

TEST(NumbersTest, ParseLongDouble) {
  long double v = 0;
  EXPECT_TRUE(ParseLongDouble("10.5", &v));
  EXPECT_EQ(v, 10.5L);
  EXPECT_TRUE(ParseLongDouble("3.0e3", &v));
  EXPECT_EQ(v, 3000.0L);
  EXPECT_TRUE(ParseLongDouble("inf", &v));
  for (const char* bad : {"", " 1", "1 ", "abc", "nan", "1.0x"}) {
    EXPECT_FALSE(ParseLongDouble(bad, &v)) << bad;
  }
}

TEST(NumbersTest, FormatLongDoubleAsRedisHumanMode) {
  EXPECT_EQ(FormatLongDouble(10.5L), "10.5");
  EXPECT_EQ(FormatLongDouble(3000.0L), "3000");
  EXPECT_EQ(FormatLongDouble(-0.0L), "0");
  // As Redis 7.0 answers INCRBYFLOAT f 0.1 on 3010.5.
  EXPECT_EQ(FormatLongDouble(3010.5L + 0.1L), "3010.60000000000000009");
}

}  // namespace
}  // namespace beyondkv
