#include "tests/http_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace beyondkv::testing {

std::string HttpReply::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

HttpTestServer::HttpTestServer(HttpServerOptions options) : options_(std::move(options)) {
  http_port_ = PickFreePort();
  do {
    resp_port_ = PickFreePort();
  } while (resp_port_ == http_port_);
  std::vector<std::string> args = {
      "--data-dir=" + tmp_.path() + "/data",
      "--resp-port=" + std::to_string(resp_port_),
      "--http-port=" + std::to_string(http_port_),
      "--threads=" + std::to_string(options_.shards),
      "--fsync=never",
      "--memory-bytes=67108864",
  };
  if (options_.max_value_bytes > 0) {
    args.push_back("--max-value-bytes=" + std::to_string(options_.max_value_bytes));
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  if (!options_.token.empty()) setenv("KV_HTTP_TOKEN", options_.token.c_str(), 1);
  server_ = std::make_unique<ServerProcess>(RunfilePath("services/beyond-kv/beyond-kv"), args,
                                            tmp_.path() + "/server.log");
  server_->Start();
  // The child has copied its environment; later servers of this process must not inherit it.
  unsetenv("KV_HTTP_TOKEN");

  client_ = std::make_unique<httplib::Client>("127.0.0.1", http_port_);
  client_->set_keep_alive(true);
  client_->set_url_encode(false);
  client_->set_tcp_nodelay(true);
  client_->set_read_timeout(30, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    HttpReply ready = Send("GET", "/readyz", {}, "", false);
    if (ready.status == 200) {
      ok_ = ConnectWhenReady(resp_port_, 10000) != nullptr;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

HttpTestServer::~HttpTestServer() { Stop(); }

int HttpTestServer::Stop() {
  client_.reset();
  if (server_ == nullptr || server_->pid() <= 0) return -1;
  return server_->Stop(SIGTERM, 30000);
}

HttpReply HttpTestServer::Send(const std::string& method, const std::string& target,
                               const httplib::Headers& headers, const std::string& body,
                               bool with_token) {
  httplib::Request req;
  req.method = method;
  req.path = target;
  req.headers = headers;
  if (with_token && !options_.token.empty() && headers.count("Authorization") == 0) {
    req.headers.emplace("Authorization", "Bearer " + options_.token);
  }
  req.body = body;
  if (!body.empty() && req.headers.count("Content-Type") == 0) {
    req.headers.emplace("Content-Type", "application/octet-stream");
  }
  if ((method == "PUT" || method == "POST" || method == "PATCH") && body.empty()) {
    req.headers.emplace("Content-Length", "0");
  }
  HttpReply reply;
  httplib::Result result = client_->send(req);
  if (!result) return reply;
  reply.status = result->status;
  reply.body = result->body;
  reply.headers = result->headers;
  return reply;
}

HttpReply HttpTestServer::OpenStream(const std::string& target, const std::string& until,
                                     const httplib::Headers& headers, int timeout_ms) {
  httplib::Client client("127.0.0.1", http_port_);
  client.set_url_encode(false);
  client.set_read_timeout(timeout_ms / 1000, (timeout_ms % 1000) * 1000);
  httplib::Headers all = headers;
  if (!options_.token.empty() && all.count("Authorization") == 0) {
    all.emplace("Authorization", "Bearer " + options_.token);
  }
  HttpReply reply;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  httplib::Result result = client.Get(
      target, all,
      [&](const httplib::Response& response) {
        reply.status = response.status;
        reply.headers = response.headers;
        return true;
      },
      [&](const char* data, size_t n) {
        reply.body.append(data, n);
        // Returning false drops the connection.
        return reply.body.find(until) == std::string::npos &&
               std::chrono::steady_clock::now() < deadline;
      });
  if (result) reply.body = result->body.empty() ? reply.body : result->body;
  return reply;
}

RedisConn HttpTestServer::Redis() const { return ConnectWhenReady(resp_port_, 10000); }

std::string Encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string KeyPath(std::string_view key, std::string_view query) {
  std::string path = "/v1/kv/" + Encode(key);
  if (!query.empty()) path += "?" + std::string(query);
  return path;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}  // namespace

std::string B64(std::string_view bytes) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t n = uint8_t(bytes[i]) << 16;
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
  } else if (i + 2 == bytes.size()) {
    const uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
  }
  return out;
}

std::string UnB64(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = strchr(kB64, c);
    if (c == '=' || p == nullptr) break;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string RawExchange(int port, const std::string& raw, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  size_t sent = 0;
  while (sent < raw.size()) {
    ssize_t n = send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string out;
  char buf[65536];
  size_t start = 0;  // of the response being read; interim 1xx responses are skipped
  for (;;) {
    // Done once a whole final response is in: headers and Content-Length bytes of body.
    const size_t end = out.find("\r\n\r\n", start);
    if (end != std::string::npos) {
      if (out.compare(start, 10, "HTTP/1.1 1") == 0) {
        start = end + 4;
        continue;
      }
      size_t length = 0;
      const size_t cl = out.find("Content-Length: ", start);
      if (cl != std::string::npos && cl < end) length = std::stoul(out.substr(cl + 16));
      if (out.size() >= end + 4 + length) break;
    }
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace beyondkv::testing
