// Errors of the HTTP API, and the one place where shard results and gRPC failures become
// HTTP statuses. Every error response has the contract's body
//   {"error":{"code":"<code>","message":"<text>"}}
// with codes: invalid_request (400; also 414 and 431 from the connection gate),
// unauthorized (401), not_found (404), method_not_allowed (405), request_timeout (408: the
// head or body stopped arriving), conflict (409), gone (410: a watch's since / Last-Event-ID is
// below the replay floor), payload_too_large (413), internal (500),
// not_implemented (501), unavailable (503). Clients retry 5xx, so a client's mistake is
// never answered with one.
#ifndef BEYONDKV_GATEWAY_HTTP_API_ERROR_H_
#define BEYONDKV_GATEWAY_HTTP_API_ERROR_H_

#include <httplib.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "proto/shard.pb.h"

namespace beyondkv::gateway::http {

struct ApiError {
  int status = 500;
  std::string code;
  std::string message;
};

ApiError InvalidRequest(std::string message);
ApiError NotFound(std::string message);
ApiError Conflict(std::string message);

// For an absl::Status from request parsing (InvalidArgument -> 400) or from ShardHop
// (Unavailable / DeadlineExceeded -> 503, anything else -> 500).
ApiError FromStatus(const absl::Status& status);

// For an OpResult whose code is neither OK nor NOT_FOUND (callers decide what NOT_FOUND
// means): CONDITION_FAILED -> 409 with `conflict_message`, INVALID_ARGUMENT -> 400,
// INTERNAL -> 500.
ApiError FromOpResult(const v1::OpResult& result, std::string_view conflict_message);

// The JSON error body for `code` and `message`.
std::string ErrorBody(std::string_view code, std::string_view message);

// Sets `res` to `error` (status, JSON body).
void WriteError(httplib::Response& res, const ApiError& error);

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_API_ERROR_H_
