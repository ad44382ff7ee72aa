// Redis glob-style pattern matching, as KEYS, SCAN MATCH and CONFIG GET use it: `*`, `?`,
// `[abc]`, `[^a]`, `[a-z]` and `\x` escapes. Semantics follow `stringmatchlen` in Redis's
// util.c (e.g. an unterminated `[` matches up to the end of the pattern).
#ifndef BEYONDKV_COMMON_GLOB_H_
#define BEYONDKV_COMMON_GLOB_H_

#include <string_view>

namespace beyondkv {

// Whether `subject` matches `pattern`. With `nocase`, ASCII letters compare case-insensitively.
bool GlobMatch(std::string_view pattern, std::string_view subject, bool nocase = false);

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_GLOB_H_
