// Checks live HTTP exchanges against an OpenAPI 3.1 document (docs/openapi.json): the
// operation exists, the status is documented, documented headers have their schemas (and
// `required` ones are present), no undocumented X-KV-* header appears, the Content-Type is a
// documented media type, and JSON bodies match their schemas. Requests the server accepted
// (2xx) must use only documented query parameters and match the documented request body.
//
// The JSON Schema support is the subset docs/openapi.json uses: $ref (local), type (one or a
// list, with "null"), enum, const, properties, required, additionalProperties, items,
// minItems, maxItems, minimum, maximum, minLength, pattern, oneOf, anyOf.
#ifndef BEYONDKV_TESTS_OPENAPI_VALIDATOR_H_
#define BEYONDKV_TESTS_OPENAPI_VALIDATOR_H_

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/http_test_server.h"

namespace beyondkv::testing {

class OpenApiValidator {
 public:
  explicit OpenApiValidator(nlohmann::json doc);

  // Problems of `value` against `schema` (empty = valid); `where` prefixes each.
  std::vector<std::string> CheckSchema(const nlohmann::json& schema, const nlohmann::json& value,
                                       const std::string& where = "$") const;

  // Problems of one exchange: `target` as sent (path and query), the request's headers and
  // body, and the reply. Records (operationId, status) as covered.
  std::vector<std::string> CheckExchange(const std::string& method, const std::string& target,
                                         const std::string& request_body, const HttpReply& reply);

  // Every (operationId, status) the document lists that no checked exchange produced.
  std::vector<std::string> Uncovered() const;

 private:
  // The path template of `path` ("/v1/kv/{key}") and its operation for `method`, or nullptr.
  const nlohmann::json* FindOperation(const std::string& method, const std::string& path,
                                      std::string* template_out) const;
  const nlohmann::json& Resolve(const nlohmann::json& schema) const;

  nlohmann::json doc_;
  std::set<std::pair<std::string, std::string>> covered_;
};

}  // namespace beyondkv::testing

#endif  // BEYONDKV_TESTS_OPENAPI_VALIDATOR_H_
