#include "gateway/http/query.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/http/strings.h"

namespace beyondkv::gateway::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PercentEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (Unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<int64_t> ParseDecimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

absl::StatusOr<QueryParams> QueryParams::Parse(std::string_view raw_query) {
  QueryParams q;
  if (raw_query.empty()) return q;
  for (absl::string_view piece : absl::StrSplit(AV(raw_query), '&')) {
    const std::string_view pair = SV(piece);
    if (pair.empty()) continue;  // "a=1&&b=2" and a trailing '&' are tolerated, as browsers do
    const size_t eq = pair.find('=');
    std::optional<std::string> name = PercentDecode(pair.substr(0, eq), true);
    std::optional<std::string> value =
        PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!name || !value) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed percent-encoding in query parameter `", AV(pair), "`"));
    }
    if (q.Find(*name) != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("query parameter `", *name, "` given twice"));
    }
    q.params_.emplace_back(std::move(*name), std::move(*value));
  }
  return q;
}

absl::Status QueryParams::CheckAllowed(std::initializer_list<std::string_view> allowed) const {
  for (const auto& [name, value] : params_) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == name;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) absl::StrAppend(&list, list.empty() ? "" : ", ", AV(a));
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown query parameter `", name, "`",
          list.empty() ? " (this route takes none)" : absl::StrCat(" (allowed: ", list, ")")));
    }
  }
  return absl::OkStatus();
}

const std::string* QueryParams::Find(std::string_view name) const {
  for (const auto& [n, v] : params_) {
    if (n == name) return &v;
  }
  return nullptr;
}

std::optional<std::string> QueryParams::Get(std::string_view name) const {
  const std::string* v = Find(name);
  if (v == nullptr) return std::nullopt;
  return *v;
}

absl::StatusOr<std::optional<int64_t>> QueryParams::GetOptionalInt(std::string_view name,
                                                                   int64_t min, int64_t max) const {
  const std::string* text = Find(name);
  if (text == nullptr) return std::optional<int64_t>();
  std::optional<int64_t> value = ParseDecimal(*text);
  if (!value || *value < min || *value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid `", AV(name), "`: \"", *text, "\" is not an integer in [", min, ", ", max, "]"));
  }
  return value;
}

absl::StatusOr<int64_t> QueryParams::GetInt(std::string_view name, int64_t min, int64_t max,
                                            int64_t fallback) const {
  absl::StatusOr<std::optional<int64_t>> v = GetOptionalInt(name, min, max);
  if (!v.ok()) return v.status();
  return v->value_or(fallback);
}

absl::StatusOr<bool> QueryParams::GetFlag(std::string_view name) const {
  const std::string* text = Find(name);
  if (text == nullptr || *text == "0") return false;
  if (*text == "1") return true;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid `", AV(name), "`: \"", *text, "\" (use ", AV(name), "=1)"));
}

}  // namespace beyondkv::gateway::http
