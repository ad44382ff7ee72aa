#include "common/glob.h"

#include <cctype>
#include <cstddef>

namespace beyondkv {
namespace {

char Fold(char c, bool nocase) {
  return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// Matches the single-character element of `pattern` at `*p` (anything but `*`) against `c`.
// Advances *p past the element.
bool MatchOne(std::string_view pattern, size_t* p, char c, bool nocase) {
  const size_t n = pattern.size();
  char pc = pattern[*p];
  if (pc == '?') {
    ++*p;
    return true;
  }
  if (pc == '\\' && *p + 1 < n) {
    bool m = Fold(pattern[*p + 1], nocase) == Fold(c, nocase);
    *p += 2;
    return m;
  }
  if (pc != '[') {
    ++*p;
    return Fold(pc, nocase) == Fold(c, nocase);
  }
  // Character class. As in Redis, an unterminated class runs to the end of the pattern.
  size_t i = *p + 1;
  bool negate = i < n && pattern[i] == '^';
  if (negate) ++i;
  bool match = false;
  while (i < n && pattern[i] != ']') {
    if (pattern[i] == '\\' && i + 1 < n) {
      ++i;
      if (Fold(pattern[i], nocase) == Fold(c, nocase)) match = true;
    } else if (i + 2 < n && pattern[i + 1] == '-') {
      unsigned char lo = Fold(pattern[i], nocase);
      unsigned char hi = Fold(pattern[i + 2], nocase);
      if (lo > hi) std::swap(lo, hi);
      unsigned char x = Fold(c, nocase);
      if (x >= lo && x <= hi) match = true;
      i += 2;
    } else if (Fold(pattern[i], nocase) == Fold(c, nocase)) {
      match = true;
    }
    ++i;
  }
  *p = i < n ? i + 1 : n;  // past ']'
  return negate ? !match : match;
}

}  // namespace

// Greedy matching with one backtrack point (the last `*`): correct because every other
// element matches exactly one character, and O(|pattern| * |subject|) at worst, so no
// pattern can make it exponential.
bool GlobMatch(std::string_view pattern, std::string_view subject, bool nocase) {
  size_t p = 0, s = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  while (s < subject.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      if (p == pattern.size()) return true;
      star_p = p;
      star_s = s;
      continue;
    }
    if (p < pattern.size()) {
      size_t next = p;
      if (MatchOne(pattern, &next, subject[s], nocase)) {
        p = next;
        ++s;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    s = ++star_s;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace beyondkv
