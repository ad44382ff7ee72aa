// What the HTTP API's handlers share: the environment they run in, the parsed request, and
// the conversions between the contract's parameters and headers and shard ops.
#ifndef BEYONDKV_GATEWAY_HTTP_HANDLER_UTIL_H_
#define BEYONDKV_GATEWAY_HTTP_HANDLER_UTIL_H_

#include <httplib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "gateway/http/http_config.h"
#include "gateway/http/query.h"
#include "gateway/http/routes.h"
#include "gateway/http/shard_hop.h"
#include "proto/shard.pb.h"

namespace beyondkv::gateway::http {

inline constexpr char kRevisionHeader[] = "X-KV-Revision";
inline constexpr char kTtlHeader[] = "X-KV-TTL";
inline constexpr char kTtlMsHeader[] = "X-KV-TTL-MS";
inline constexpr char kMetadataHeader[] = "X-KV-Metadata";
inline constexpr char kKeepTtlHeader[] = "X-KV-KeepTTL";
inline constexpr char kReturnOldHeader[] = "X-KV-Return-Old";
inline constexpr char kReturnValueHeader[] = "X-KV-Return-Value";
inline constexpr char kIfMatchHeader[] = "If-Match";
inline constexpr char kOctetStream[] = "application/octet-stream";
inline constexpr char kJson[] = "application/json";

inline constexpr uint32_t kNamespaces = 16;
// Largest X-KV-Metadata accepted, bytes of JSON text (the contract's 64 KiB).
inline constexpr size_t kMaxMetadataBytes = 64 * 1024;

// What every handler may use; outlives every request.
struct HandlerEnv {
  const HttpConfig& config;
  ShardHop& shards;
};

// One request, parsed as far as routing goes.
struct ApiCall {
  const httplib::Request& req;
  const RouteMatch& match;
  const QueryParams& query;
  std::string body;  // the request body, at most config.max_value_bytes
};

// `?ns=`, 0..15, default 0.
absl::StatusOr<uint32_t> Namespace(const QueryParams& query);

// Now, Unix ms.
int64_t NowMs();

// The value of header `name`, nullopt when absent.
std::optional<std::string> Header(const httplib::Request& req, const char* name);
// A "set to any value" header of the contract (X-KV-KeepTTL, X-KV-Return-Old,
// X-KV-Return-Value): present and not "0" or "false".
bool HeaderFlag(const httplib::Request& req, const char* name);
// An integer header in [min, max] ("X-KV-TTL: 30"); InvalidArgument naming it when malformed.
absl::StatusOr<std::optional<int64_t>> HeaderInt(const httplib::Request& req, const char* name,
                                                 int64_t min, int64_t max);
// If-Match as a revision: decimal, optionally in double quotes (an ETag). 0 means "the key
// does not exist" (the shard's IF_REVISION).
absl::StatusOr<std::optional<uint64_t>> IfMatch(const httplib::Request& req);

// `amount` units of `unit_ms` after `now_ms` (or at `amount` * `unit_ms` when `absolute`), as
// an absolute expiry in Unix ms for the shard, where 0 means "no expiry": an instant at or
// before the epoch becomes 1 (in the past: the key expires). InvalidArgument on overflow.
absl::StatusOr<int64_t> ExpiryMs(int64_t amount, int64_t unit_ms, bool absolute, int64_t now_ms);

// InvalidArgument unless `text` is one JSON value of at most kMaxMetadataBytes.
absl::Status ValidateMetadata(std::string_view text);

// X-KV-Revision, X-KV-TTL / X-KV-TTL-MS (when expire_at_ms != 0) and X-KV-Metadata (when
// non-empty) of an entry.
void SetEntryHeaders(httplib::Response& res, uint64_t revision, int64_t expire_at_ms,
                     const std::string& metadata, int64_t now_ms);

// Remaining TTL of an entry expiring at `expire_at_ms`: ms (at least 0), and whole seconds
// rounded as Redis's TTL does.
int64_t RemainingMs(int64_t expire_at_ms, int64_t now_ms);
int64_t RemainingSeconds(int64_t expire_at_ms, int64_t now_ms);

// A key for an error message: quoted, shortened past 200 bytes.
std::string QuoteKey(std::string_view key);

// Whether `bytes` is well-formed UTF-8 (RFC 3629: no overlongs, surrogates or code points past
// U+10FFFF), i.e. representable exactly as a JSON string.
bool IsUtf8(std::string_view bytes);

// An op of `type` on `key` in `ns`.
v1::Op KeyOp(v1::Op::Type type, uint32_t ns, std::string key);

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_HANDLER_UTIL_H_
