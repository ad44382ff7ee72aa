// Request-target parsing for the HTTP API: percent-decoding of path segments and query
// strings, and strict parameter values. The API routes on the raw target (keys may hold
// %2F, %3F, ...), so this works on what the client sent, not on cpp-httplib's decoded path.
#ifndef BEYONDKV_GATEWAY_HTTP_QUERY_H_
#define BEYONDKV_GATEWAY_HTTP_QUERY_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace beyondkv::gateway::http {

// Decodes %XX escapes (either case). With `plus_is_space` ('+' in a query string, as HTML
// forms and URLSearchParams encode a space), '+' becomes ' '. Any byte may result (%00
// included). nullopt on a malformed escape ("%4", "%zz").
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Encodes every byte outside RFC 3986's unreserved set as %XX.
std::string PercentEncode(std::string_view bytes);

// A strict decimal integer: optional '-', digits, nothing else (no '+', spaces or
// fractions), within int64. nullopt otherwise.
std::optional<int64_t> ParseDecimal(std::string_view text);

// The decoded parameters of a query string ("a=1&b=x%20y"), in order.
class QueryParams {
 public:
  // InvalidArgument on a malformed escape or a parameter given twice. A parameter without
  // '=' has an empty value.
  static absl::StatusOr<QueryParams> Parse(std::string_view raw_query);

  // InvalidArgument naming the first parameter not in `allowed`.
  absl::Status CheckAllowed(std::initializer_list<std::string_view> allowed) const;

  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  // The value, or nullopt when absent.
  std::optional<std::string> Get(std::string_view name) const;

  // The integer value of `name` in [min, max]; `fallback` when absent. InvalidArgument
  // ("invalid `limit`: ...") when present but not such an integer.
  absl::StatusOr<int64_t> GetInt(std::string_view name, int64_t min, int64_t max,
                                 int64_t fallback) const;
  // Like GetInt but nullopt when absent.
  absl::StatusOr<std::optional<int64_t>> GetOptionalInt(std::string_view name, int64_t min,
                                                        int64_t max) const;
  // A flag: absent or "0" -> false, "1" -> true, anything else InvalidArgument.
  absl::StatusOr<bool> GetFlag(std::string_view name) const;

 private:
  const std::string* Find(std::string_view name) const;

  std::vector<std::pair<std::string, std::string>> params_;
};

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_QUERY_H_
