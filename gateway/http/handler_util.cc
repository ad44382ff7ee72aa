#include "gateway/http/handler_util.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/http/strings.h"

namespace beyondkv::gateway::http {

absl::StatusOr<uint32_t> Namespace(const QueryParams& query) {
  absl::StatusOr<int64_t> ns = query.GetInt("ns", 0, kNamespaces - 1, 0);
  if (!ns.ok()) return ns.status();
  return static_cast<uint32_t>(*ns);
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::optional<std::string> Header(const httplib::Request& req, const char* name) {
  if (!req.has_header(name)) return std::nullopt;
  return req.get_header_value(name);
}

bool HeaderFlag(const httplib::Request& req, const char* name) {
  std::optional<std::string> v = Header(req, name);
  return v && *v != "0" && *v != "false";
}

absl::StatusOr<std::optional<int64_t>> HeaderInt(const httplib::Request& req, const char* name,
                                                 int64_t min, int64_t max) {
  std::optional<std::string> text = Header(req, name);
  if (!text) return std::optional<int64_t>();
  std::optional<int64_t> value = ParseDecimal(*text);
  if (!value || *value < min || *value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid ", name, " header: \"", *text, "\" is not an integer in [", min, ", ", max, "]"));
  }
  return value;
}

absl::StatusOr<std::optional<uint64_t>> IfMatch(const httplib::Request& req) {
  std::optional<std::string> text = Header(req, kIfMatchHeader);
  if (!text) return std::optional<uint64_t>();
  std::string_view digits = *text;
  if (digits.size() >= 2 && digits.front() == '"' && digits.back() == '"') {
    digits = digits.substr(1, digits.size() - 2);
  }
  uint64_t revision = 0;
  bool ok = !digits.empty() && digits.size() <= 20;
  for (char c : digits) ok = ok && c >= '0' && c <= '9';
  if (ok) {
    for (char c : digits) {
      const uint64_t d = static_cast<uint64_t>(c - '0');
      if (revision > (std::numeric_limits<uint64_t>::max() - d) / 10) {
        ok = false;
        break;
      }
      revision = revision * 10 + d;
    }
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid If-Match header: \"", *text, "\" is not a revision"));
  }
  return std::optional<uint64_t>(revision);
}

absl::StatusOr<int64_t> ExpiryMs(int64_t amount, int64_t unit_ms, bool absolute, int64_t now_ms) {
  int64_t ms = 0;
  int64_t at = 0;
  if (__builtin_mul_overflow(amount, unit_ms, &ms) ||
      (!absolute && __builtin_add_overflow(ms, now_ms, &at))) {
    return absl::InvalidArgumentError(absl::StrCat("expiry out of range: ", amount));
  }
  if (absolute) at = ms;
  return at <= 0 ? 1 : at;
}

absl::Status ValidateMetadata(std::string_view text) {
  if (text.size() > kMaxMetadataBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "X-KV-Metadata is ", text.size(), " bytes; at most ", kMaxMetadataBytes, " are allowed"));
  }
  if (!nlohmann::json::accept(text.begin(), text.end())) {
    return absl::InvalidArgumentError("X-KV-Metadata is not valid JSON");
  }
  return absl::OkStatus();
}

int64_t RemainingMs(int64_t expire_at_ms, int64_t now_ms) {
  return std::max<int64_t>(0, expire_at_ms - now_ms);
}

int64_t RemainingSeconds(int64_t expire_at_ms, int64_t now_ms) {
  return (RemainingMs(expire_at_ms, now_ms) + 500) / 1000;
}

void SetEntryHeaders(httplib::Response& res, uint64_t revision, int64_t expire_at_ms,
                     const std::string& metadata, int64_t now_ms) {
  res.set_header(kRevisionHeader, std::to_string(revision));
  if (expire_at_ms != 0) {
    res.set_header(kTtlHeader, std::to_string(RemainingSeconds(expire_at_ms, now_ms)));
    res.set_header(kTtlMsHeader, std::to_string(RemainingMs(expire_at_ms, now_ms)));
  }
  if (!metadata.empty()) res.set_header(kMetadataHeader, metadata);
}

std::string QuoteKey(std::string_view key) {
  constexpr size_t kMax = 200;
  if (key.size() <= kMax) return absl::StrCat("\"", AV(key), "\"");
  return absl::StrCat("\"", AV(key.substr(0, kMax)), "\"... (", key.size(), " bytes)");
}

bool IsUtf8(std::string_view bytes) {
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(bytes[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

v1::Op KeyOp(v1::Op::Type type, uint32_t ns, std::string key) {
  v1::Op op;
  op.set_type(type);
  op.set_ns(ns);
  op.set_key(std::move(key));
  return op;
}

}  // namespace beyondkv::gateway::http
