#include "gateway/http/query.h"

#include <gtest/gtest.h>

namespace beyondkv::gateway::http {
namespace {

TEST(PercentDecodeTest, DecodesEscapesAndKeepsOtherBytes) {
  EXPECT_EQ(PercentDecode("a%2Fb%3F%20c", false), "a/b? c");
  EXPECT_EQ(PercentDecode("%e2%82%AC", false), "\xe2\x82\xac");
  EXPECT_EQ(PercentDecode("%00x", false), std::string("\0x", 2));
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
}

TEST(PercentDecodeTest, RefusesMalformedEscapes) {
  EXPECT_EQ(PercentDecode("%", false), std::nullopt);
  EXPECT_EQ(PercentDecode("ab%4", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%zz", false), std::nullopt);
}

TEST(PercentEncodeTest, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(PercentDecode(PercentEncode(all), false), all);
  EXPECT_EQ(PercentEncode("a/b c~"), "a%2Fb%20c~");
}

TEST(ParseDecimalTest, IsStrict) {
  EXPECT_EQ(ParseDecimal("0"), 0);
  EXPECT_EQ(ParseDecimal("-42"), -42);
  EXPECT_EQ(ParseDecimal("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseDecimal("9223372036854775808"), std::nullopt);
  for (const char* bad : {"", "+1", " 1", "1 ", "1.0", "0x10", "1e3", "-"}) {
    EXPECT_EQ(ParseDecimal(bad), std::nullopt) << bad;
  }
}

TEST(QueryParamsTest, ParsesDecodesAndChecksNames) {
  absl::StatusOr<QueryParams> q = QueryParams::Parse("ns=3&prefix=a%2Fb+c&flag&&");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->Get("prefix"), "a/b c");
  EXPECT_EQ(q->Get("flag"), "");
  EXPECT_FALSE(q->Has("cursor"));
  EXPECT_EQ(*q->GetInt("ns", 0, 15, 0), 3);
  EXPECT_TRUE(q->CheckAllowed({"ns", "prefix", "flag"}).ok());
  absl::Status unknown = q->CheckAllowed({"ns", "prefix"});
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("`flag`"), absl::string_view::npos) << unknown;
}

TEST(QueryParamsTest, RefusesDuplicatesBadEscapesAndBadIntegers) {
  EXPECT_FALSE(QueryParams::Parse("ns=1&ns=2").ok());
  EXPECT_FALSE(QueryParams::Parse("prefix=%zz").ok());
  absl::StatusOr<QueryParams> q = QueryParams::Parse("ns=16&limit=abc&nx=2&xx=1");
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->GetInt("ns", 0, 15, 0).ok());
  EXPECT_FALSE(q->GetInt("limit", 0, 1000, 100).ok());
  EXPECT_EQ(*q->GetInt("absent", 0, 10, 7), 7);
  EXPECT_FALSE(q->GetFlag("nx").ok());
  EXPECT_TRUE(*q->GetFlag("xx"));
  EXPECT_FALSE(*q->GetFlag("absent"));
}

}  // namespace
}  // namespace beyondkv::gateway::http
