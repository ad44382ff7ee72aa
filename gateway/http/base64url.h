// Base64url (RFC 4648 §5) as the HTTP API carries values and cursors: encoded without
// padding; decoding is strict about the alphabet, so a value sent in standard base64 or with
// stray characters is refused rather than silently altered.
#ifndef BEYONDKV_GATEWAY_HTTP_BASE64URL_H_
#define BEYONDKV_GATEWAY_HTTP_BASE64URL_H_

#include <optional>
#include <string>
#include <string_view>

namespace beyondkv::gateway::http {

// `bytes` in base64url without '=' padding.
std::string Base64UrlEncode(std::string_view bytes);

// The bytes of `text`, which may carry correct '=' padding. nullopt if `text` has a character
// outside A-Z a-z 0-9 - _ (whitespace, '+', '/' included), misplaced padding, or an
// impossible length.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_BASE64URL_H_
