// The HTTP API against a real beyond-kv (3 shards): every route, query parameter, header and
// status code of docs/openapi.json, on one shared server; authentication and body limits on
// a second one started with --http-token and a small --max-value-bytes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gateway/shardlink/router.h"
#include "tests/http_test_server.h"

namespace beyondkv::testing {
namespace {

using nlohmann::json;

constexpr int kShards = 3;

json Json(const HttpReply& r) { return json::parse(r.body, nullptr, false); }

// The contract's error body with `code`.
void ExpectError(const HttpReply& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  json body = Json(r);
  ASSERT_TRUE(body.is_object()) << r.body;
  ASSERT_TRUE(body.contains("error")) << r.body;
  EXPECT_EQ(body["error"]["code"], code) << r.body;
  EXPECT_TRUE(body["error"]["message"].is_string()) << r.body;
  EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
}

int64_t Int(const std::string& s) { return std::stoll(s); }

// A remaining TTL of `expected` seconds, read just after it was set: Redis rounds to the
// nearest second, so a slow moment may show one less.
bool TtlNear(const std::string& text, int64_t expected) {
  const std::string digits = text.rfind("(integer) ", 0) == 0 ? text.substr(10) : text;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  const int64_t ttl = std::stoll(digits);
  return ttl == expected || ttl == expected - 1;
}

class HttpApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    HttpServerOptions options;
    options.shards = kShards;
    server_ = new HttpTestServer(options);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->Log(); }

  HttpReply Send(const std::string& method, const std::string& target,
                 const httplib::Headers& headers = {}, const std::string& body = "") {
    return server_->Send(method, target, headers, body);
  }
  // PUTs and expects 204.
  uint64_t MustPut(const std::string& key, const std::string& value, std::string query = "",
                   const httplib::Headers& headers = {}) {
    HttpReply r = Send("PUT", KeyPath(key, query), headers, value);
    EXPECT_EQ(r.status, 204) << key << ": " << r.body;
    return r.Has("X-KV-Revision") ? std::stoull(r.Header("X-KV-Revision")) : 0;
  }
  HttpReply Batch(const json& ops, const std::string& query = "") {
    return Send("POST", "/v1/kv/batch" + (query.empty() ? "" : "?" + query),
                {{"Content-Type", "application/json"}}, ops.dump());
  }

  static HttpTestServer* server_;
};

HttpTestServer* HttpApiTest::server_ = nullptr;

// --- Single keys: GET, HEAD, PUT, DELETE --------------------------------------------------

TEST_F(HttpApiTest, PutGetHeadDeleteRoundTrip) {
  const std::string value("bin\0\xff\r\nary", 10);
  const uint64_t rev = MustPut("rt:k", value);
  EXPECT_GT(rev, 0u);

  HttpReply get = server_->Get(KeyPath("rt:k"));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, value);
  EXPECT_EQ(get.Header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(std::stoull(get.Header("X-KV-Revision")), rev);
  EXPECT_FALSE(get.Has("X-KV-TTL"));
  EXPECT_FALSE(get.Has("X-KV-TTL-MS"));
  EXPECT_FALSE(get.Has("X-KV-Metadata"));

  HttpReply head = Send("HEAD", KeyPath("rt:k"));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(std::stoull(head.Header("X-KV-Revision")), rev);

  // A rewrite raises the revision.
  EXPECT_GT(MustPut("rt:k", "v2"), rev);

  EXPECT_EQ(Send("DELETE", KeyPath("rt:k")).status, 204);
  ExpectError(server_->Get(KeyPath("rt:k")), 404, "not_found");
  HttpReply head404 = Send("HEAD", KeyPath("rt:k"));
  EXPECT_EQ(head404.status, 404);
  EXPECT_EQ(head404.body, "");
  // Idempotent.
  EXPECT_EQ(Send("DELETE", KeyPath("rt:k")).status, 204);
}

TEST_F(HttpApiTest, AnEmptyBodyIsAValue) {
  MustPut("empty:k", "");
  HttpReply get = server_->Get(KeyPath("empty:k"));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "");
}

TEST_F(HttpApiTest, KeysArePercentDecodedFromTheRawPath) {
  const std::vector<std::string> keys = {
      "a/b",       "a?b=c&d", "sp ace", "pct%25",
      "plus+sign", "hash#x",  "üñí€",   std::string("nul\0byte\xff", 9),
      "x/incr",    "batch",   "..",     "a%2Fb"};
  for (const std::string& key : keys) {
    MustPut(key, "v:" + key);
    HttpReply get = server_->Get(KeyPath(key));
    EXPECT_EQ(get.status, 200) << key;
    EXPECT_EQ(get.body, "v:" + key);
  }
  // RESP sees the decoded bytes.
  RedisConn redis = server_->Redis();
  ASSERT_NE(redis, nullptr);
  for (const std::string& key : keys) {
    EXPECT_EQ(Command(redis.get(), {"GET", key}), "\"v:" + key + "\"") << key;
  }
  // An unencoded '/' stays part of the key.
  MustPut("raw/slash", "1");
  EXPECT_EQ(server_->Get("/v1/kv/raw/slash").body, "1");
  EXPECT_EQ(Command(redis.get(), {"GET", "raw/slash"}), "\"1\"");
  // Malformed escapes and an empty key are client errors.
  ExpectError(server_->Get("/v1/kv/bad%zz"), 400, "invalid_request");
  ExpectError(server_->Get("/v1/kv/bad%4"), 400, "invalid_request");
  ExpectError(server_->Get("/v1/kv/"), 400, "invalid_request");
}

TEST_F(HttpApiTest, PutTtlFromQueryOrHeader) {
  MustPut("ttl:q", "v", "ttl=100");
  HttpReply get = server_->Get(KeyPath("ttl:q"));
  EXPECT_TRUE(TtlNear(get.Header("X-KV-TTL"), 100));
  EXPECT_GT(Int(get.Header("X-KV-TTL-MS")), 98000);
  EXPECT_LE(Int(get.Header("X-KV-TTL-MS")), 100000);

  // The header wins over the query.
  MustPut("ttl:h", "v", "ttl=100", {{"X-KV-TTL", "50"}});
  EXPECT_TRUE(TtlNear(server_->Get(KeyPath("ttl:h")).Header("X-KV-TTL"), 50));
  // Milliseconds (ours), as a query parameter or a header.
  MustPut("ttl:ms", "v", "ttl_ms=20000");
  EXPECT_TRUE(TtlNear(server_->Get(KeyPath("ttl:ms")).Header("X-KV-TTL"), 20));
  MustPut("ttl:hms", "v", "ttl=1", {{"X-KV-TTL-MS", "30000"}});
  EXPECT_TRUE(TtlNear(server_->Get(KeyPath("ttl:hms")).Header("X-KV-TTL"), 30));
  // ttl=0 means no expiry.
  MustPut("ttl:zero", "v", "ttl=0");
  EXPECT_FALSE(server_->Get(KeyPath("ttl:zero")).Has("X-KV-TTL"));
  MustPut("ttl:zero", "v", "", {{"X-KV-TTL", "0"}});
  EXPECT_EQ(server_->Get(KeyPath("ttl:zero")).status, 200);

  // A plain PUT clears the TTL; X-KV-KeepTTL keeps it.
  MustPut("ttl:keep", "v1", "ttl=100");
  MustPut("ttl:keep", "v2", "", {{"X-KV-KeepTTL", "1"}});
  HttpReply kept = server_->Get(KeyPath("ttl:keep"));
  EXPECT_EQ(kept.body, "v2");
  EXPECT_TRUE(TtlNear(kept.Header("X-KV-TTL"), 100));
  MustPut("ttl:keep", "v3");
  EXPECT_FALSE(server_->Get(KeyPath("ttl:keep")).Has("X-KV-TTL"));
  MustPut("ttl:keep", "v4", "ttl=100");
  MustPut("ttl:keep", "v5", "", {{"X-KV-KeepTTL", "0"}});  // "0": as if absent
  EXPECT_FALSE(server_->Get(KeyPath("ttl:keep")).Has("X-KV-TTL"));

  // A key whose TTL passes is gone.
  MustPut("ttl:short", "v", "ttl_ms=50");
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  ExpectError(server_->Get(KeyPath("ttl:short")), 404, "not_found");

  ExpectError(Send("PUT", KeyPath("ttl:bad", "ttl=10"), {{"X-KV-KeepTTL", "1"}}, "v"), 400,
              "invalid_request");
  ExpectError(Send("PUT", KeyPath("ttl:bad", "ttl=1&ttl_ms=1000"), {}, "v"), 400,
              "invalid_request");
  ExpectError(Send("PUT", KeyPath("ttl:bad"), {{"X-KV-TTL", "1"}, {"X-KV-TTL-MS", "1"}}, "v"), 400,
              "invalid_request");
  for (const char* bad : {"ttl=-1", "ttl=abc", "ttl=1.5", "ttl=", "ttl=99999999999999999999"}) {
    ExpectError(Send("PUT", KeyPath("ttl:bad", bad), {}, "v"), 400, "invalid_request");
  }
  for (const char* bad : {"-5", "soon", "5s"}) {
    ExpectError(Send("PUT", KeyPath("ttl:bad"), {{"X-KV-TTL", bad}}, "v"), 400, "invalid_request");
  }
  EXPECT_EQ(server_->Get(KeyPath("ttl:bad")).status, 404);  // nothing was written
}

TEST_F(HttpApiTest, NxAndXxConditions) {
  MustPut("cond:x", "1", "nx=1");
  ExpectError(Send("PUT", KeyPath("cond:x", "nx=1"), {}, "2"), 409, "conflict");
  EXPECT_EQ(server_->Get(KeyPath("cond:x")).body, "1");
  MustPut("cond:x", "3", "xx=1");
  EXPECT_EQ(server_->Get(KeyPath("cond:x")).body, "3");
  ExpectError(Send("PUT", KeyPath("cond:missing", "xx=1"), {}, "v"), 409, "conflict");
  EXPECT_EQ(server_->Get(KeyPath("cond:missing")).status, 404);
  MustPut("cond:y", "v", "nx=0&xx=0");  // 0: no condition
  ExpectError(Send("PUT", KeyPath("cond:z", "nx=1&xx=1"), {}, "v"), 400, "invalid_request");
  ExpectError(Send("PUT", KeyPath("cond:z", "nx=2"), {}, "v"), 400, "invalid_request");
  ExpectError(Send("PUT", KeyPath("cond:z", "nx=true"), {}, "v"), 400, "invalid_request");
}

TEST_F(HttpApiTest, PutReturnOldSwapsAtomically) {
  MustPut("swap:k", "old", "ttl=100");
  HttpReply swap = Send("PUT", KeyPath("swap:k"), {{"X-KV-Return-Old", "1"}}, "new");
  EXPECT_EQ(swap.status, 200);
  EXPECT_EQ(swap.body, "old");
  EXPECT_EQ(swap.Header("Content-Type"), "application/octet-stream");
  EXPECT_TRUE(TtlNear(swap.Header("X-KV-TTL"), 100));  // the old entry's headers
  EXPECT_GT(std::stoull(swap.Header("X-KV-Revision")), 0u);
  EXPECT_EQ(server_->Get(KeyPath("swap:k")).body, "new");
  // No previous value: 204.
  HttpReply fresh = Send("PUT", KeyPath("swap:fresh"), {{"X-KV-Return-Old", "1"}}, "v");
  EXPECT_EQ(fresh.status, 204);
  EXPECT_EQ(fresh.body, "");
  // Excludes conditions and KeepTTL.
  for (const auto& [query, headers] : std::vector<std::pair<std::string, httplib::Headers>>{
           {"nx=1", {{"X-KV-Return-Old", "1"}}},
           {"xx=1", {{"X-KV-Return-Old", "1"}}},
           {"", {{"X-KV-Return-Old", "1"}, {"X-KV-KeepTTL", "1"}}},
           {"", {{"X-KV-Return-Old", "1"}, {"If-Match", "1"}}}}) {
    ExpectError(Send("PUT", KeyPath("swap:k", query), headers, "x"), 400, "invalid_request");
  }
}

TEST_F(HttpApiTest, IfMatchComparesRevisions) {
  const uint64_t rev = MustPut("rev:k", "v1");
  HttpReply stale = Send("PUT", KeyPath("rev:k"), {{"If-Match", std::to_string(rev + 1)}}, "x");
  ExpectError(stale, 409, "conflict");
  EXPECT_EQ(server_->Get(KeyPath("rev:k")).body, "v1");
  HttpReply ok = Send("PUT", KeyPath("rev:k"), {{"If-Match", std::to_string(rev)}}, "v2");
  EXPECT_EQ(ok.status, 204) << ok.body;
  const uint64_t rev2 = std::stoull(ok.Header("X-KV-Revision"));
  EXPECT_GT(rev2, rev);
  EXPECT_EQ(std::stoull(server_->Get(KeyPath("rev:k")).Header("X-KV-Revision")), rev2);
  // A quoted ETag form is accepted.
  EXPECT_EQ(Send("PUT", KeyPath("rev:k"), {{"If-Match", "\"" + std::to_string(rev2) + "\""}}, "v3")
                .status,
            204);
  // On a missing key: a revision fails, 0 creates.
  ExpectError(Send("PUT", KeyPath("rev:missing"), {{"If-Match", "5"}}, "x"), 409, "conflict");
  EXPECT_EQ(Send("PUT", KeyPath("rev:new"), {{"If-Match", "0"}}, "x").status, 204);
  ExpectError(Send("PUT", KeyPath("rev:new"), {{"If-Match", "0"}}, "y"), 409, "conflict");
  ExpectError(Send("PUT", KeyPath("rev:k"), {{"If-Match", "abc"}}, "x"), 400, "invalid_request");
  ExpectError(Send("PUT", KeyPath("rev:k", "nx=1"), {{"If-Match", "1"}}, "x"), 400,
              "invalid_request");
}

TEST_F(HttpApiTest, MetadataTravelsWithTheKey) {
  const std::string meta = R"({"owner":"ann","tags":[1,2]})";
  MustPut("meta:k", "v", "", {{"X-KV-Metadata", meta}});
  HttpReply get = server_->Get(KeyPath("meta:k"));
  EXPECT_EQ(get.Header("X-KV-Metadata"), meta);
  EXPECT_EQ(Send("HEAD", KeyPath("meta:k")).Header("X-KV-Metadata"), meta);
  // A PUT without metadata replaces the entry, metadata included.
  MustPut("meta:k", "v2");
  EXPECT_FALSE(server_->Get(KeyPath("meta:k")).Has("X-KV-Metadata"));
  ExpectError(Send("PUT", KeyPath("meta:k"), {{"X-KV-Metadata", "{not json"}}, "v"), 400,
              "invalid_request");
  // Header lines over 8 KiB are refused (431, connection closed: the connection gate, as
  // cpp-httplib's own limit), which bounds metadata sent in a header (the batch op takes up
  // to 64 KiB); the next request is not confused by the rest of the line.
  for (size_t size : {size_t{9000}, size_t{64 * 1024}}) {
    const std::string big = "\"" + std::string(size, 'm') + "\"";
    ExpectError(Send("PUT", KeyPath("meta:k"), {{"X-KV-Metadata", big}}, "v"), 431,
                "invalid_request");
    EXPECT_EQ(server_->Get(KeyPath("meta:k")).body, "v2");
  }
  const std::string fits = "\"" + std::string(7000, 'm') + "\"";
  MustPut("meta:k", "v3", "", {{"X-KV-Metadata", fits}});
  EXPECT_EQ(server_->Get(KeyPath("meta:k")).Header("X-KV-Metadata"), fits);
}

TEST_F(HttpApiTest, DeleteWithIfMatchAndReturnOld) {
  const uint64_t rev = MustPut("del:k", "v", "ttl=100", {{"X-KV-Metadata", "{\"m\":1}"}});
  ExpectError(Send("DELETE", KeyPath("del:k"), {{"If-Match", std::to_string(rev + 1)}}), 409,
              "conflict");
  EXPECT_EQ(server_->Get(KeyPath("del:k")).status, 200);  // untouched
  EXPECT_EQ(Send("DELETE", KeyPath("del:k"), {{"If-Match", std::to_string(rev)}}).status, 204);
  EXPECT_EQ(server_->Get(KeyPath("del:k")).status, 404);

  const uint64_t rev2 = MustPut("del:old", "payload", "ttl=100", {{"X-KV-Metadata", "[1]"}});
  HttpReply old = Send("DELETE", KeyPath("del:old"), {{"X-KV-Return-Old", "1"}});
  EXPECT_EQ(old.status, 200);
  EXPECT_EQ(old.body, "payload");
  EXPECT_EQ(std::stoull(old.Header("X-KV-Revision")), rev2);
  EXPECT_TRUE(TtlNear(old.Header("X-KV-TTL"), 100));
  EXPECT_EQ(old.Header("X-KV-Metadata"), "[1]");
  EXPECT_EQ(server_->Get(KeyPath("del:old")).status, 404);
  EXPECT_EQ(Send("DELETE", KeyPath("del:old"), {{"X-KV-Return-Old", "1"}}).status, 204);
  ExpectError(Send("DELETE", KeyPath("del:k"), {{"X-KV-Return-Old", "1"}, {"If-Match", "1"}}), 400,
              "invalid_request");
  ExpectError(Send("DELETE", KeyPath("del:k"), {{"If-Match", "-1"}}), 400, "invalid_request");
}

// --- PATCH: TTL changes -------------------------------------------------------------------

TEST_F(HttpApiTest, PatchChangesTheTtlOnly) {
  MustPut("patch:k", "value");
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  struct Case {
    std::string query;
    int64_t expect_secs;
  };
  for (const Case& c : {Case{"ttl=100", 100}, Case{"ttl_ms=200000", 200},
                        Case{"ttl_at=" + std::to_string(now_ms / 1000 + 300), 300},
                        Case{"ttl_at_ms=" + std::to_string(now_ms + 400000), 400}}) {
    HttpReply r = Send("PATCH", KeyPath("patch:k", c.query));
    EXPECT_EQ(r.status, 204) << c.query << " " << r.body;
    HttpReply get = server_->Get(KeyPath("patch:k"));
    EXPECT_EQ(get.body, "value");
    EXPECT_NEAR(Int(get.Header("X-KV-TTL")), c.expect_secs, 1) << c.query;
  }
  EXPECT_EQ(Send("PATCH", KeyPath("patch:k", "persist=1")).status, 204);
  EXPECT_FALSE(server_->Get(KeyPath("patch:k")).Has("X-KV-TTL"));

  // X-KV-Return-Value: GETEX.
  HttpReply getex = Send("PATCH", KeyPath("patch:k", "ttl=60"), {{"X-KV-Return-Value", "1"}});
  EXPECT_EQ(getex.status, 200);
  EXPECT_EQ(getex.body, "value");
  EXPECT_TRUE(TtlNear(getex.Header("X-KV-TTL"), 60));
  EXPECT_GT(std::stoull(getex.Header("X-KV-Revision")), 0u);
  HttpReply persisted =
      Send("PATCH", KeyPath("patch:k", "persist=1"), {{"X-KV-Return-Value", "1"}});
  EXPECT_EQ(persisted.status, 200);
  EXPECT_FALSE(persisted.Has("X-KV-TTL"));

  ExpectError(Send("PATCH", KeyPath("patch:missing", "ttl=5")), 404, "not_found");
  ExpectError(Send("PATCH", KeyPath("patch:k")), 400, "invalid_request");
  ExpectError(Send("PATCH", KeyPath("patch:k", "ttl=5&persist=1")), 400, "invalid_request");
  ExpectError(Send("PATCH", KeyPath("patch:k", "persist=2")), 400, "invalid_request");
  ExpectError(Send("PATCH", KeyPath("patch:k", "ttl=-5")), 400, "invalid_request");
  ExpectError(Send("PATCH", KeyPath("patch:k", "ttl_at=x")), 400, "invalid_request");

  // An expiry in the past deletes the key, as EXPIRE does.
  MustPut("patch:gone", "v");
  EXPECT_EQ(Send("PATCH", KeyPath("patch:gone", "ttl_at=1")).status, 204);
  EXPECT_EQ(server_->Get(KeyPath("patch:gone")).status, 404);
}

// --- incr -----------------------------------------------------------------------------------

TEST_F(HttpApiTest, IncrementStartsAtZeroAndRefusesNonIntegers) {
  auto incr = [&](const std::string& key, const std::string& query) {
    return Send("POST", "/v1/kv/" + Encode(key) + "/incr" + (query.empty() ? "" : "?" + query));
  };
  HttpReply r = incr("ctr:a", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(Json(r), json({{"value", 1}}));
  EXPECT_EQ(Json(incr("ctr:a", "delta=5")), json({{"value", 6}}));
  EXPECT_EQ(Json(incr("ctr:a", "delta=-10")), json({{"value", -4}}));
  EXPECT_EQ(Json(incr("ctr:a", "delta=0")), json({{"value", -4}}));
  EXPECT_EQ(server_->Get(KeyPath("ctr:a")).body, "-4");
  EXPECT_EQ(Json(incr("ctr/with/slash", "")), json({{"value", 1}}));

  MustPut("ctr:text", "abc");
  ExpectError(incr("ctr:text", ""), 400, "invalid_request");
  MustPut("ctr:max", "9223372036854775807");
  ExpectError(incr("ctr:max", ""), 400, "invalid_request");
  EXPECT_EQ(server_->Get(KeyPath("ctr:max")).body, "9223372036854775807");
  for (const char* bad : {"delta=x", "delta=1.5", "delta=", "delta=9223372036854775808"}) {
    ExpectError(incr("ctr:a", bad), 400, "invalid_request");
  }
}

// --- Listing, counting, flushing ------------------------------------------------------------

TEST_F(HttpApiTest, ListPagesThroughEveryKeyInOrder) {
  const std::string ns = "ns=7";
  std::vector<std::string> expected;
  std::set<uint32_t> shards;
  for (int i = 0; i < 250; ++i) {
    char key[32];
    snprintf(key, sizeof(key), "list:%03d", i);
    expected.push_back(key);
    shards.insert(shardlink::ShardForKey(key, kShards));
  }
  ASSERT_EQ(shards.size(), static_cast<size_t>(kShards));  // spread over every shard
  // Written in a scrambled order, plus keys outside the prefix.
  for (int i = 0; i < 250; ++i) MustPut(expected[(i * 37) % 250], "v", ns);
  MustPut("lisa", "v", ns);
  MustPut("lista", "v", ns);

  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (;;) {
    HttpReply r = server_->Get("/v1/kv?" + ns + "&prefix=list%3A&limit=64" +
                               (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    json body = Json(r);
    ++pages;
    for (const json& item : body["keys"]) seen.push_back(item["name"]);
    EXPECT_LE(body["keys"].size(), 64u);
    if (!body.contains("next_cursor") || body["next_cursor"].is_null()) break;
    cursor = body["next_cursor"];
    ASSERT_LT(pages, 20);
  }
  EXPECT_EQ(seen, expected);
  EXPECT_GE(pages, 4);

  // Defaults: 100 keys, from the start with no cursor or cursor=0.
  json first = Json(server_->Get("/v1/kv?" + ns + "&prefix=list%3A"));
  EXPECT_EQ(first["keys"].size(), 100u);
  EXPECT_EQ(first["keys"][0]["name"], "list:000");
  EXPECT_EQ(Json(server_->Get("/v1/kv?" + ns + "&prefix=list%3A&cursor=0&limit=0"))["keys"].size(),
            100u);
  // Above the maximum is capped at 1000 (here: all 252 keys, one page, no cursor).
  json all = Json(server_->Get("/v1/kv?" + ns + "&limit=5000"));
  EXPECT_EQ(all["keys"].size(), 252u);
  EXPECT_TRUE(!all.contains("next_cursor") || all["next_cursor"].is_null());
  // A prefix that matches nothing: an empty last page.
  json none = Json(server_->Get("/v1/kv?" + ns + "&prefix=zzz"));
  EXPECT_EQ(none["keys"], json::array());
  EXPECT_FALSE(none.contains("next_cursor"));

  // count=1.
  EXPECT_EQ(Json(server_->Get("/v1/kv?" + ns + "&count=1")), json({{"count", 252}}));
  EXPECT_EQ(Json(server_->Get("/v1/kv?" + ns + "&count=1&prefix=list%3A")), json({{"count", 250}}));
  EXPECT_EQ(Json(server_->Get("/v1/kv?ns=12&count=1")), json({{"count", 0}}));

  for (const char* bad :
       {"cursor=garbage", "cursor=1.%2B%2B", "count=2", "limit=-1", "limit=ten", "count=yes"}) {
    ExpectError(server_->Get("/v1/kv?" + ns + "&" + bad), 400, "invalid_request");
  }
}

TEST_F(HttpApiTest, ListShowsNonUtf8KeysExactly) {
  const std::string key("bin:\xff\xfe", 6);
  MustPut(key, "v", "ns=8");
  json body = Json(server_->Get("/v1/kv?ns=8&prefix=bin%3A"));
  ASSERT_EQ(body["keys"].size(), 1u) << body;
  EXPECT_EQ(UnB64(body["keys"][0]["name_base64url"].get<std::string>()), key);
}

TEST_F(HttpApiTest, FlushEmptiesOneNamespace) {
  for (int i = 0; i < 20; ++i) {
    MustPut("f" + std::to_string(i), "v", "ns=9");
    MustPut("f" + std::to_string(i), "v", "ns=10");
  }
  EXPECT_EQ(Send("DELETE", "/v1/kv?ns=9").status, 204);
  EXPECT_EQ(Json(server_->Get("/v1/kv?ns=9&count=1")), json({{"count", 0}}));
  EXPECT_EQ(Json(server_->Get("/v1/kv?ns=10&count=1")), json({{"count", 20}}));
  EXPECT_EQ(server_->Get(KeyPath("f1", "ns=9")).status, 404);
  EXPECT_EQ(Send("DELETE", "/v1/kv?ns=9").status, 204);  // idempotent
  ExpectError(Send("DELETE", "/v1/kv?ns=9&prefix=f"), 400, "invalid_request");
}

TEST_F(HttpApiTest, CompactStartsReclaim) {
  EXPECT_EQ(Send("POST", "/v1/admin/compact").status, 204);
  EXPECT_EQ(Send("POST", "/v1/admin/compact?ns=3").status, 204);
  ExpectError(Send("POST", "/v1/admin/compact?ns=99"), 400, "invalid_request");
}

// --- Batch ----------------------------------------------------------------------------------

TEST_F(HttpApiTest, BatchRunsOpsInOrderAcrossShards) {
  json ops = json::array();
  std::set<uint32_t> shards;
  for (int i = 0; i < 12; ++i) {
    const std::string key = "b:" + std::to_string(i);
    shards.insert(shardlink::ShardForKey(key, kShards));
    ops.push_back({{"op", "set"}, {"key", key}, {"value", B64("val" + std::to_string(i))}});
  }
  ASSERT_EQ(shards.size(), static_cast<size_t>(kShards));
  ops.push_back({{"op", "set"},
                 {"key", "b:ttl"},
                 {"value", B64(std::string("\0\xff", 2))},
                 {"ttl", 100},
                 {"metadata", {{"k", "v"}}}});
  ops.push_back({{"op", "get"}, {"key", "b:ttl"}});
  ops.push_back({{"op", "get"}, {"key", "b:3"}});
  ops.push_back({{"op", "get"}, {"key", "b:missing"}});
  ops.push_back({{"op", "exists"}, {"key", "b:5"}});
  ops.push_back({{"op", "exists"}, {"key", "b:missing"}});
  ops.push_back({{"op", "incr"}, {"key", "b:ctr"}, {"delta", 7}});
  ops.push_back({{"op", "incr"}, {"key", "b:ctr"}});
  ops.push_back({{"op", "delete"}, {"key", "b:0"}});
  ops.push_back({{"op", "delete"}, {"key", "b:1"}, {"returnOld", true}});
  ops.push_back({{"op", "delete"}, {"key", "b:missing"}, {"returnOld", true}});
  ops.push_back({{"op", "get"}, {"key", "b:0"}});
  HttpReply r = Batch(ops, "ns=4");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  json out = Json(r);
  ASSERT_TRUE(out.is_array());
  ASSERT_EQ(out.size(), ops.size());
  for (int i = 0; i < 13; ++i) EXPECT_TRUE(out[i].is_null()) << i;
  const json& ttl_entry = out[13];
  EXPECT_EQ(UnB64(ttl_entry["value"].get<std::string>()), std::string("\0\xff", 2));
  EXPECT_TRUE(TtlNear(std::to_string(ttl_entry["ttl"].get<int64_t>()), 100));
  EXPECT_GT(ttl_entry["ttl_ms"].get<int64_t>(), 98000);
  EXPECT_EQ(ttl_entry["metadata"], json({{"k", "v"}}));
  EXPECT_GT(ttl_entry["revision"].get<uint64_t>(), 0u);
  EXPECT_EQ(UnB64(out[14]["value"].get<std::string>()), "val3");
  EXPECT_FALSE(out[14].contains("ttl"));
  EXPECT_FALSE(out[14].contains("metadata"));
  EXPECT_TRUE(out[15].is_null());
  EXPECT_EQ(out[16], true);
  EXPECT_EQ(out[17], false);
  EXPECT_EQ(out[18], json({{"value", 7}}));
  EXPECT_EQ(out[19], json({{"value", 8}}));
  EXPECT_TRUE(out[20].is_null());
  EXPECT_EQ(UnB64(out[21]["value"].get<std::string>()), "val1");
  EXPECT_TRUE(out[22].is_null());
  EXPECT_TRUE(out[23].is_null());  // deleted earlier in the same batch

  // The batch's writes are visible to single-key reads, in that namespace only.
  EXPECT_EQ(server_->Get(KeyPath("b:7", "ns=4")).body, "val7");
  EXPECT_EQ(server_->Get(KeyPath("b:7")).status, 404);
  EXPECT_EQ(Json(Batch(json::array())), json::array());
}

TEST_F(HttpApiTest, BatchConflictIsWholeResponse409AndOtherOpsStayApplied) {
  MustPut("bc:exists", "old", "ns=4");
  json ops = json::array();
  for (int i = 0; i < 6; ++i) {
    ops.push_back({{"op", "set"}, {"key", "bc:before" + std::to_string(i)}, {"value", B64("b")}});
  }
  ops.push_back({{"op", "set"}, {"key", "bc:exists"}, {"value", B64("new")}, {"nx", true}});
  for (int i = 0; i < 6; ++i) {
    ops.push_back({{"op", "set"}, {"key", "bc:after" + std::to_string(i)}, {"value", B64("a")}});
  }
  HttpReply r = Batch(ops, "ns=4");
  ExpectError(r, 409, "conflict");
  EXPECT_NE(r.body.find("op 6"), std::string::npos) << r.body;
  // Documented: no atomicity across ops. The failed op had no effect; the others, before and
  // after it and on every shard, are applied.
  EXPECT_EQ(server_->Get(KeyPath("bc:exists", "ns=4")).body, "old");
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(server_->Get(KeyPath("bc:before" + std::to_string(i), "ns=4")).body, "b");
    EXPECT_EQ(server_->Get(KeyPath("bc:after" + std::to_string(i), "ns=4")).body, "a");
  }
  // xx and ifMatch, and a delete's ifMatch, fail the same way.
  ExpectError(Batch({{{"op", "set"}, {"key", "bc:nope"}, {"value", ""}, {"xx", true}}}, "ns=4"),
              409, "conflict");
  ExpectError(Batch({{{"op", "set"}, {"key", "bc:exists"}, {"value", ""}, {"ifMatch", 1}}}, "ns=4"),
              409, "conflict");
  ExpectError(Batch({{{"op", "delete"}, {"key", "bc:exists"}, {"ifMatch", "1"}}}, "ns=4"), 409,
              "conflict");
  EXPECT_EQ(server_->Get(KeyPath("bc:exists", "ns=4")).body, "old");
  // ifMatch with the current revision (as a string: JavaScript's numbers cannot hold it).
  const std::string rev = server_->Get(KeyPath("bc:exists", "ns=4")).Header("X-KV-Revision");
  EXPECT_EQ(Batch({{{"op", "set"}, {"key", "bc:exists"}, {"value", B64("cas")}, {"ifMatch", rev}}},
                  "ns=4")
                .status,
            200);
  EXPECT_EQ(server_->Get(KeyPath("bc:exists", "ns=4")).body, "cas");
  // incr on a non-integer: 400 naming the op.
  HttpReply bad_incr = Batch({{{"op", "incr"}, {"key", "bc:exists"}}}, "ns=4");
  ExpectError(bad_incr, 400, "invalid_request");
}

TEST_F(HttpApiTest, MalformedBatchesAre400AndApplyNothing) {
  const std::vector<std::string> bodies = {
      "",
      "{",
      "not json",
      R"({"op":"get","key":"k"})",
      "[1,2]",
      R"([{"op":"set","key":"bm:a","value":"QQ"},{"op":"set","key":"bm:b","value":"!!"}])",
      R"([{"op":"set","key":"bm:a","value":"QQ"},{"op":"frobnicate","key":"k"}])",
      R"([{"op":"set","key":"bm:a","value":"QQ"},{"op":"get"}])",
      R"([{"op":"set","key":"bm:a","value":"QQ","ttl":"10"}])",
      R"([{"op":"set","key":"bm:a","value":"QQ","bogus":1}])",
      "[\"\xff\"]",
  };
  for (const std::string& body : bodies) {
    HttpReply r = Send("POST", "/v1/kv/batch", {{"Content-Type", "application/json"}}, body);
    ExpectError(r, 400, "invalid_request");
  }
  EXPECT_EQ(server_->Get(KeyPath("bm:a")).status, 404);
  ExpectError(Send("POST", "/v1/kv/batch?ns=1&x=2", {}, "[]"), 400, "invalid_request");
}

// --- Parameters, routes, health --------------------------------------------------------------

TEST_F(HttpApiTest, BadQueryParametersAre400OnEveryRoute) {
  MustPut("q:k", "v");
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/v1/kv/q:k"},    {"HEAD", "/v1/kv/q:k"},
      {"PUT", "/v1/kv/q:k"},    {"DELETE", "/v1/kv/q:k"},
      {"PATCH", "/v1/kv/q:k"},  {"POST", "/v1/kv/q:k/incr"},
      {"GET", "/v1/kv"},        {"DELETE", "/v1/kv"},
      {"POST", "/v1/kv/batch"}, {"POST", "/v1/admin/compact"},
      {"GET", "/livez"},        {"GET", "/readyz"},
      {"GET", "/metrics"}};
  for (const auto& [method, path] : routes) {
    for (const char* query : {"bogus=1", "ns=16", "ns=-1", "ns=abc", "ns=1&ns=2", "ns=%zz"}) {
      HttpReply r = Send(method, path + "?" + query, {}, method == "POST" ? "[]" : "");
      EXPECT_EQ(r.status, 400) << method << " " << path << "?" << query << ": " << r.body;
      if (method != "HEAD") ExpectError(r, 400, "invalid_request");
    }
  }
  // Health routes take (and ignore) a valid ns, as clients send it on every request.
  for (const char* health : {"/livez?ns=3", "/readyz?ns=0", "/metrics?ns=15"}) {
    EXPECT_EQ(server_->Get(health).status, 200) << health;
  }
  EXPECT_EQ(server_->Get(KeyPath("q:k")).body, "v");  // nothing was written or deleted
  // ns bounds.
  EXPECT_EQ(Send("PUT", KeyPath("q:k", "ns=15"), {}, "v15").status, 204);
  EXPECT_EQ(server_->Get(KeyPath("q:k", "ns=15")).body, "v15");
  EXPECT_EQ(server_->Get(KeyPath("q:k", "ns=0")).body, "v");
}

TEST_F(HttpApiTest, RequestsWithoutContentLengthHaveNoBody) {
  // As curl -X POST / -X DELETE / -X PUT send them.
  for (const std::string& request :
       {std::string("POST /v1/kv/nocl/incr?delta=2 HTTP/1.1\r\nHost: t\r\n\r\n"),
        std::string("PUT /v1/kv/nocl2 HTTP/1.1\r\nHost: t\r\n\r\n"),
        std::string("DELETE /v1/kv/nocl2 HTTP/1.1\r\nHost: t\r\n\r\n"),
        std::string("POST /v1/admin/compact HTTP/1.1\r\nHost: t\r\n\r\n"),
        std::string("PATCH /v1/kv/nocl?ttl=50 HTTP/1.1\r\nHost: t\r\n\r\n")}) {
    const std::string reply = RawExchange(server_->http_port(), request, 3000);
    EXPECT_TRUE(reply.rfind("HTTP/1.1 200", 0) == 0 || reply.rfind("HTTP/1.1 204", 0) == 0)
        << request << " -> " << reply;
  }
  EXPECT_EQ(server_->Get(KeyPath("nocl")).body, "2");
  EXPECT_TRUE(TtlNear(server_->Get(KeyPath("nocl")).Header("X-KV-TTL"), 50));
}

TEST_F(HttpApiTest, UnknownRoutesAndMethods) {
  ExpectError(server_->Get("/v2/kv/x"), 404, "not_found");
  ExpectError(server_->Get("/"), 404, "not_found");
  HttpReply r = Send("POST", "/v1/kv/some-key", {}, "x");
  ExpectError(r, 405, "method_not_allowed");
  EXPECT_EQ(r.Header("Allow"), "GET, HEAD, PUT, DELETE, PATCH");
  ExpectError(Send("PUT", "/v1/kv", {}, "x"), 405, "method_not_allowed");
  ExpectError(server_->Get("/v1/admin/compact"), 405, "method_not_allowed");
  ExpectError(Send("OPTIONS", "/v1/kv/k"), 405, "method_not_allowed");
}

// The SSE watch routes in brief (tests/differential/sse_test.py has the rest).
TEST_F(HttpApiTest, WatchRoutesStreamServerSentEvents) {
  const std::string key = "w/k 1";
  HttpReply put = server_->Put(KeyPath(key, "ns=2"), "v");
  ASSERT_EQ(put.status, 204);
  const std::string rev = put.Header("X-KV-Revision");
  HttpReply r = server_->OpenStream("/v1/watch/" + Encode(key) + "?ns=2", "\"ready\"");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "text/event-stream");
  EXPECT_EQ(r.Header("Cache-Control"), "no-cache");
  EXPECT_EQ(r.body, "id: " + rev + "\ndata: {\"type\":\"set\",\"key\":\"w/k 1\",\"value\":\"" +
                        B64("v") + "\",\"revision\":" + rev + "}\n\ndata: {\"type\":\"ready\"}\n\n");
  r = server_->OpenStream("/v1/watch?ns=2&prefix=w%2F", "\n\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "data: {\"type\":\"ready\"}\n\n");
  r = server_->OpenStream("/v1/watch?ns=2&prefix=w%2F&since=0", "\"ready\"",
                          {{"Last-Event-ID", rev}});
  EXPECT_EQ(r.body, "data: {\"type\":\"ready\"}\n\n");  // nothing after `rev`
  ExpectError(server_->Get("/v1/watch/k?prefix=p"), 400, "invalid_request");
  ExpectError(server_->Get("/v1/watch?ns=2&since=x"), 400, "invalid_request");
  ExpectError(server_->Get("/v1/watch?ns=16"), 400, "invalid_request");
  ExpectError(server_->Get("/v1/watch/k", {{"Last-Event-ID", "-1"}}), 400, "invalid_request");
  ExpectError(Send("DELETE", "/v1/watch/k"), 405, "method_not_allowed");
}

TEST_F(HttpApiTest, LivezAndReadyz) {
  HttpReply live = server_->Get("/livez");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.body, "ok\n");
  HttpReply ready = server_->Get("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready\n");
}

// --- A shard that is down: 503, never a hang ----------------------------------------------

TEST_F(HttpApiTest, ADownShardIs503UntilItIsBack) {
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    const std::string k = "down:" + std::to_string(i);
    if (shardlink::ShardForKey(k, kShards) == 1) key = k;
  }
  MustPut(key, "v");
  const std::vector<pid_t> supervisor =
      FindProcesses({"beyond-kv", "--http-port=" + std::to_string(server_->http_port()) + " "});
  const std::vector<pid_t> shard =
      FindProcesses({"kv-shard", "--shard-id=1 ", "--data-dir=" + server_->data_dir() + " "});
  ASSERT_EQ(supervisor.size(), 1u);
  ASSERT_EQ(shard.size(), 1u);
  // Keep the supervisor from restarting the shard while we look.
  kill(supervisor[0], SIGSTOP);
  kill(shard[0], SIGKILL);
  const auto start = std::chrono::steady_clock::now();
  HttpReply down;
  for (int i = 0; i < 100; ++i) {
    down = server_->Get(KeyPath(key));
    if (down.status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const HttpReply readyz = server_->Get("/readyz");
  std::string other_key;  // a key of shard 0
  for (int i = 0; other_key.empty(); ++i) {
    const std::string k = "up:" + std::to_string(i);
    if (shardlink::ShardForKey(k, kShards) == 0) other_key = k;
  }
  const HttpReply other = server_->Put(KeyPath(other_key), "v");
  kill(supervisor[0], SIGCONT);
  ExpectError(down, 503, "unavailable");
  EXPECT_NE(down.body.find("shard 1"), std::string::npos) << down.body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ExpectError(readyz, 503, "unavailable");
  EXPECT_NE(readyz.body.find("shard 1"), std::string::npos) << readyz.body;
  EXPECT_EQ(other.status, 204);  // the other shards still serve

  HttpReply back;
  for (int i = 0; i < 250; ++i) {
    back = server_->Get(KeyPath(key));
    if (back.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(back.body, "v");  // --fsync=never still wrote it to the kernel
  EXPECT_EQ(server_->Get("/readyz").status, 200);
}

// --- Authentication and body limits: a second server ----------------------------------------

class HttpAuthLimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    HttpServerOptions options;
    options.shards = 2;
    options.token = "s3cr3t-t0ken";
    options.max_value_bytes = 1024;
    server_ = new HttpTestServer(options);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->Log(); }
  static HttpTestServer* server_;
};

HttpTestServer* HttpAuthLimitsTest::server_ = nullptr;

TEST_F(HttpAuthLimitsTest, EveryRouteButHealthNeedsTheToken) {
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/v1/kv/k"},         {"PUT", "/v1/kv/k"},       {"DELETE", "/v1/kv/k"},
      {"PATCH", "/v1/kv/k?ttl=1"}, {"POST", "/v1/kv/k/incr"}, {"GET", "/v1/kv"},
      {"DELETE", "/v1/kv"},        {"POST", "/v1/kv/batch"},  {"POST", "/v1/admin/compact"},
      {"GET", "/metrics"},         {"GET", "/v1/watch/k"},    {"GET", "/nowhere"}};
  for (const auto& [method, path] : routes) {
    for (const char* auth : {"", "Bearer wrong", "Basic czNjcjN0LXQwa2Vu", "Bearer s3cr3t-t0ke"}) {
      httplib::Headers headers;
      if (*auth != '\0') headers.emplace("Authorization", auth);
      HttpReply r = server_->Send(method, path, headers, "", /*with_token=*/false);
      ExpectError(r, 401, "unauthorized");
      EXPECT_EQ(r.Header("WWW-Authenticate"), "Bearer realm=\"beyond-kv\"") << method << path;
    }
  }
  EXPECT_EQ(server_->Get(KeyPath("k")).status, 404);  // nothing was written
  EXPECT_EQ(server_->Put(KeyPath("k"), "v").status, 204);
  EXPECT_EQ(server_->Get(KeyPath("k")).body, "v");
  EXPECT_EQ(
      server_->Send("GET", KeyPath("k"), {{"Authorization", "bearer s3cr3t-t0ken"}}, "", false)
          .status,
      200);
  for (const char* health : {"/livez", "/readyz"}) {
    EXPECT_EQ(server_->Send("GET", health, {}, "", /*with_token=*/false).status, 200) << health;
  }
  EXPECT_EQ(server_->Get("/metrics").status, 200);
  // With Expect: 100-continue the token is checked before the client sends the body.
  const std::string expect =
      "PUT /v1/kv/k HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
  const std::string reply = RawExchange(server_->http_port(), expect, 1000);
  EXPECT_EQ(reply.rfind("HTTP/1.1 401", 0), 0u) << reply;
  EXPECT_NE(reply.find("unauthorized"), std::string::npos) << reply;
}

TEST_F(HttpAuthLimitsTest, BodiesOverTheLimitAre413) {
  EXPECT_EQ(server_->Put(KeyPath("lim:max"), std::string(1024, 'x')).status, 204);
  EXPECT_EQ(server_->Get(KeyPath("lim:max")).body.size(), 1024u);
  HttpReply big = server_->Put(KeyPath("lim:big"), std::string(1025, 'x'));
  ExpectError(big, 413, "payload_too_large");
  EXPECT_EQ(server_->Get(KeyPath("lim:big")).status, 404);
  ExpectError(server_->Send("POST", "/v1/kv/batch", {{"Content-Type", "application/json"}},
                            "[" + std::string(2000, ' ') + "]"),
              413, "payload_too_large");

  const std::string auth = "Authorization: Bearer s3cr3t-t0ken\r\n";
  // Chunked: cut off at the limit without reading the rest.
  std::string chunked = "PUT /v1/kv/lim:chunked HTTP/1.1\r\nHost: t\r\n" + auth +
                        "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) chunked += "190\r\n" + std::string(400, 'c') + "\r\n";
  chunked += "0\r\n\r\n";
  std::string reply = RawExchange(server_->http_port(), chunked);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  EXPECT_NE(reply.find("payload_too_large"), std::string::npos);
  EXPECT_NE(reply.find("Connection: close"), std::string::npos);
  // Expect: 100-continue with a large Content-Length: refused before the body is sent.
  std::string expect = "PUT /v1/kv/lim:expect HTTP/1.1\r\nHost: t\r\n" + auth +
                       "Content-Length: 100000000\r\nExpect: 100-continue\r\n\r\n";
  reply = RawExchange(server_->http_port(), expect, 1000);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  EXPECT_EQ(reply.find("100 Continue"), std::string::npos) << reply;
  // A small announced body with Expect: 100-continue is welcomed.
  std::string small = "PUT /v1/kv/lim:small HTTP/1.1\r\nHost: t\r\n" + auth +
                      "Content-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nabc";
  reply = RawExchange(server_->http_port(), small);
  EXPECT_NE(reply.find("204"), std::string::npos) << reply;
  EXPECT_EQ(server_->Get(KeyPath("lim:small")).body, "abc");
  // The server still serves after all that.
  EXPECT_EQ(server_->Get("/readyz").status, 200);
}

// --- Lifecycle ---------------------------------------------------------------------------

TEST(HttpGatewayLifecycleTest, StopsCleanlyOnSigtermWithAnIdleKeepAliveConnection) {
  // An idle keep-alive connection holds its worker until the idle timeout: 1 s here.
  HttpServerOptions options;
  options.extra_args = {"--idle-timeout-secs=1"};
  HttpTestServer server(options);
  ASSERT_TRUE(server.ok()) << server.Log();
  ASSERT_EQ(server.Put(KeyPath("life"), "v").status, 204);
  httplib::Client idle("127.0.0.1", server.http_port());  // holds a worker thread
  idle.set_keep_alive(true);
  ASSERT_TRUE(idle.Get("/livez"));
  const auto start = std::chrono::steady_clock::now();
  const int status = server.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  ASSERT_TRUE(WIFEXITED(status)) << status << server.Log();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const std::string log = server.Log();
  EXPECT_NE(log.find("kv-http-gateway"), std::string::npos);
  EXPECT_NE(log.find("HTTP gateway (pid"), std::string::npos);
  EXPECT_EQ(log.find("did not stop within"), std::string::npos) << log;
  EXPECT_EQ(log.find("stopped: "), std::string::npos) << log;  // every child exited 0
}

}  // namespace
}  // namespace beyondkv::testing
