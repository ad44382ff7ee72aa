// libFuzzer target: GlobMatch (common/glob.h) against a reference matcher written here.
//
// Input: byte 0 holds flags (bit 0: nocase); then the pattern and the subject, split at the
// first 0xFF byte (no 0xFF: split in the middle). Both are cut to 64 bytes.
//
// The reference is the plain recursive definition of Redis's stringmatchlen (util.c) over
// unsigned bytes, memoized on (pattern position, subject position) so it stays polynomial:
//   '*' matches any run (possibly empty); '?' any one byte; '\x' the byte x ('\' at the end
//   of the pattern is a literal '\'); '[...]' one byte in the class ('^' first negates;
//   'a-z' a range, bounds in either order; '\x' inside is x; a class with no ']' runs to
//   the end of the pattern); anything else itself. With nocase, ASCII letters fold.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/glob.h"

namespace {

unsigned char Fold(unsigned char c, bool nocase) {
  return nocase ? static_cast<unsigned char>(std::tolower(c)) : c;
}

class Reference {
 public:
  Reference(std::string_view p, std::string_view s, bool nocase)
      : p_(p), s_(s), nocase_(nocase), memo_((p.size() + 1) * (s.size() + 1), -1) {}

  bool Match(size_t pi, size_t si) {
    int8_t& m = memo_[pi * (s_.size() + 1) + si];
    if (m < 0) m = Compute(pi, si) ? 1 : 0;
    return m == 1;
  }

 private:
  bool Compute(size_t pi, size_t si) {
    if (pi == p_.size()) return si == s_.size();
    if (p_[pi] == '*') {
      if (Match(pi + 1, si)) return true;
      return si < s_.size() && Match(pi, si + 1);
    }
    if (si == s_.size()) return false;
    size_t next;
    if (!Element(pi, Fold(s_[si], nocase_), &next)) return false;
    return Match(next, si + 1);
  }

  // Whether the element at `pi` (not '*') matches byte c; *next is past it.
  bool Element(size_t pi, unsigned char c, size_t* next) {
    const size_t n = p_.size();
    auto at = [&](size_t i) { return Fold(p_[i], nocase_); };
    switch (p_[pi]) {
      case '?':
        *next = pi + 1;
        return true;
      case '\\':
        if (pi + 1 < n) {
          *next = pi + 2;
          return at(pi + 1) == c;
        }
        *next = pi + 1;
        return c == '\\';
      case '[': {
        size_t i = pi + 1;
        bool negate = false;
        if (i < n && p_[i] == '^') {
          negate = true;
          ++i;
        }
        bool in = false;
        for (;;) {
          if (i >= n) {  // unterminated: the class ends with the pattern
            *next = n;
            break;
          }
          if (p_[i] == ']') {
            *next = i + 1;
            break;
          }
          if (p_[i] == '\\' && i + 1 < n) {
            in |= at(i + 1) == c;
            i += 2;
          } else if (i + 2 < n && p_[i + 1] == '-') {
            unsigned char a = at(i), b = at(i + 2);
            unsigned char lo = a < b ? a : b, hi = a < b ? b : a;
            in |= lo <= c && c <= hi;
            i += 3;
          } else {
            in |= at(i) == c;
            i += 1;
          }
        }
        return in != negate;
      }
      default:
        *next = pi + 1;
        return at(pi) == c;
    }
  }

  std::string_view p_, s_;
  bool nocase_;
  std::vector<int8_t> memo_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool nocase = data[0] & 1;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t cut = rest.find('\xff');
  std::string pattern, subject;
  if (cut == std::string_view::npos) {
    pattern = std::string(rest.substr(0, rest.size() / 2));
    subject = std::string(rest.substr(rest.size() / 2));
  } else {
    pattern = std::string(rest.substr(0, cut));
    subject = std::string(rest.substr(cut + 1));
  }
  if (pattern.size() > 64) pattern.resize(64);
  if (subject.size() > 64) subject.resize(64);

  const bool got = beyondkv::GlobMatch(pattern, subject, nocase);
  const bool want = Reference(pattern, subject, nocase).Match(0, 0);
  if (got != want) {
    fprintf(stderr, "glob_fuzzer: GlobMatch(\"%s\", \"%s\", nocase=%d) = %d, reference says %d\n",
            pattern.c_str(), subject.c_str(), nocase, got, want);
    abort();
  }
  // A pattern always matches itself with every special byte escaped.
  std::string escaped;
  for (char c : subject) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') escaped += '\\';
    escaped += c;
  }
  if (!beyondkv::GlobMatch(escaped, subject, nocase)) {
    fprintf(stderr, "glob_fuzzer: escaped subject does not match itself: \"%s\"\n",
            subject.c_str());
    abort();
  }
  return 0;
}
