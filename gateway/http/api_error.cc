#include "gateway/http/api_error.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "gateway/http/strings.h"

namespace beyondkv::gateway::http {

ApiError InvalidRequest(std::string message) {
  return ApiError{400, "invalid_request", std::move(message)};
}

ApiError NotFound(std::string message) { return ApiError{404, "not_found", std::move(message)}; }

ApiError Conflict(std::string message) { return ApiError{409, "conflict", std::move(message)}; }

ApiError FromStatus(const absl::Status& status) {
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return InvalidRequest(message);
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return ApiError{503, "unavailable", message};
    default:
      return ApiError{500, "internal", message};
  }
}

ApiError FromOpResult(const v1::OpResult& result, std::string_view conflict_message) {
  switch (result.code()) {
    case v1::OpResult::CONDITION_FAILED:
      return Conflict(std::string(conflict_message));
    case v1::OpResult::INVALID_ARGUMENT:
      return InvalidRequest(result.message());
    case v1::OpResult::NOT_FOUND:
      return NotFound("key not found");
    default:
      if (result.reason() == v1::OpResult::SHARD_UNAVAILABLE) {
        return ApiError{503, "unavailable", result.message()};
      }
      if (result.reason() == v1::OpResult::NO_SPACE) {  // the disk is full: not a 5xx retry
        return ApiError{507, "insufficient_storage", result.message()};
      }
      return ApiError{500, "internal", absl::StrCat("storage error: ", result.message())};
  }
}

std::string ErrorBody(std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  // Messages may quote keys, which need not be UTF-8.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void WriteError(httplib::Response& res, const ApiError& error) {
  res.status = error.status;
  res.set_content(ErrorBody(error.code, error.message), "application/json");
}

}  // namespace beyondkv::gateway::http
