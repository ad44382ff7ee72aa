#include "gateway/http/watch_handler.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gateway/http/api_error.h"
#include "gateway/http/base64url.h"
#include "gateway/http/strings.h"
#include "gateway/shardlink/watch_session.h"

namespace beyondkv::gateway::http {
namespace {

using json = nlohmann::json;

// How long the handler waits for the first event (or a failure) before it commits to a 200
// stream anyway: a failure known by then (replay floor, shard down) is a JSON error status.
constexpr absl::Duration kFirstEventWait = absl::Seconds(5);
// Longest wait of the content provider for an event: cpp-httplib checks between its calls
// whether the server is stopping and whether the client is still connected, so this bounds
// how long a closed connection keeps its watch (closing is UNWATCH).
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);
// Output gathered before it is written, so a burst of small events leaves in few chunks.
constexpr size_t kWriteBatchBytes = 64 * 1024;

std::string JsonString(std::string_view s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Tasks from gRPC threads to the request's worker thread (shardlink::WatchSession's owner thread). Past
// `limit` bytes waiting, the inbox overflows: that task and every later one is dropped, and the
// worker ends the stream (the client resumes from the last id it saw, so nothing is lost).
// Thread-safe.
class Inbox {
 public:
  explicit Inbox(size_t limit) : limit_(limit) {}

  void Post(size_t bytes, std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    if (overflowed_) return;
    if (queued_bytes_ + bytes > limit_) {
      overflowed_ = true;
      tasks_.clear();
      queued_bytes_ = 0;
      return;
    }
    queued_bytes_ += bytes;
    tasks_.emplace_back(bytes, std::move(fn));
  }

  // The next task, waiting up to `timeout` for one; empty if none came or the inbox
  // overflowed.
  std::function<void()> Next(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !tasks_.empty() || overflowed_;
    };
    if (timeout > absl::ZeroDuration()) {
      mu_.AwaitWithTimeout(absl::Condition(&has_work), timeout);
    }
    if (tasks_.empty() || overflowed_) return nullptr;
    std::function<void()> fn = std::move(tasks_.front().second);
    queued_bytes_ -= tasks_.front().first;
    tasks_.pop_front();
    return fn;
  }

  bool overflowed() const {
    absl::MutexLock lock(&mu_);
    return overflowed_;
  }

 private:
  const size_t limit_;
  mutable absl::Mutex mu_;
  std::deque<std::pair<size_t, std::function<void()>>> tasks_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool overflowed_ ABSL_GUARDED_BY(mu_) = false;
};

// One watch request's state; used only on its worker thread (the Inbox aside).
struct WatchStream {
  std::shared_ptr<Inbox> inbox;
  std::shared_ptr<shardlink::WatchSession> session;
  HttpMetrics* metrics = nullptr;
  std::string out;  // encoded, not yet written
  uint64_t events = 0;  // set/del/flush frames in `out`
  std::optional<absl::Status> failure;
  absl::Duration heartbeat;
  absl::Time last_write;
  uint64_t buffer_limit = 0;
  bool out_full = false;  // `out` passed buffer_limit: later events were dropped
  bool ended = false;   // the error event was written: the stream is over
  bool closed = false;  // Close() ran

  // Runs queued tasks (which append to `out`) without waiting, until none is left or enough
  // output is gathered.
  void Drain() {
    while (out.size() < kWriteBatchBytes && !failure) {
      std::function<void()> fn = inbox->Next(absl::ZeroDuration());
      if (!fn) break;
      fn();
    }
  }

  // Cancels the session (UNWATCH) and gives the stream's slot back. Idempotent.
  void Close() {
    if (closed) return;
    closed = true;
    if (session) session->Cancel();
    metrics->SseStreamClosed();
  }

  // The error that ends a stream already started, if any.
  std::optional<ApiError> Ending() const {
    if (inbox->overflowed() || out_full) {
      return ApiError{503, "unavailable",
                      absl::StrCat("the client reads too slowly: more than ", buffer_limit,
                                   " bytes of events waited for it; reconnect with "
                                   "Last-Event-ID (or since=) set to the last id received")};
    }
    if (failure) {
      ApiError e = FromStatus(*failure);
      if (failure->code() == absl::StatusCode::kFailedPrecondition) {
        e = ApiError{410, "gone", std::string(failure->message())};
      } else if (failure->code() == absl::StatusCode::kResourceExhausted) {
        e = ApiError{503, "unavailable", std::string(failure->message())};
      }
      return e;
    }
    return std::nullopt;
  }

  // cpp-httplib's chunked content provider: called repeatedly on the worker thread until it
  // returns false (stop: the connection is dropped) or calls sink.done() (the stream ends).
  bool Provide(httplib::DataSink& sink) {
    if (ended) return false;
    const absl::Time deadline = absl::Now() + kPollInterval;
    while (true) {
      if (out.empty()) Drain();
      if (!out.empty()) {
        const bool ok = sink.write(out.data(), out.size());
        metrics->SseEventsSent(events);
        out.clear();
        events = 0;
        last_write = absl::Now();
        return ok;
      }
      if (std::optional<ApiError> error = Ending()) {
        const std::string frame = absl::StrCat("event: error\ndata: ",
                                               ErrorBody(error->code, error->message), "\n\n");
        ended = true;
        Close();
        sink.write(frame.data(), frame.size());
        sink.done();
        return true;
      }
      const absl::Time now = absl::Now();
      if (now - last_write >= heartbeat) {
        static constexpr char kHeartbeat[] = ": heartbeat\n\n";
        last_write = now;
        return sink.write(kHeartbeat, sizeof(kHeartbeat) - 1);
      }
      const absl::Duration wait = std::min(deadline, last_write + heartbeat) - now;
      if (wait <= absl::ZeroDuration()) return true;  // let cpp-httplib check the client
      if (std::function<void()> fn = inbox->Next(wait)) fn();
    }
  }
};

// The revision to resume after: Last-Event-ID when sent (EventSource resends the original
// URL on reconnect, so the header is the newer position), else ?since=.
absl::StatusOr<std::optional<uint64_t>> ResumeFrom(const ApiCall& call) {
  if (std::optional<std::string> id = Header(call.req, "Last-Event-ID"); id && !id->empty()) {
    std::optional<int64_t> rev = ParseDecimal(*id);
    if (!rev || *rev < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid Last-Event-ID header: \"", *id, "\" is not a revision"));
    }
    return std::optional<uint64_t>(static_cast<uint64_t>(*rev));
  }
  absl::StatusOr<std::optional<int64_t>> since =
      call.query.GetOptionalInt("since", 0, std::numeric_limits<int64_t>::max());
  if (!since.ok()) return since.status();
  if (!*since) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(**since));
}

}  // namespace

std::string EncodeSseEvent(const v1::WatchEvent& event, int64_t now_ms) {
  std::string out;
  switch (event.kind()) {
    case v1::WatchEvent::READY:
      return "data: {\"type\":\"ready\"}\n\n";
    case v1::WatchEvent::SET:
    case v1::WatchEvent::DEL:
      absl::StrAppend(&out, "id: ", event.revision(), "\ndata: {\"type\":\"",
                      event.kind() == v1::WatchEvent::SET ? "set" : "del",
                      "\",\"key\":", JsonString(event.key()));
      if (!IsUtf8(event.key())) {
        absl::StrAppend(&out, ",\"key_base64url\":\"", Base64UrlEncode(event.key()), "\"");
      }
      if (event.kind() == v1::WatchEvent::SET) {
        absl::StrAppend(&out, ",\"value\":\"", Base64UrlEncode(event.value()), "\"");
      }
      absl::StrAppend(&out, ",\"revision\":", event.revision());
      if (event.kind() == v1::WatchEvent::SET) {
        if (event.expire_at_ms() != 0) {
          absl::StrAppend(&out, ",\"ttl\":", RemainingSeconds(event.expire_at_ms(), now_ms),
                          ",\"ttl_ms\":", RemainingMs(event.expire_at_ms(), now_ms));
        }
        const std::string& m = event.metadata();
        if (!m.empty()) {
          // Stored as the JSON text it was given; anything else is shown as a string.
          absl::StrAppend(&out, ",\"metadata\":",
                          json::accept(m.begin(), m.end()) ? m : JsonString(m));
        }
      }
      out += "}\n\n";
      return out;
    case v1::WatchEvent::FLUSH:
      return absl::StrCat("id: ", event.revision(), "\ndata: {\"type\":\"flush\",\"revision\":",
                          event.revision(), "}\n\n");
    default:
      return "";  // WATERMARK never leaves the session
  }
}

void HandleWatch(const HandlerEnv& env, const ApiCall& call, HttpMetrics& metrics,
                 httplib::Response& res) {
  const bool prefix_route = call.match.route == Route::kWatchPrefix;
  absl::Status s = prefix_route ? call.query.CheckAllowed({"ns", "prefix", "since"})
                                : call.query.CheckAllowed({"ns", "since"});
  if (!s.ok()) return WriteError(res, FromStatus(s));
  absl::StatusOr<uint32_t> ns = Namespace(call.query);
  if (!ns.ok()) return WriteError(res, FromStatus(ns.status()));
  absl::StatusOr<std::optional<uint64_t>> since = ResumeFrom(call);
  if (!since.ok()) return WriteError(res, FromStatus(since.status()));
  if (call.req.method == "HEAD") {  // what a GET would start, without starting it
    res.status = 200;
    res.set_header("Content-Type", "text/event-stream");
    res.set_header("Cache-Control", "no-cache");
    return;
  }

  const HttpConfig& config = env.config;
  const int64_t max_streams =
      config.max_sse_streams > 0 ? config.max_sse_streams : std::max<uint32_t>(1, config.threads / 2);
  if (!metrics.TryOpenSseStream(max_streams)) {
    res.set_header("Retry-After", "1");
    return WriteError(res, ApiError{503, "unavailable",
                                    absl::StrCat("too many watch streams open (", max_streams,
                                                 "); retry later")});
  }

  // One request per shard involved: the key's shard, or every shard for a prefix.
  v1::WatchRequest request;
  request.set_ns(*ns);
  request.set_has_since(since->has_value());
  request.set_since_revision(since->value_or(0));
  std::vector<uint32_t> shards;
  std::vector<shardlink::ShardClient*> clients;
  std::vector<v1::WatchRequest> requests;
  if (prefix_route) {
    request.add_prefixes(call.query.Get("prefix").value_or(""));
    for (uint32_t shard = 0; shard < env.shards.shard_count(); ++shard) shards.push_back(shard);
  } else {
    request.add_keys(call.match.key);
    shards.push_back(env.shards.ShardOf(call.match.key));
  }
  for (uint32_t shard : shards) {
    clients.push_back(env.shards.client(shard));
    requests.push_back(request);
  }

  auto stream = std::make_shared<WatchStream>();
  stream->inbox = std::make_shared<Inbox>(config.sse_max_buffer_bytes);
  stream->metrics = &metrics;
  stream->heartbeat = absl::Milliseconds(std::max<uint64_t>(1, config.sse_heartbeat_ms));
  stream->buffer_limit = config.sse_max_buffer_bytes;
  // The session's callbacks run on this thread, while `stream` (which owns the session) is
  // alive: a raw pointer avoids a cycle.
  WatchStream* raw = stream.get();
  stream->session = std::make_shared<shardlink::WatchSession>(
      [inbox = stream->inbox](size_t bytes, std::function<void()> fn) {
        inbox->Post(bytes, std::move(fn));
      },
      shards,
      [raw](const v1::WatchEvent& event) {
        if (raw->out_full) return;
        if (raw->out.size() > raw->buffer_limit) {
          // One release of many events at once (a shard's backlog freed by another's
          // watermark) outgrew the limit: keep the ordered prefix gathered so far, end there.
          raw->out_full = true;
          raw->session->Cancel();
          return;
        }
        raw->out += EncodeSseEvent(event, NowMs());
        if (event.kind() != v1::WatchEvent::READY) ++raw->events;
      },
      [raw](const absl::Status& status) { raw->failure = status; });
  stream->session->Start(clients, requests);

  // Wait for the first frame (an initial value, a replayed change, or ready) or a failure, so
  // that a failure to start is an HTTP status rather than an event.
  const absl::Time deadline = absl::Now() + kFirstEventWait;
  while (stream->out.empty() && !stream->failure && !stream->inbox->overflowed() &&
         !stream->out_full) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    if (std::function<void()> fn = stream->inbox->Next(left)) fn();
  }
  if (stream->out.empty()) {
    if (std::optional<ApiError> error = stream->Ending()) {
      stream->Close();
      return WriteError(res, *error);
    }
  }

  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // proxies: do not buffer the stream
  stream->last_write = absl::Now();
  res.set_chunked_content_provider(
      "text/event-stream",
      [stream](size_t, httplib::DataSink& sink) { return stream->Provide(sink); },
      // Runs when the response is destroyed, on this thread, however the stream ended.
      [stream](bool) { stream->Close(); });
}

}  // namespace beyondkv::gateway::http
