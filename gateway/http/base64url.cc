#include "gateway/http/base64url.h"

#include "absl/strings/escaping.h"
#include "gateway/http/strings.h"

namespace beyondkv::gateway::http {
namespace {

bool InAlphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  absl::WebSafeBase64Escape(AV(bytes), &out);
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  // Abseil's decoder skips whitespace; check the alphabet first so nothing is skipped.
  size_t data_len = text.size();
  while (data_len > 0 && text[data_len - 1] == '=') --data_len;
  const size_t padding = text.size() - data_len;
  if (padding > 0 && (padding > 2 || text.size() % 4 != 0)) return std::nullopt;
  if (data_len % 4 == 1) return std::nullopt;
  for (size_t i = 0; i < data_len; ++i) {
    if (!InAlphabet(text[i])) return std::nullopt;
  }
  std::string out;
  if (!absl::WebSafeBase64Unescape(AV(text.substr(0, data_len)), &out)) return std::nullopt;
  return out;
}

}  // namespace beyondkv::gateway::http
