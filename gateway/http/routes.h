// The route table of the HTTP API: which operation a (method, raw request-target) names, and
// the key it carries. Routing uses the raw target, as clients percent-encode keys (a key may
// hold '/', '?', '%'): the key is decoded after the route is known.
#ifndef BEYONDKV_GATEWAY_HTTP_ROUTES_H_
#define BEYONDKV_GATEWAY_HTTP_ROUTES_H_

#include <string>
#include <string_view>
#include <variant>

#include "gateway/http/api_error.h"

namespace beyondkv::gateway::http {

// One per operation; names are the contract's operationIds (docs/openapi.json).
enum class Route {
  kGetValue,        // GET    /v1/kv/{key}
  kHeadValue,       // HEAD   /v1/kv/{key}
  kPutValue,        // PUT    /v1/kv/{key}
  kDeleteValue,     // DELETE /v1/kv/{key}
  kPatchTtl,        // PATCH  /v1/kv/{key}
  kIncrementValue,  // POST   /v1/kv/{key}/incr
  kListKeys,        // GET    /v1/kv
  kFlushNamespace,  // DELETE /v1/kv
  kBatch,           // POST   /v1/kv/batch
  kCompact,         // POST   /v1/admin/compact
  kWatchKey,        // GET    /v1/watch/{key}
  kWatchPrefix,     // GET    /v1/watch
  kLivez,           // GET    /livez
  kReadyz,          // GET    /readyz
  kMetrics,         // GET    /metrics
  kUnmatched,       // anything else (404/405), for metrics
};
inline constexpr int kRouteCount = static_cast<int>(Route::kUnmatched) + 1;

// "get_value", "list_keys", ... "unmatched".
std::string_view RouteName(Route route);

struct RouteMatch {
  Route route = Route::kUnmatched;
  std::string key;             // decoded; routes with {key} only
  std::string_view raw_query;  // the target after '?', still encoded (a view into it)
};

// The route of `method` on `target` (path and query as sent). Errors: 404 for a path that
// names no resource, 405 (message lists the allowed methods) for a method the path does not
// take, 400 for a key with malformed percent-encoding or an empty key.
std::variant<RouteMatch, ApiError> MatchRoute(std::string_view method, std::string_view target);

// The methods `target`'s path allows ("GET, HEAD, PUT"), for a 405's Allow header; empty if
// the path names no resource.
std::string AllowedMethods(std::string_view target);

// The route, without decoding anything, for metrics labels (kUnmatched when none).
Route RouteOf(std::string_view method, std::string_view target);

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_ROUTES_H_
