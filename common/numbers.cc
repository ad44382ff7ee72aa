#include "common/numbers.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace beyondkv {

bool ParseInt64(std::string_view text, int64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-') {
    negative = true;
    i = 1;
    if (text.size() == 1) return false;
  }
  if (text[i] == '0' && text.size() > i + 1) return false;  // leading zero
  if (negative && text == "-0") return false;
  uint64_t v = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (negative) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *value = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *value = static_cast<int64_t>(v);
  }
  return true;
}

bool ParseLongDouble(std::string_view text, long double* value) {
  // Redis: MAX_LONG_DOUBLE_CHARS is 5 KiB; anything longer is not a valid float.
  if (text.empty() || text.size() >= 5 * 1024) return false;
  if (std::isspace(static_cast<unsigned char>(text[0]))) return false;
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  long double v = strtold(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || errno == ERANGE || std::isnan(v)) return false;
  *value = v;
  return true;
}

std::string FormatLongDouble(long double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[5 * 1024 + 64];
  int len = snprintf(buf, sizeof(buf), "%.17Lf", value);
  if (len <= 0 || static_cast<size_t>(len) >= sizeof(buf)) return "0";
  std::string s(buf, static_cast<size_t>(len));
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace beyondkv
