// docs/openapi.json cannot drift from the server: live responses of a real beyond-kv are
// checked against it (statuses, headers, content types, JSON schemas), and every status the
// document lists for every operation must have been produced by the server at least once.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "gateway/shardlink/router.h"
#include "tests/http_test_server.h"
#include "tests/openapi_validator.h"

namespace beyondkv::testing {
namespace {

using nlohmann::json;

constexpr int kShards = 3;
constexpr char kToken[] = "openapi-token";

json LoadDocument() {
  for (const std::string& path :
       {RunfilePath("docs/openapi.json"), std::string("docs/openapi.json")}) {
    std::ifstream in(path);
    if (in) return json::parse(in);
  }
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::ifstream in(std::string(srcdir ? srcdir : ".") + "/beyondkv/docs/openapi.json");
  return json::parse(in);
}

// A key of `shard`.
std::string KeyOn(uint32_t shard, const std::string& prefix) {
  for (int i = 0;; ++i) {
    const std::string key = prefix + std::to_string(i);
    if (shardlink::ShardForKey(key, kShards) == shard) return key;
  }
}

class HttpOpenApiTest : public ::testing::Test {
 protected:
  void StartServer() {
    HttpServerOptions options;
    options.shards = kShards;
    options.token = kToken;
    options.max_value_bytes = 4096;
    server_ = std::make_unique<HttpTestServer>(options);
    ASSERT_TRUE(server_->ok()) << server_->Log();
  }

  // Sends, checks the exchange against the document, and returns the reply.
  HttpReply Call(const std::string& method, const std::string& target,
                 const httplib::Headers& headers = {}, const std::string& body = "",
                 bool with_token = true) {
    HttpReply reply = server_->Send(method, target, headers, body, with_token);
    for (const std::string& error : validator_.CheckExchange(method, target, body, reply)) {
      ADD_FAILURE() << error;
    }
    return reply;
  }
  HttpReply Expect(int status, const std::string& method, const std::string& target,
                   const httplib::Headers& headers = {}, const std::string& body = "",
                   bool with_token = true) {
    HttpReply reply = Call(method, target, headers, body, with_token);
    EXPECT_EQ(reply.status, status) << method << " " << target << ": " << reply.body;
    return reply;
  }

  // Opens an SSE watch stream, reads it until `until`, and checks the exchange and each
  // event's JSON (WatchEvent); expects at least `min_events` events.
  void Stream(const std::string& target, const std::string& until, size_t min_events) {
    HttpReply reply = server_->OpenStream(target, until);
    EXPECT_EQ(reply.status, 200) << target << ": " << reply.body;
    for (const std::string& error : validator_.CheckExchange("GET", target, "", reply)) {
      ADD_FAILURE() << error;
    }
    size_t events = 0;
    const json schema = {{"$ref", "#/components/schemas/WatchEvent"}};
    for (size_t at = 0; (at = reply.body.find("data: ", at)) != std::string::npos;) {
      const size_t end = reply.body.find('\n', at);
      const json event = json::parse(reply.body.substr(at + 6, end - at - 6), nullptr, false);
      for (const std::string& error : validator_.CheckSchema(schema, event, target)) {
        ADD_FAILURE() << error;
      }
      ++events;
      at = end;
    }
    EXPECT_GE(events, min_events) << target << ": " << reply.body;
  }

  OpenApiValidator validator_{LoadDocument()};
  std::unique_ptr<HttpTestServer> server_;
};

TEST_F(HttpOpenApiTest, TheDocumentParsesAndItsSchemasAreSelfConsistent) {
  json doc = LoadDocument();
  EXPECT_EQ(doc["openapi"], "3.1.0");
  // Our schemas accept what the contract's examples show.
  OpenApiValidator v(doc);
  EXPECT_TRUE(v.CheckSchema({{"$ref", "#/components/schemas/ErrorResponse"}},
                            json::parse(R"({"error":{"code":"conflict","message":"m"}})"))
                  .empty());
  EXPECT_FALSE(v.CheckSchema({{"$ref", "#/components/schemas/ErrorResponse"}},
                             json::parse(R"({"error":{"code":"conflict"}})"))
                   .empty());
  EXPECT_TRUE(v.CheckSchema({{"$ref", "#/components/schemas/BatchRequest"}},
                            json::parse(R"([{"op":"set","key":"k","value":"QQ","ttl":5},
                                            {"op":"get","key":"k"},{"op":"incr","key":"n","delta":2},
                                            {"op":"delete","key":"k","ifMatch":"12"},
                                            {"op":"exists","key":"k"}])"))
                  .empty());
  EXPECT_FALSE(v.CheckSchema({{"$ref", "#/components/schemas/BatchRequest"}},
                             json::parse(R"([{"op":"get","key":"k","x":1}])"))
                   .empty());
}

TEST_F(HttpOpenApiTest, TheCheckerCatchesDrift) {
  json doc = LoadDocument();
  doc["paths"]["/v1/kv/{key}"]["get"]["responses"]["200"]["headers"].erase("X-KV-TTL");
  OpenApiValidator v(doc);
  HttpReply ok;
  ok.status = 200;
  ok.headers = {{"X-KV-Revision", "12"}, {"Content-Type", "application/octet-stream"}};
  EXPECT_TRUE(v.CheckExchange("GET", "/v1/kv/k", "", ok).empty());
  HttpReply with_ttl = ok;
  with_ttl.headers.emplace("X-KV-TTL", "5");
  EXPECT_EQ(v.CheckExchange("GET", "/v1/kv/k", "", with_ttl).size(), 1u);  // undocumented
  HttpReply no_rev = ok;
  no_rev.headers.erase("X-KV-Revision");
  EXPECT_EQ(v.CheckExchange("GET", "/v1/kv/k", "", no_rev).size(), 1u);  // required
  HttpReply bad_rev = ok;
  bad_rev.headers = {{"X-KV-Revision", "x"}, {"Content-Type", "application/octet-stream"}};
  EXPECT_EQ(v.CheckExchange("GET", "/v1/kv/k", "", bad_rev).size(), 1u);
  HttpReply teapot = ok;
  teapot.status = 418;
  EXPECT_EQ(v.CheckExchange("GET", "/v1/kv/k", "", teapot).size(), 1u);
  HttpReply wrong_type = ok;
  wrong_type.headers = {{"X-KV-Revision", "1"}, {"Content-Type", "text/html"}};
  EXPECT_EQ(v.CheckExchange("GET", "/v1/kv/k", "", wrong_type).size(), 1u);
  HttpReply incr;
  incr.status = 200;
  incr.headers = {{"X-KV-Revision", "3"}, {"Content-Type", "application/json"}};
  incr.body = R"({"value":"3"})";
  EXPECT_EQ(v.CheckExchange("POST", "/v1/kv/k/incr", "", incr).size(), 1u);
  incr.body = R"({"value":3})";
  EXPECT_TRUE(v.CheckExchange("POST", "/v1/kv/k/incr", "", incr).empty());
  EXPECT_EQ(v.CheckExchange("POST", "/v1/kv/k/incr?step=2", "", incr).size(), 1u);
  EXPECT_EQ(v.CheckExchange("GET", "/v2/nothing", "", ok).size(), 1u);
  EXPECT_FALSE(v.Uncovered().empty());
}

TEST_F(HttpOpenApiTest, LiveResponsesMatchTheDocumentAndCoverIt) {
  StartServer();
  if (HasFatalFailure()) return;
  const std::string key = KeyOn(0, "oa:k");
  const std::string down_key = KeyOn(1, "oa:d");
  const httplib::Headers none;
  const bool no_token = false;

  // Health and metrics.
  Expect(200, "GET", "/livez", none, "", no_token);
  Expect(400, "GET", "/livez?verbose=1", none, "", no_token);
  Expect(200, "GET", "/readyz", none, "", no_token);
  Expect(400, "GET", "/readyz?verbose=1", none, "", no_token);
  Expect(200, "GET", "/metrics");
  Expect(400, "GET", "/metrics?format=json");
  Expect(401, "GET", "/metrics", none, "", no_token);

  // PUT.
  Expect(204, "PUT", KeyPath(key, "ttl=100"), {{"X-KV-Metadata", R"({"a":[1,2]})"}}, "v1");
  Expect(204, "PUT", KeyPath(key + "x", "ttl_ms=5000&nx=1"), {{"X-KV-TTL-MS", "9000"}}, "v");
  Expect(409, "PUT", KeyPath(key, "nx=1"), none, "v");
  Expect(200, "PUT", KeyPath(key, "ttl=100"), {{"X-KV-Return-Old", "1"}, {"X-KV-Metadata", "7"}},
         "v2");
  Expect(413, "PUT", KeyPath(key), none, std::string(5000, 'x'));
  Expect(400, "PUT", KeyPath(key, "bogus=1"), none, "v");
  Expect(401, "PUT", KeyPath(key), none, "v", no_token);
  // GET and HEAD.
  const HttpReply get = Expect(200, "GET", KeyPath(key));
  Expect(404, "GET", KeyPath("oa:missing"));
  Expect(400, "GET", KeyPath(key, "ns=99"));
  Expect(401, "GET", KeyPath(key), none, "", no_token);
  Expect(200, "HEAD", KeyPath(key));
  Expect(404, "HEAD", KeyPath("oa:missing"));
  Expect(400, "HEAD", KeyPath(key, "ns=99"));
  Expect(401, "HEAD", KeyPath(key), none, "", no_token);
  // PATCH.
  Expect(204, "PATCH", KeyPath(key, "ttl=300"));
  Expect(200, "PATCH", KeyPath(key, "ttl_ms=300000"), {{"X-KV-Return-Value", "1"}});
  Expect(200, "PATCH", KeyPath(key, "persist=1"), {{"X-KV-Return-Value", "1"}});
  Expect(404, "PATCH", KeyPath("oa:missing", "ttl=1"));
  Expect(400, "PATCH", KeyPath(key));
  Expect(401, "PATCH", KeyPath(key, "ttl=1"), none, "", no_token);
  // incr.
  Expect(200, "POST", "/v1/kv/oa%3Actr/incr?delta=3");
  Expect(400, "POST", "/v1/kv/" + Encode(key) + "/incr");
  Expect(401, "POST", "/v1/kv/oa%3Actr/incr", none, "", no_token);
  // DELETE.
  const std::string rev = get.Header("X-KV-Revision");
  Expect(409, "DELETE", KeyPath(key), {{"If-Match", "1"}});
  Expect(200, "DELETE", KeyPath(key + "x"), {{"X-KV-Return-Old", "1"}});
  Expect(204, "DELETE", KeyPath(key));
  Expect(400, "DELETE", KeyPath(key, "ns=x"));
  Expect(401, "DELETE", KeyPath(key), none, "", no_token);
  // Listing, counting, flushing, compaction.
  for (int i = 0; i < 5; ++i)
    Expect(204, "PUT", KeyPath("oa:l" + std::to_string(i), "ns=13"), none, "v");
  const HttpReply page = Expect(200, "GET", "/v1/kv?ns=13&prefix=oa%3Al&limit=2");
  EXPECT_TRUE(json::parse(page.body).contains("next_cursor"));
  Expect(200, "GET", "/v1/kv?ns=13&count=1");
  Expect(400, "GET", "/v1/kv?cursor=nope");
  Expect(401, "GET", "/v1/kv", none, "", no_token);
  Expect(204, "DELETE", "/v1/kv?ns=13");
  Expect(400, "DELETE", "/v1/kv?ns=x");
  Expect(401, "DELETE", "/v1/kv", none, "", no_token);
  Expect(204, "POST", "/v1/admin/compact");
  Expect(400, "POST", "/v1/admin/compact?ns=-1");
  Expect(401, "POST", "/v1/admin/compact", none, "", no_token);
  // Batch.
  const httplib::Headers json_type = {{"Content-Type", "application/json"}};
  Expect(204, "PUT", KeyPath("oa:b1"), {{"X-KV-TTL", "60"}, {"X-KV-Metadata", "{\"m\":true}"}},
         "b");
  Expect(200, "POST", "/v1/kv/batch", json_type,
         R"([{"op":"set","key":"oa:b0","value":"QUJD","ttlMs":60000,"metadata":[1]},
             {"op":"get","key":"oa:b0"},{"op":"get","key":"oa:b1"},{"op":"get","key":"oa:none"},
             {"op":"exists","key":"oa:b0"},{"op":"incr","key":"oa:bn","delta":2},
             {"op":"delete","key":"oa:b1","returnOld":true},{"op":"delete","key":"oa:b0"}])");
  Expect(409, "POST", "/v1/kv/batch", json_type,
         R"([{"op":"set","key":"oa:b2","value":"","xx":true}])");
  Expect(400, "POST", "/v1/kv/batch", json_type, R"([{"op":"nope","key":"k"}])");
  Expect(413, "POST", "/v1/kv/batch", json_type, "[" + std::string(5000, ' ') + "]");
  Expect(401, "POST", "/v1/kv/batch", json_type, "[]", no_token);
  // Watch: the stream's head, and every event's JSON against WatchEvent.
  const std::string before = std::to_string(
      std::stoull(Expect(204, "PUT", KeyPath("oa:w"),
                         {{"X-KV-TTL", "60"}, {"X-KV-Metadata", "{\"m\":1}"}}, "w")
                      .Header("X-KV-Revision")) -
      1);
  Stream("/v1/watch/oa%3Aw?ns=0", "\"ready\"", 2);
  Stream("/v1/watch?ns=0&prefix=oa%3A&since=" + before, "\"ready\"", 2);
  Expect(204, "DELETE", KeyPath("oa:w"));
  Stream("/v1/watch?prefix=oa%3Aw&since=" + before, "\"ready\"", 3);
  Expect(400, "GET", "/v1/watch/bad%zz");
  Expect(400, "GET", "/v1/watch/oa%3Aw?since=-1");
  Expect(401, "GET", "/v1/watch/oa%3Aw", none, "", no_token);
  Expect(400, "GET", "/v1/watch?prefix=oa&cursor=x");
  Expect(401, "GET", "/v1/watch", none, "", no_token);
  {
    // History dropped by reclaim cannot be replayed: 410.
    RedisConn redis = server_->Redis();
    ASSERT_NE(redis, nullptr);
    redisReply* reply = static_cast<redisReply*>(redisCommand(redis.get(), "BGREWRITEAOF"));
    ASSERT_NE(reply, nullptr);
    freeReplyObject(reply);
    int status = 0;
    for (int i = 0; i < 300 && status != 410; ++i) {
      status = server_->OpenStream("/v1/watch/oa%3Aw?since=1", "\n\n").status;
      if (status != 410) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Expect(410, "GET", "/v1/watch/oa%3Aw?since=1");
    Expect(410, "GET", "/v1/watch?prefix=oa&since=1");
  }

  // A shard down: 503 from every route that needs it.
  Expect(204, "PUT", KeyPath(down_key), none, "v");
  const std::vector<pid_t> supervisor =
      FindProcesses({"beyond-kv", "--http-port=" + std::to_string(server_->http_port()) + " "});
  const std::vector<pid_t> shard =
      FindProcesses({"kv-shard", "--shard-id=1 ", "--data-dir=" + server_->data_dir() + " "});
  ASSERT_EQ(supervisor.size(), 1u);
  ASSERT_EQ(shard.size(), 1u);
  kill(supervisor[0], SIGSTOP);
  kill(shard[0], SIGKILL);
  for (int i = 0; i < 100 && server_->Get(KeyPath(down_key)).status != 503; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Expect(503, "GET", KeyPath(down_key));
  Expect(503, "HEAD", KeyPath(down_key));
  Expect(503, "PUT", KeyPath(down_key), none, "v");
  Expect(503, "DELETE", KeyPath(down_key));
  Expect(503, "PATCH", KeyPath(down_key, "ttl=5"));
  Expect(503, "POST", "/v1/kv/" + Encode(down_key) + "/incr");
  Expect(503, "GET", "/v1/kv");
  Expect(503, "DELETE", "/v1/kv?ns=14");
  Expect(503, "POST", "/v1/admin/compact");
  Expect(503, "POST", "/v1/kv/batch", json_type,
         json::array({{{"op", "get"}, {"key", down_key}}}).dump());
  Expect(503, "GET", "/readyz", none, "", no_token);
  Expect(503, "GET", "/v1/watch/" + Encode(down_key));
  Expect(503, "GET", "/v1/watch?prefix=oa");
  kill(supervisor[0], SIGCONT);
  for (int i = 0; i < 250 && server_->Get("/readyz").status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(server_->Get(KeyPath(down_key)).status, 200);

  for (const std::string& missing : validator_.Uncovered()) {
    ADD_FAILURE() << "documented but never produced: " << missing;
  }
}

}  // namespace
}  // namespace beyondkv::testing
