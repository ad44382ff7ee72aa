// HTTP and RESP are two doors to the same keyspaces: `?ns=N` over HTTP is `SELECT N` over
// RESP. Writes through one are read through the other, with values, TTLs, revisions,
// counters, listings and flushes, in several namespaces, against a real beyond-kv.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/http_test_server.h"

namespace beyondkv::testing {
namespace {

using nlohmann::json;

const int kNamespaces[] = {0, 5, 15};

// A remaining TTL of `expected` seconds, read just after it was set: Redis rounds to the
// nearest second, so a slow moment may show one less.
bool TtlNear(const std::string& text, int64_t expected) {
  const std::string digits = text.rfind("(integer) ", 0) == 0 ? text.substr(10) : text;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  const int64_t ttl = std::stoll(digits);
  return ttl == expected || ttl == expected - 1;
}

class HttpInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new HttpTestServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->ok()) << server_->Log();
    redis_ = server_->Redis();
    ASSERT_NE(redis_, nullptr);
  }
  std::string Resp(const std::vector<std::string>& argv) { return Command(redis_.get(), argv); }
  void Select(int ns) { ASSERT_EQ(Resp({"SELECT", std::to_string(ns)}), "OK"); }
  static std::string Ns(int ns) { return "ns=" + std::to_string(ns); }

  static HttpTestServer* server_;
  RedisConn redis_{nullptr, redisFree};
};

HttpTestServer* HttpInteropTest::server_ = nullptr;

TEST_F(HttpInteropTest, ValuesCrossBothWaysPerNamespace) {
  const std::string binary("\0\x01\xff\r\n", 5);
  for (int ns : kNamespaces) {
    const std::string v = "http-" + std::to_string(ns);
    ASSERT_EQ(server_->Put(KeyPath("io:a", Ns(ns)), v).status, 204);
    Select(ns);
    EXPECT_EQ(Resp({"GET", "io:a"}), "\"" + v + "\"");
    EXPECT_EQ(Resp({"SET", "io:b", "resp-" + std::to_string(ns)}), "OK");
    EXPECT_EQ(Resp({"SET", "io:bin", binary}), "OK");
    EXPECT_EQ(server_->Get(KeyPath("io:b", Ns(ns))).body, "resp-" + std::to_string(ns));
    EXPECT_EQ(server_->Get(KeyPath("io:bin", Ns(ns))).body, binary);
  }
  // Each namespace kept its own value.
  for (int ns : kNamespaces) {
    Select(ns);
    EXPECT_EQ(Resp({"GET", "io:a"}), "\"http-" + std::to_string(ns) + "\"");
  }
  Select(3);
  EXPECT_EQ(Resp({"GET", "io:a"}), "(nil)");
  EXPECT_EQ(server_->Get(KeyPath("io:a", "ns=3")).status, 404);

  // Deletes, both ways.
  Select(5);
  EXPECT_EQ(Resp({"DEL", "io:a"}), "(integer) 1");
  EXPECT_EQ(server_->Get(KeyPath("io:a", "ns=5")).status, 404);
  EXPECT_EQ(server_->Send("DELETE", KeyPath("io:b", "ns=5")).status, 204);
  EXPECT_EQ(Resp({"GET", "io:b"}), "(nil)");
  EXPECT_EQ(Resp({"EXISTS", "io:a", "io:b", "io:bin"}), "(integer) 1");
  EXPECT_EQ(server_->Send("HEAD", KeyPath("io:bin", "ns=5")).status, 200);
}

TEST_F(HttpInteropTest, TtlsAgree) {
  for (int ns : kNamespaces) {
    Select(ns);
    EXPECT_EQ(Resp({"SET", "ttl:r", "v", "EX", "100"}), "OK");
    EXPECT_TRUE(TtlNear(server_->Get(KeyPath("ttl:r", Ns(ns))).Header("X-KV-TTL"), 100));
    ASSERT_EQ(server_->Put(KeyPath("ttl:h", Ns(ns) + "&ttl=50"), "v").status, 204);
    EXPECT_TRUE(TtlNear(Resp({"TTL", "ttl:h"}), 50));
    ASSERT_EQ(server_->Send("PATCH", KeyPath("ttl:h", Ns(ns) + "&persist=1")).status, 204);
    EXPECT_EQ(Resp({"TTL", "ttl:h"}), "(integer) -1");
    EXPECT_EQ(Resp({"EXPIRE", "ttl:h", "30"}), "(integer) 1");
    EXPECT_TRUE(TtlNear(server_->Get(KeyPath("ttl:h", Ns(ns))).Header("X-KV-TTL"), 30));
    ASSERT_EQ(server_->Send("PATCH", KeyPath("ttl:h", Ns(ns) + "&ttl_ms=70000")).status, 204);
    EXPECT_TRUE(TtlNear(Resp({"TTL", "ttl:h"}), 70));
  }
}

TEST_F(HttpInteropTest, RevisionsAndCompareAndSetAgree) {
  for (int ns : kNamespaces) {
    Select(ns);
    HttpReply put = server_->Put(KeyPath("rev:k", Ns(ns)), "v1");
    ASSERT_EQ(put.status, 204);
    const std::string rev = put.Header("X-KV-Revision");
    EXPECT_EQ(Resp({"REVISION", "rev:k"}), "(integer) " + rev);
    // SETREV with the revision HTTP reported, then If-Match with the one RESP reports.
    const std::string setrev = Resp({"SETREV", "rev:k", "v2", rev});
    ASSERT_EQ(setrev.rfind("(integer) ", 0), 0u) << setrev;
    const std::string rev2 = setrev.substr(10);
    EXPECT_EQ(server_->Get(KeyPath("rev:k", Ns(ns))).Header("X-KV-Revision"), rev2);
    EXPECT_EQ(server_->Put(KeyPath("rev:k", Ns(ns)), "v3", {{"If-Match", rev}}).status, 409);
    EXPECT_EQ(server_->Put(KeyPath("rev:k", Ns(ns)), "v3", {{"If-Match", rev2}}).status, 204);
    EXPECT_EQ(Resp({"GET", "rev:k"}), "\"v3\"");
    EXPECT_EQ(Resp({"SETREV", "rev:k", "v4", rev2}).rfind("(error) CONFLICT", 0), 0u);
  }
}

TEST_F(HttpInteropTest, CountersAgree) {
  for (int ns : kNamespaces) {
    Select(ns);
    HttpReply r = server_->Send("POST", "/v1/kv/ctr/incr?" + Ns(ns) + "&delta=10");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(Resp({"INCRBY", "ctr", "5"}), "(integer) 15");
    EXPECT_EQ(json::parse(server_->Send("POST", "/v1/kv/ctr/incr?" + Ns(ns)).body),
              json({{"value", 16}}));
    EXPECT_EQ(Resp({"GET", "ctr"}), "\"16\"");
    EXPECT_EQ(Resp({"SET", "ctr:text", "x"}), "OK");
    EXPECT_EQ(server_->Send("POST", "/v1/kv/ctr%3Atext/incr?" + Ns(ns)).status, 400);
  }
}

TEST_F(HttpInteropTest, ListingsCountsAndFlushesAgree) {
  for (int ns : {7, 11}) {
    Select(ns);
    for (int i = 0; i < 30; ++i) {
      const std::string key = "l:" + std::to_string(i);
      if (i % 2 == 0) {
        ASSERT_EQ(Resp({"SET", key, "r"}), "OK");
      } else {
        ASSERT_EQ(server_->Put(KeyPath(key, Ns(ns)), "h").status, 204);
      }
    }
    json count = json::parse(server_->Get("/v1/kv?" + Ns(ns) + "&count=1").body);
    EXPECT_EQ(Resp({"DBSIZE"}), "(integer) " + std::to_string(count["count"].get<int>()));
    EXPECT_EQ(count["count"], 30);
    json list = json::parse(server_->Get("/v1/kv?" + Ns(ns) + "&limit=1000").body);
    std::vector<std::string> http_keys;
    for (const json& item : list["keys"]) http_keys.push_back(item["name"]);
    std::vector<std::string> resp_keys;
    std::string keys = Resp({"KEYS", "*"});  // "[\"a\", \"b\"]"
    for (size_t pos = 0; (pos = keys.find('"', pos)) != std::string::npos;) {
      const size_t end = keys.find('"', pos + 1);
      resp_keys.push_back(keys.substr(pos + 1, end - pos - 1));
      pos = end + 1;
    }
    std::sort(resp_keys.begin(), resp_keys.end());
    EXPECT_EQ(http_keys, resp_keys);
  }
  // FLUSHDB over RESP empties what HTTP sees; DELETE /v1/kv empties what RESP sees.
  Select(7);
  EXPECT_EQ(Resp({"FLUSHDB"}), "OK");
  EXPECT_EQ(json::parse(server_->Get("/v1/kv?ns=7&count=1").body), json({{"count", 0}}));
  EXPECT_EQ(server_->Send("DELETE", "/v1/kv?ns=11").status, 204);
  Select(11);
  EXPECT_EQ(Resp({"DBSIZE"}), "(integer) 0");
}

TEST_F(HttpInteropTest, BatchWritesAreSeenByResp) {
  json ops = json::array();
  for (int i = 0; i < 20; ++i) {
    ops.push_back({{"op", "set"},
                   {"key", "bw:" + std::to_string(i)},
                   {"value", B64("b" + std::to_string(i))}});
  }
  HttpReply r = server_->Send("POST", "/v1/kv/batch?ns=15", {{"Content-Type", "application/json"}},
                              ops.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  Select(15);
  std::vector<std::string> argv = {"MGET"};
  std::string expected = "[";
  for (int i = 0; i < 20; ++i) {
    argv.push_back("bw:" + std::to_string(i));
    expected += (i ? ", \"b" : "\"b") + std::to_string(i) + "\"";
  }
  EXPECT_EQ(Resp(argv), expected + "]");
  EXPECT_EQ(Resp({"SET", "bw:resp", "from-resp"}), "OK");
  json out =
      json::parse(server_
                      ->Send("POST", "/v1/kv/batch?ns=15", {{"Content-Type", "application/json"}},
                             R"([{"op":"get","key":"bw:resp"}])")
                      .body);
  EXPECT_EQ(UnB64(out[0]["value"].get<std::string>()), "from-resp");
}

}  // namespace
}  // namespace beyondkv::testing
