#include "gateway/http/http_gateway.h"

#include <glog/logging.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/memory_release.h"
#include "common/secrets.h"
#include "gateway/http/api_error.h"
#include "gateway/http/batch_handler.h"
#include "gateway/http/handler_util.h"
#include "gateway/http/keyspace_handlers.h"
#include "gateway/http/kv_handlers.h"
#include "gateway/http/query.h"
#include "gateway/http/routes.h"
#include "gateway/http/watch_handler.h"

namespace beyondkv::gateway::http {
namespace {

constexpr int64_t kReadyzDeadlineMs = 1000;
constexpr int64_t kStatsDeadlineMs = 2000;
// Requests served on one keep-alive connection before it is closed: with a thread per
// connection, this bounds how long one client holds a thread others wait for.
constexpr size_t kKeepAliveMaxRequests = 1000;
constexpr time_t kDefaultKeepAliveSecs = 5;
// How long a worker waits for a keep-alive client's next request before handing the
// connection back to the ConnectionGate.
constexpr absl::Duration kNextRequestWait = absl::Milliseconds(1);

// What pre-routing learned about the request this thread is serving; cpp-httplib runs
// pre-routing, the handler and the logger of one request on one thread, in that order.
struct RequestState {
  bool active = false;  // pre-routing ran for the current request
  absl::Time start;
  RouteMatch match;
};
thread_local RequestState t_request;
// The stream of the request this worker serves (ServeConnection), and whether its response
// said "Connection: close" (seen by the logger, which runs once the response is written).
thread_local DeadlineStream* t_stream = nullptr;
thread_local bool t_close_after = false;

bool TimedOut() { return t_stream != nullptr && t_stream->timed_out(); }

ApiError RequestTimeout() {
  return ApiError{408, "request_timeout",
                  absl::StrCat("the request body stopped arriving (a read waits at most 5 s, "
                               "and past --header-timeout-secs a body must average ",
                               ConnectionGate::kMinBodyBytesPerSec, " bytes/s)")};
}

bool TokenMatches(const std::string& header, const std::string& token) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() < kBearer.size() ||
      !absl::StartsWithIgnoreCase(header, absl::string_view(kBearer.data(), kBearer.size()))) {
    return false;
  }
  // Constant time in the token's bytes and length (common/secrets.h).
  return SecretEquals(std::string_view(header).substr(kBearer.size()), token);
}

// Default JSON bodies for errors cpp-httplib produces itself (malformed request, 413 on a
// body it refused, 404 of a method it does not route).
std::string_view CodeForStatus(int status) {
  switch (status) {
    case 400:
      return "invalid_request";
    case 401:
      return "unauthorized";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 410:
      return "gone";
    case 413:
      return "payload_too_large";
    case 414:
    case 431:
      return "invalid_request";
    case 501:
      return "not_implemented";
    case 503:
      return "unavailable";
    default:
      return status < 500 ? "invalid_request" : "internal";
  }
}

// Whether a body follows the request's headers.
bool HasBody(const httplib::Request& req) {
  return req.get_header_value<uint64_t>("Content-Length") > 0 ||
         absl::StrContains(absl::AsciiStrToLower(req.get_header_value("Transfer-Encoding")),
                           "chunked");
}

void Unauthorized(httplib::Response& res) {
  WriteError(res, ApiError{401, "unauthorized",
                           "missing or wrong bearer token (Authorization: Bearer <token>)"});
  res.set_header("WWW-Authenticate", "Bearer realm=\"beyond-kv\"");
}

void PayloadTooLarge(httplib::Response& res, uint64_t limit) {
  WriteError(res, ApiError{413, "payload_too_large",
                           absl::StrCat("the request body exceeds --max-value-bytes (", limit,
                                        " bytes)")});
  // The rest of the body may be unread: the connection cannot carry another request.
  res.set_header("Connection", "close");
}

}  // namespace

HttpGateway::HttpGateway(HttpConfig config)
    : config_(std::move(config)),
      shards_(std::make_unique<ShardHop>(config_.socket_dir, config_.shard_count,
                                         config_.max_inflight_per_shard,
                                         config_.shard_transport)) {
  Install();
}

HttpGateway::~HttpGateway() = default;

void HttpGateway::Install() {
  // Connections are accepted by the ConnectionGate (Run); these settings still shape the
  // responses cpp-httplib writes (the Keep-Alive header) and the body it accepts.
  server_.set_tcp_nodelay(true);
  server_.set_keep_alive_max_count(kKeepAliveMaxRequests);
  server_.set_keep_alive_timeout(config_.idle_timeout_secs > 0
                                     ? static_cast<time_t>(config_.idle_timeout_secs)
                                     : kDefaultKeepAliveSecs);
  // A body announced larger than this is read and discarded (never stored) by cpp-httplib and
  // answered 413; a chunked one is cut off by Dispatch's reader at the same size.
  server_.set_payload_max_length(config_.max_value_bytes);

  server_.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return PreRoute(req, res); });
  server_.set_expect_100_continue_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        // Refuse before the client sends its body: a missing token, an oversized body.
        if (!Authorized(req)) {
          Unauthorized(res);
          return 401;
        }
        if (req.get_header_value<uint64_t>("Content-Length") > config_.max_value_bytes) {
          PayloadTooLarge(res, config_.max_value_bytes);
          return 413;
        }
        return 100;
      });

  auto plain = [this](const httplib::Request& req, httplib::Response& res) {
    Dispatch(req, res, nullptr);
  };
  auto with_body = [this](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) { Dispatch(req, res, &reader); };
  // Routing happens in PreRoute on the raw target; these catch everything it let through.
  server_.Get(".*", plain);
  server_.Post(".*", plain);
  server_.Post(".*", with_body);
  server_.Put(".*", plain);
  server_.Put(".*", with_body);
  server_.Patch(".*", plain);
  server_.Patch(".*", with_body);
  server_.Delete(".*", plain);
  server_.Delete(".*", with_body);

  server_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (TimedOut()) {
      // A read ran out of time (cpp-httplib answers 400 for any failed read).
      res.body.clear();
      WriteError(res, RequestTimeout());
      res.set_header("Connection", "close");
      return;
    }
    if (!t_request.active) {
      // cpp-httplib refused the request before routing it (bad syntax, a header line over
      // 8 KiB, a body it would not read): the connection may hold the rest of it.
      res.set_header("Connection", "close");
      if (res.body.empty() && res.status == 400) {
        WriteError(res, InvalidRequest("malformed HTTP request (bad syntax, or a request or "
                                       "header line longer than 8 KiB)"));
      }
    }
    if (res.body.empty()) {
      WriteError(res, ApiError{res.status, std::string(CodeForStatus(res.status)),
                               absl::StrCat("HTTP status ", res.status)});
    }
  });
  server_.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        LOG(ERROR) << req.method << " " << req.target << ": " << what;
        WriteError(res, ApiError{500, "internal", absl::StrCat("internal error: ", what)});
      });
  server_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    RequestState& state = t_request;
    const Route route = state.active ? state.match.route : RouteOf(req.method, req.target);
    metrics_.RecordRequest(route, res.status,
                           state.active ? absl::Now() - state.start : -absl::Nanoseconds(1));
    state.active = false;
    if (res.get_header_value("Connection") == "close") t_close_after = true;
  });
}

httplib::Server::HandlerResponse HttpGateway::PreRoute(const httplib::Request& req,
                                                       httplib::Response& res) {
  RequestState& state = t_request;
  state.active = true;
  state.start = absl::Now();
  state.match = RouteMatch();
  state.match.route = RouteOf(req.method, req.target);  // for metrics, even when refused

  if (!Authorized(req)) {
    Unauthorized(res);
    if (HasBody(req)) res.set_header("Connection", "close");
    return httplib::Server::HandlerResponse::Handled;
  }
  if (req.get_header_value<uint64_t>("Content-Length") > config_.max_value_bytes) {
    // Refused before reading any of it (cpp-httplib would read and discard the whole body).
    PayloadTooLarge(res, config_.max_value_bytes);
    return httplib::Server::HandlerResponse::Handled;
  }
  std::variant<RouteMatch, ApiError> match = MatchRoute(req.method, req.target);
  if (auto* error = std::get_if<ApiError>(&match)) {
    WriteError(res, *error);
    if (error->status == 405) res.set_header("Allow", AllowedMethods(req.target));
    if (HasBody(req)) res.set_header("Connection", "close");
    return httplib::Server::HandlerResponse::Handled;
  }
  state.match = std::move(std::get<RouteMatch>(match));
  return httplib::Server::HandlerResponse::Unhandled;
}

bool HttpGateway::Authorized(const httplib::Request& req) const {
  if (config_.token.empty()) return true;
  const Route route = RouteOf(req.method, req.target);
  if (route == Route::kLivez || route == Route::kReadyz) return true;
  return TokenMatches(req.get_header_value("Authorization"), config_.token);
}

void HttpGateway::Dispatch(const httplib::Request& req, httplib::Response& res,
                           const httplib::ContentReader* reader) {
  RequestState& state = t_request;
  const uint64_t limit = config_.max_value_bytes;
  std::string body;
  // A request with neither Content-Length nor chunked encoding has no body (RFC 9112 §6.3);
  // cpp-httplib would otherwise read until the client closes.
  if (reader != nullptr && HasBody(req)) {
    bool too_large = false;
    if (req.has_header("Content-Length")) {
      body.reserve(std::min<uint64_t>(req.get_header_value<uint64_t>("Content-Length"), limit));
    }
    const bool ok = (*reader)([&](const char* data, size_t n) {
      if (body.size() + n > limit) {
        too_large = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (too_large || res.status == 413) return PayloadTooLarge(res, limit);
    if (!ok && TimedOut()) {
      WriteError(res, RequestTimeout());
      res.set_header("Connection", "close");
      return;
    }
    if (!ok) {
      WriteError(res, InvalidRequest("the request body could not be read"));
      res.set_header("Connection", "close");
      return;
    }
  } else {
    body = req.body;
  }

  absl::StatusOr<QueryParams> query = QueryParams::Parse(state.match.raw_query);
  if (!query.ok()) return WriteError(res, FromStatus(query.status()));
  const HandlerEnv env{config_, *shards_};
  ApiCall call{req, state.match, *query, std::move(body)};
  switch (state.match.route) {
    case Route::kGetValue:
      return HandleGetValue(env, call, res);
    case Route::kHeadValue:
      return HandleHeadValue(env, call, res);
    case Route::kPutValue:
      return HandlePutValue(env, call, res);
    case Route::kDeleteValue:
      return HandleDeleteValue(env, call, res);
    case Route::kPatchTtl:
      return HandlePatchTtl(env, call, res);
    case Route::kIncrementValue:
      return HandleIncrementValue(env, call, res);
    case Route::kListKeys:
      return HandleListKeys(env, call, res);
    case Route::kFlushNamespace:
      return HandleFlushNamespace(env, call, res);
    case Route::kBatch:
      return HandleBatch(env, call, res);
    case Route::kCompact:
      return HandleCompact(env, call, res);
    case Route::kWatchKey:
    case Route::kWatchPrefix:
      return HandleWatch(env, call, metrics_, res);
    case Route::kLivez:
    case Route::kReadyz:
    case Route::kMetrics: {
      // Clients put ?ns= on every request; it is checked and otherwise ignored here.
      absl::Status s = query->CheckAllowed({"ns"});
      if (s.ok()) s = Namespace(*query).status();
      if (!s.ok()) return WriteError(res, FromStatus(s));
      if (state.match.route == Route::kReadyz) return ServeReadyz(res);
      if (state.match.route == Route::kMetrics) return ServeMetrics(res);
      res.status = 200;
      res.set_content("ok\n", "text/plain");
      return;
    }
    case Route::kUnmatched:
      break;
  }
  WriteError(res, NotFound("no such route"));
}

void HttpGateway::ServeReadyz(httplib::Response& res) {
  std::vector<absl::StatusOr<v1::OpResult>> pings =
      shards_->Broadcast(v1::Op::PING, 0, kReadyzDeadlineMs);
  std::vector<std::string> down;
  for (size_t i = 0; i < pings.size(); ++i) {
    if (!pings[i].ok()) {
      down.emplace_back(pings[i].status().message());
    } else if (pings[i]->code() != v1::OpResult::OK) {
      down.push_back(absl::StrCat("shard ", i, ": ", pings[i]->message()));
    }
  }
  if (!down.empty()) {
    return WriteError(
        res, ApiError{503, "unavailable", absl::StrCat("not ready: ", absl::StrJoin(down, "; "))});
  }
  res.status = 200;
  res.set_content("ready\n", "text/plain");
}

void HttpGateway::ServeMetrics(httplib::Response& res) {
  std::string text = metrics_.RenderHttp();
  std::vector<absl::StatusOr<v1::OpResult>> stats =
      shards_->Broadcast(v1::Op::STATS, 0, kStatsDeadlineMs);
  // beyondkv_shard_up says a shard is down; the log says why.
  for (size_t i = 0; i < stats.size(); ++i) {
    if (!stats[i].ok()) {
      LOG(WARNING) << "metrics: shard " << i << " did not answer STATS: " << stats[i].status();
    } else if (stats[i]->code() != v1::OpResult::OK) {
      LOG(WARNING) << "metrics: shard " << i << " answered STATS with " << stats[i]->message();
    }
  }
  text += HttpMetrics::RenderShards(stats);
  res.status = 200;
  res.set_content(std::move(text), "text/plain; version=0.0.4; charset=utf-8");
}

void HttpGateway::ServeConnection(std::unique_ptr<GateConnection> conn) {
  DeadlineStream::Limits limits;
  limits.grace = gate_->options().head_timeout;
  limits.min_bytes_per_sec = ConnectionGate::kMinBodyBytesPerSec;
  while (true) {
    DeadlineStream strm(conn->fd, std::move(conn->buffered), limits);
    t_stream = &strm;
    t_close_after = false;
    const bool last = --conn->requests_left <= 0;
    bool connection_closed = false;
    const bool ok = server_.ServeRequest(strm, last, connection_closed);
    t_stream = nullptr;
    conn->close = !ok || connection_closed || last || t_close_after || stopping_.load();
    if (conn->close) break;
    conn->buffered = strm.TakeBuffered();
    // A client that sends its next request at once is served on this thread, without the
    // round trip through the gate (~0.1 ms); anything short of a whole head goes to the gate,
    // so a slow client never holds this thread for more than kNextRequestWait.
    if (!ConnectionGate::ReadAhead(*conn, kNextRequestWait)) break;
  }
  gate_->Return(std::move(conn));
}

absl::Status HttpGateway::Run(const absl::Notification& stop) {
  absl::StatusOr<int> listen_fd = ListenTcp(config_.bind, config_.port);
  if (!listen_fd.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config_.bind, ":", config_.port,
                     " (address in use, or not an address of this host): ",
                     listen_fd.status().message()));
  }
  ConnectionGate::Options options;
  options.max_conns = config_.max_conns;
  options.head_timeout = absl::Seconds(config_.header_timeout_secs);
  options.idle_timeout = absl::Seconds(
      config_.idle_timeout_secs > 0 ? config_.idle_timeout_secs : kDefaultKeepAliveSecs);
  options.keep_alive_max_requests = static_cast<int>(kKeepAliveMaxRequests);
  httplib::ThreadPool pool(std::max<uint32_t>(1, config_.threads));
  ConnectionGate gate(
      *listen_fd, options,
      [this, &pool](std::unique_ptr<GateConnection> conn) {
        // std::function needs a copyable callable: carry the connection as a raw pointer.
        GateConnection* raw = conn.release();
        pool.enqueue([this, raw] { ServeConnection(std::unique_ptr<GateConnection>(raw)); });
      },
      [this] { metrics_.ConnectionOpened(); }, [this] { metrics_.ConnectionClosed(); });
  gate_ = &gate;
  server_.SetServing(*listen_fd);
  LOG(INFO) << "HTTP listening on " << config_.bind << ":" << config_.port << " with "
            << config_.threads << " worker threads (at most " << config_.max_conns
            << " connections, request heads within " << config_.header_timeout_secs
            << " s), routing over the " << config_.shard_transport << " transport to "
            << config_.shard_count << " shards in " << config_.socket_dir
            << (config_.token.empty() ? "" : "; bearer token required");
  std::thread accept_loop([&gate] { gate.Run(); });
  // Meanwhile, return what bursts of clients left free in the allocator (memory_release.h).
  while (!stop.WaitForNotificationWithTimeout(absl::Seconds(2))) {
    MaybeReleaseFreeMemory(16 << 20);
  }
  LOG(INFO) << "shutting down: finishing requests in flight";
  stopping_.store(true);
  server_.SetServing(-1);  // SSE streams end
  gate.Stop();
  accept_loop.join();
  // Requests in flight finish; their connections close (stopping_) instead of coming back.
  pool.shutdown();
  gate_ = nullptr;
  close(*listen_fd);
  LOG(INFO) << "shutdown complete";
  return absl::OkStatus();
}

}  // namespace beyondkv::gateway::http
