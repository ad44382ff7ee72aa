// Test helper for the HTTP gateway: runs a real `beyond-kv` (both gateways, several shards)
// on loopback in a temporary directory, and speaks HTTP to it with cpp-httplib's client.
#ifndef BEYONDKV_TESTS_HTTP_TEST_SERVER_H_
#define BEYONDKV_TESTS_HTTP_TEST_SERVER_H_

#include <httplib.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/server_process.h"

namespace beyondkv::testing {

struct HttpServerOptions {
  int shards = 3;
  std::string token;                    // --http-token (given through KV_HTTP_TOKEN)
  int64_t max_value_bytes = 0;          // --max-value-bytes; 0 = the default
  std::vector<std::string> extra_args;  // more beyond-kv flags
};

// One HTTP exchange's outcome; status -1 if the connection failed.
struct HttpReply {
  int status = -1;
  std::string body;
  httplib::Headers headers;

  bool Has(const std::string& name) const { return headers.count(name) > 0; }
  // The header's value, "" when absent.
  std::string Header(const std::string& name) const;
};

class HttpTestServer {
 public:
  // Starts beyond-kv and waits until /readyz answers 200 and RESP answers PING (ok() tells).
  explicit HttpTestServer(HttpServerOptions options = {});
  ~HttpTestServer();  // SIGTERM, then waits

  bool ok() const { return ok_; }
  int http_port() const { return http_port_; }
  int resp_port() const { return resp_port_; }
  std::string data_dir() const { return tmp_.path() + "/data"; }
  std::string Log() const { return server_->Log(); }

  // Sends one request on this server's keep-alive connection. `target` is sent as given (no
  // re-encoding). The token, if any, is added unless `headers` has Authorization or
  // `with_token` is false.
  HttpReply Send(const std::string& method, const std::string& target,
                 const httplib::Headers& headers = {}, const std::string& body = "",
                 bool with_token = true);
  HttpReply Get(const std::string& target, const httplib::Headers& headers = {}) {
    return Send("GET", target, headers);
  }
  HttpReply Put(const std::string& target, const std::string& body,
                const httplib::Headers& headers = {}) {
    return Send("PUT", target, headers, body);
  }

  // Opens a streaming response (an SSE watch) on a new connection: returns its status,
  // headers and the body read until `until` appears in it (or `timeout_ms` passes, or the
  // response ends), then drops the connection. The token is added as Send() does.
  HttpReply OpenStream(const std::string& target, const std::string& until,
                       const httplib::Headers& headers = {}, int timeout_ms = 10000);

  // A new RESP connection (null on failure).
  RedisConn Redis() const;

  // Stops the server with SIGTERM; returns the exit status (as waitpid's).
  int Stop();

 private:
  HttpServerOptions options_;
  TempDir tmp_;
  int http_port_ = 0;
  int resp_port_ = 0;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<httplib::Client> client_;
  bool ok_ = false;
};

// Every byte outside RFC 3986's unreserved set as %XX (independent of the server's codec).
std::string Encode(std::string_view bytes);
// "/v1/kv/<encoded key>" plus "?query" when `query` is non-empty.
std::string KeyPath(std::string_view key, std::string_view query = "");
// Base64url without padding (independent of the server's codec).
std::string B64(std::string_view bytes);
std::string UnB64(std::string_view text);

// Sends `raw` bytes on a new TCP connection to 127.0.0.1:port and returns what it reads until
// one whole response (headers and Content-Length bytes) is in, the server closes the
// connection, or `timeout_ms` passes without data.
std::string RawExchange(int port, const std::string& raw, int timeout_ms = 2000);

}  // namespace beyondkv::testing

#endif  // BEYONDKV_TESTS_HTTP_TEST_SERVER_H_
