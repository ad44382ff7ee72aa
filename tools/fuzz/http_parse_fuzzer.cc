// libFuzzer target: what the HTTP API parses from a request without a server:
// percent-decoding and query strings (gateway/http/query.h), base64url
// (gateway/http/base64url.h) and list cursors (gateway/http/list_pages.h).
//
// The input is used whole as each function's text. Checks:
//   - PercentDecode(PercentEncode(x)) == x (either plus mode); PercentEncode emits only
//     unreserved bytes and %XX; PercentDecode agrees with a reference decoder written here;
//   - ParseDecimal agrees with a reference (optional '-', 1+ digits, within int64);
//   - a query string that parses re-encodes (name=value&...) to one that parses to the same
//     parameters;
//   - Base64UrlDecode(Base64UrlEncode(x)) == x; Base64UrlEncode emits only A-Z a-z 0-9 - _;
//     a text that decodes re-encodes to a text that decodes to the same bytes (not to the
//     same text: the decoder accepts non-zero unused bits, "li" and "lg" are both 0x96);
//   - DecodeListCursor(EncodeListCursor(k)) == k; DecodeListCursor never crashes.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/http/base64url.h"
#include "gateway/http/list_pages.h"
#include "gateway/http/query.h"

namespace {

namespace http = beyondkv::gateway::http;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "http_parse_fuzzer: invariant failed: %s\n", what);
    abort();
  }
}

int Hex(char c) {
  if ('0' <= c && c <= '9') return c - '0';
  if ('a' <= c && c <= 'f') return c - 'a' + 10;
  if ('A' <= c && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> RefPercentDecode(std::string_view t, bool plus) {
  std::string out;
  size_t i = 0;
  while (i < t.size()) {
    if (t[i] == '%') {
      if (t.size() - i < 3 || Hex(t[i + 1]) < 0 || Hex(t[i + 2]) < 0) return std::nullopt;
      out += static_cast<char>(Hex(t[i + 1]) * 16 + Hex(t[i + 2]));
      i += 3;
    } else {
      out += (plus && t[i] == '+') ? ' ' : t[i];
      i += 1;
    }
  }
  return out;
}

std::optional<int64_t> RefDecimal(std::string_view t) {
  size_t i = (!t.empty() && t[0] == '-') ? 1 : 0;
  if (i == t.size()) return std::nullopt;
  for (size_t j = i; j < t.size(); ++j) {
    if (t[j] < '0' || t[j] > '9') return std::nullopt;
  }
  std::string s(t);
  errno = 0;
  char* end = nullptr;
  long long v = strtoll(s.c_str(), &end, 10);
  if (errno == ERANGE) return std::nullopt;
  return v;
}

bool Unreserved(unsigned char c) {
  return ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  // Percent-encoding.
  const std::string enc = http::PercentEncode(text);
  for (size_t i = 0; i < enc.size(); ++i) {
    if (enc[i] == '%') {
      Check(i + 2 < enc.size() && Hex(enc[i + 1]) >= 0 && Hex(enc[i + 2]) >= 0,
            "PercentEncode emits %XX");
      i += 2;
    } else {
      Check(Unreserved(enc[i]), "PercentEncode emits only unreserved bytes");
    }
  }
  for (bool plus : {false, true}) {
    Check(http::PercentDecode(enc, plus) == std::optional<std::string>(text),
          "PercentDecode(PercentEncode(x)) == x");
    Check(http::PercentDecode(text, plus) == RefPercentDecode(text, plus),
          "PercentDecode agrees with the reference");
  }

  // Strict integers.
  Check(http::ParseDecimal(text) == RefDecimal(text), "ParseDecimal agrees with the reference");

  // Query strings.
  absl::StatusOr<http::QueryParams> q = http::QueryParams::Parse(text);
  if (q.ok()) {
    // Rebuild a canonical query from the names found by splitting the raw text the same way.
    std::string rebuilt;
    size_t start = 0;
    while (start <= text.size()) {
      size_t amp = text.find('&', start);
      if (amp == std::string::npos) amp = text.size();
      std::string_view pair = std::string_view(text).substr(start, amp - start);
      if (!pair.empty()) {
        size_t eq = pair.find('=');
        std::optional<std::string> name = RefPercentDecode(pair.substr(0, eq), true);
        Check(name.has_value(), "a parsed query's names decode");
        std::optional<std::string> value = q->Get(*name);
        Check(value.has_value(), "every parameter of a parsed query is found");
        std::optional<std::string> ref_value =
            RefPercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
        Check(value == ref_value, "a parameter's value is its decoded text");
        if (!rebuilt.empty()) rebuilt += '&';
        rebuilt += http::PercentEncode(*name) + "=" + http::PercentEncode(*value);
      }
      start = amp + 1;
    }
    absl::StatusOr<http::QueryParams> q2 = http::QueryParams::Parse(rebuilt);
    Check(q2.ok(), "a re-encoded query parses");
    (void)q->CheckAllowed({"limit", "ns", "cursor"});
    (void)q->GetInt("limit", 1, 1000, 100);
    (void)q->GetFlag("ns");
  }

  // Base64url.
  const std::string b64 = http::Base64UrlEncode(text);
  for (char c : b64) {
    Check(('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') ||
              c == '-' || c == '_',
          "Base64UrlEncode emits the url alphabet without padding");
  }
  Check(http::Base64UrlDecode(b64) == std::optional<std::string>(text),
        "Base64UrlDecode(Base64UrlEncode(x)) == x");
  std::optional<std::string> dec = http::Base64UrlDecode(text);
  if (dec) {
    std::string_view unpadded(text);
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
    Check(dec->size() == unpadded.size() * 3 / 4, "decoded length follows the text's length");
    Check(http::Base64UrlDecode(http::Base64UrlEncode(*dec)) == dec,
          "a decoded text's bytes re-encode and decode to themselves");
  }

  // List cursors.
  absl::StatusOr<std::optional<std::string>> key = http::DecodeListCursor(http::EncodeListCursor(text));
  Check(key.ok() && key->has_value() && **key == text, "DecodeListCursor(EncodeListCursor(k)) == k");
  (void)http::DecodeListCursor(text);
  return 0;
}
