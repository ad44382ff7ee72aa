#include "gateway/http/routes.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "gateway/http/query.h"

namespace beyondkv::gateway::http {
namespace {

constexpr std::string_view kKvPrefix = "/v1/kv/";
constexpr std::string_view kWatchPrefix = "/v1/watch/";
constexpr std::string_view kIncrSuffix = "/incr";

// What a path names, before the method is considered.
enum class PathKind {
  kNone,
  kKeyspace,
  kKey,
  kBatch,
  kCompact,
  kWatchKey,
  kWatchPrefix,
  kLivez,
  kReadyz,
  kMetrics
};

struct PathMatch {
  PathKind kind = PathKind::kNone;
  std::string_view raw_key;   // kKey, kWatchKey: still encoded
  std::string_view incr_key;  // kKey: the key if the path ends in /incr (POST), else empty
  bool has_incr = false;
};

PathMatch MatchPath(std::string_view path) {
  PathMatch m;
  if (path == "/v1/kv") {
    m.kind = PathKind::kKeyspace;
  } else if (path.substr(0, kKvPrefix.size()) == kKvPrefix) {
    std::string_view rest = path.substr(kKvPrefix.size());
    m.kind = rest == "batch" ? PathKind::kBatch : PathKind::kKey;
    m.raw_key = rest;
    if (rest.size() >= kIncrSuffix.size() &&
        rest.substr(rest.size() - kIncrSuffix.size()) == kIncrSuffix) {
      m.has_incr = true;
      m.incr_key = rest.substr(0, rest.size() - kIncrSuffix.size());
    }
  } else if (path == "/v1/admin/compact") {
    m.kind = PathKind::kCompact;
  } else if (path == "/v1/watch") {
    m.kind = PathKind::kWatchPrefix;
  } else if (path.substr(0, kWatchPrefix.size()) == kWatchPrefix) {
    m.kind = PathKind::kWatchKey;
    m.raw_key = path.substr(kWatchPrefix.size());
  } else if (path == "/livez") {
    m.kind = PathKind::kLivez;
  } else if (path == "/readyz") {
    m.kind = PathKind::kReadyz;
  } else if (path == "/metrics") {
    m.kind = PathKind::kMetrics;
  }
  return m;
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

bool IsGet(std::string_view method) { return method == "GET" || method == "HEAD"; }

// The route for a matched path and method, or kUnmatched when the method is not allowed.
Route RouteFor(const PathMatch& m, std::string_view method) {
  switch (m.kind) {
    case PathKind::kNone:
      return Route::kUnmatched;
    case PathKind::kKeyspace:
      if (IsGet(method)) return Route::kListKeys;
      if (method == "DELETE") return Route::kFlushNamespace;
      return Route::kUnmatched;
    case PathKind::kBatch:
      if (method == "POST") return Route::kBatch;
      [[fallthrough]];  // other methods: the key "batch"
    case PathKind::kKey:
      if (method == "GET") return Route::kGetValue;
      if (method == "HEAD") return Route::kHeadValue;
      if (method == "PUT") return Route::kPutValue;
      if (method == "DELETE") return Route::kDeleteValue;
      if (method == "PATCH") return Route::kPatchTtl;
      if (method == "POST" && m.has_incr) return Route::kIncrementValue;
      return Route::kUnmatched;
    case PathKind::kCompact:
      return method == "POST" ? Route::kCompact : Route::kUnmatched;
    case PathKind::kWatchKey:
      return IsGet(method) ? Route::kWatchKey : Route::kUnmatched;
    case PathKind::kWatchPrefix:
      return IsGet(method) ? Route::kWatchPrefix : Route::kUnmatched;
    case PathKind::kLivez:
      return IsGet(method) ? Route::kLivez : Route::kUnmatched;
    case PathKind::kReadyz:
      return IsGet(method) ? Route::kReadyz : Route::kUnmatched;
    case PathKind::kMetrics:
      return IsGet(method) ? Route::kMetrics : Route::kUnmatched;
  }
  return Route::kUnmatched;
}

}  // namespace

std::string_view RouteName(Route route) {
  static constexpr std::array<std::string_view, kRouteCount> kNames = {
      "get_value", "head_value",      "put_value", "delete_value", "patch_ttl", "increment_value",
      "list_keys", "flush_namespace", "batch",     "compact",      "watch_key", "watch_prefix",
      "livez",     "readyz",          "metrics",   "unmatched"};
  return kNames[static_cast<int>(route)];
}

std::string AllowedMethods(std::string_view target) {
  const PathMatch m = MatchPath(PathOf(target));
  switch (m.kind) {
    case PathKind::kNone:
      return "";
    case PathKind::kKeyspace:
      return "GET, HEAD, DELETE";
    case PathKind::kBatch:
      return "GET, HEAD, PUT, DELETE, PATCH, POST";
    case PathKind::kKey:
      return m.has_incr ? "GET, HEAD, PUT, DELETE, PATCH, POST" : "GET, HEAD, PUT, DELETE, PATCH";
    case PathKind::kCompact:
      return "POST";
    default:
      return "GET, HEAD";
  }
}

Route RouteOf(std::string_view method, std::string_view target) {
  return RouteFor(MatchPath(PathOf(target)), method);
}

std::variant<RouteMatch, ApiError> MatchRoute(std::string_view method, std::string_view target) {
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const PathMatch m = MatchPath(path);
  if (m.kind == PathKind::kNone) {
    return NotFound(absl::StrCat("no such route: ", std::string(path)));
  }
  RouteMatch match;
  match.route = RouteFor(m, method);
  if (match.route == Route::kUnmatched) {
    return ApiError{405, "method_not_allowed",
                    absl::StrCat("method ", std::string(method), " is not allowed on ",
                                 std::string(path), " (allowed: ", AllowedMethods(target), ")")};
  }
  if (question != std::string_view::npos) match.raw_query = target.substr(question + 1);
  const bool takes_key = m.kind == PathKind::kKey || m.kind == PathKind::kWatchKey ||
                         (m.kind == PathKind::kBatch && match.route != Route::kBatch);
  if (takes_key) {
    const std::string_view raw = match.route == Route::kIncrementValue ? m.incr_key : m.raw_key;
    std::optional<std::string> key = PercentDecode(raw, /*plus_is_space=*/false);
    if (!key) {
      return InvalidRequest(
          absl::StrCat("malformed percent-encoding in key `", std::string(raw), "`"));
    }
    if (key->empty()) return InvalidRequest("the key must not be empty");
    match.key = std::move(*key);
  }
  return match;
}

}  // namespace beyondkv::gateway::http
