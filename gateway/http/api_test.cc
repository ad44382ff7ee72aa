// Unit tests of the API's pure parts: routing on raw targets, batch parsing, base64url,
// expiries. The routes against real shards are tested in tests/http_*.
#include <gtest/gtest.h>

#include "gateway/http/base64url.h"
#include "gateway/http/batch_handler.h"
#include "gateway/http/handler_util.h"
#include "gateway/http/routes.h"

namespace beyondkv::gateway::http {
namespace {

RouteMatch Match(std::string_view method, std::string_view target) {
  auto m = MatchRoute(method, target);
  if (auto* e = std::get_if<ApiError>(&m)) {
    ADD_FAILURE() << method << " " << target << ": " << e->status << " " << e->message;
    return {};
  }
  return std::get<RouteMatch>(m);
}

int ErrorStatus(std::string_view method, std::string_view target) {
  auto m = MatchRoute(method, target);
  auto* e = std::get_if<ApiError>(&m);
  return e == nullptr ? 0 : e->status;
}

TEST(RoutesTest, KeysAreDecodedAfterRoutingOnTheRawPath) {
  RouteMatch m = Match("GET", "/v1/kv/a%2Fb%3Fc%25?ns=2");
  EXPECT_EQ(m.route, Route::kGetValue);
  EXPECT_EQ(m.key, "a/b?c%");
  EXPECT_EQ(m.raw_query, "ns=2");
  EXPECT_EQ(Match("GET", "/v1/kv/a/b").key, "a/b");
  EXPECT_EQ(Match("HEAD", "/v1/kv/k").route, Route::kHeadValue);
  EXPECT_EQ(Match("PUT", "/v1/kv/k").route, Route::kPutValue);
  EXPECT_EQ(Match("DELETE", "/v1/kv/k").route, Route::kDeleteValue);
  EXPECT_EQ(Match("PATCH", "/v1/kv/k?ttl=1").route, Route::kPatchTtl);
  m = Match("POST", "/v1/kv/a%2Fincr/incr?delta=2");
  EXPECT_EQ(m.route, Route::kIncrementValue);
  EXPECT_EQ(m.key, "a/incr");
  EXPECT_EQ(Match("GET", "/v1/kv/k/incr").key, "k/incr");
  EXPECT_EQ(Match("POST", "/v1/kv/batch").route, Route::kBatch);
  EXPECT_EQ(Match("GET", "/v1/kv/batch").key, "batch");
  EXPECT_EQ(Match("POST", "/v1/kv/batch/incr").key, "batch");
  EXPECT_EQ(Match("GET", "/v1/kv?prefix=a").route, Route::kListKeys);
  EXPECT_EQ(Match("DELETE", "/v1/kv").route, Route::kFlushNamespace);
  EXPECT_EQ(Match("POST", "/v1/admin/compact").route, Route::kCompact);
  EXPECT_EQ(Match("GET", "/v1/watch/k").route, Route::kWatchKey);
  EXPECT_EQ(Match("GET", "/v1/watch?prefix=p").route, Route::kWatchPrefix);
  EXPECT_EQ(Match("GET", "/livez").route, Route::kLivez);
  EXPECT_EQ(Match("GET", "/readyz").route, Route::kReadyz);
  EXPECT_EQ(Match("GET", "/metrics").route, Route::kMetrics);
}

TEST(RoutesTest, RefusesUnknownPathsMethodsAndBadKeys) {
  EXPECT_EQ(ErrorStatus("GET", "/v2/kv/k"), 404);
  EXPECT_EQ(ErrorStatus("GET", "/"), 404);
  EXPECT_EQ(ErrorStatus("POST", "/v1/kv/k"), 405);
  EXPECT_EQ(ErrorStatus("PUT", "/v1/kv"), 405);
  EXPECT_EQ(ErrorStatus("GET", "/v1/admin/compact"), 405);
  EXPECT_EQ(ErrorStatus("GET", "/v1/kv/%zz"), 400);
  EXPECT_EQ(ErrorStatus("GET", "/v1/kv/"), 400);
  EXPECT_EQ(ErrorStatus("POST", "/v1/kv//incr"), 400);
  EXPECT_EQ(AllowedMethods("/v1/kv"), "GET, HEAD, DELETE");
  EXPECT_EQ(RouteOf("POST", "/v1/kv/k"), Route::kUnmatched);
  EXPECT_EQ(RouteName(Route::kIncrementValue), "increment_value");
}

TEST(Base64UrlTest, RoundTripsAndIsStrict) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(all)), all);
  EXPECT_EQ(Base64UrlEncode("\xff\xfe"), "__4");
  EXPECT_EQ(Base64UrlDecode("aGk"), "hi");
  EXPECT_EQ(Base64UrlDecode("aGk="), "hi");
  EXPECT_EQ(Base64UrlDecode(""), "");
  for (const char* bad : {"a", "aGk==", "a+8", "a/8", "aG k", "aGk\n", "aG=k", "*"}) {
    EXPECT_EQ(Base64UrlDecode(bad), std::nullopt) << bad;
  }
}

TEST(ExpiryTest, ConvertsAndNeverYieldsTheNoExpiryZero) {
  EXPECT_EQ(*ExpiryMs(5, 1000, false, 1000), 6000);
  EXPECT_EQ(*ExpiryMs(7, 1, true, 1000), 7);
  EXPECT_EQ(*ExpiryMs(0, 1000, true, 1000), 1);  // the epoch: in the past, not "no expiry"
  EXPECT_FALSE(ExpiryMs(INT64_MAX, 1000, false, 0).ok());
  EXPECT_FALSE(ExpiryMs(INT64_MAX, 1, false, 1).ok());
}

TEST(Utf8Test, AcceptsUtf8Only) {
  EXPECT_TRUE(IsUtf8("plain"));
  EXPECT_TRUE(IsUtf8("\xe2\x82\xac \xf0\x9f\x98\x80"));
  for (const char* bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80"}) {
    EXPECT_FALSE(IsUtf8(bad)) << bad;
  }
}

TEST(ParseBatchTest, BuildsOps) {
  absl::StatusOr<std::vector<BatchOp>> ops = ParseBatch(
      R"([{"op":"set","key":"a","value":"aGk","ttl":10,"metadata":{"x":1},"nx":true},
          {"op":"get","key":"a"},
          {"op":"delete","key":"b","ifMatch":"123456789012345678"},
          {"op":"exists","key":"c"},
          {"op":"incr","key":"n","delta":-3},
          {"op":"set","key":"z","value":"","ttl":0,"ifMatch":5}])",
      4, 1000);
  ASSERT_TRUE(ops.ok()) << ops.status();
  ASSERT_EQ(ops->size(), 6u);
  const v1::Op& set = (*ops)[0].op;
  EXPECT_EQ(set.type(), v1::Op::PUT);
  EXPECT_EQ(set.ns(), 4u);
  EXPECT_EQ(set.value(), "hi");
  EXPECT_EQ(set.expire_at_ms(), 11000);
  EXPECT_EQ(set.metadata(), R"({"x":1})");
  EXPECT_EQ(set.condition(), v1::Op::IF_ABSENT);
  EXPECT_EQ((*ops)[2].op.if_revision(), 123456789012345678u);
  EXPECT_EQ((*ops)[2].op.condition(), v1::Op::IF_REVISION);
  EXPECT_EQ((*ops)[4].op.delta(), -3);
  EXPECT_EQ((*ops)[5].op.expire_at_ms(), 0);  // ttl 0: no expiry
  EXPECT_EQ((*ops)[5].op.if_revision(), 5u);
}

TEST(ParseBatchTest, RefusesMalformedBatchesNamingTheOp) {
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "not valid JSON"},
      {R"({"op":"get"})", "array"},
      {R"([1])", "op 0: must be an object"},
      {R"([{"op":"get","key":"a"},{"op":"nope","key":"a"}])", "op 1: unknown op"},
      {R"([{"op":"get"}])", "`key`"},
      {R"([{"op":"set","key":"a"}])", "`value` is missing"},
      {R"([{"op":"set","key":"a","value":"a+b"}])", "not base64url"},
      {R"([{"op":"set","key":"a","value":"","ttl":-1}])", "`ttl`"},
      {R"([{"op":"set","key":"a","value":"","ttl":1.5}])", "`ttl` must be an integer"},
      {R"([{"op":"set","key":"a","value":"","nx":1}])", "`nx` must be true or false"},
      {R"([{"op":"set","key":"a","value":"","nx":true,"xx":true}])", "exclude"},
      {R"([{"op":"set","key":"a","value":"","keepTtl":true,"ttl":5}])", "keepTtl"},
      {R"([{"op":"get","key":"a","extra":1}])", "`extra` is not a field"},
      {R"([{"op":"delete","key":"a","ifMatch":1,"returnOld":true}])", "exclude"},
      {R"([{"op":"incr","key":"a","delta":"x"}])", "`delta`"},
      {R"([{"op":"delete","key":"a","ifMatch":"-1"}])", "`ifMatch`"},
  };
  for (const auto& [body, needle] : cases) {
    absl::StatusOr<std::vector<BatchOp>> ops = ParseBatch(body, 0, 0);
    ASSERT_FALSE(ops.ok()) << body;
    EXPECT_EQ(ops.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(ops.status().message().find(needle), absl::string_view::npos)
        << body << " -> " << ops.status().message();
  }
}

}  // namespace
}  // namespace beyondkv::gateway::http
