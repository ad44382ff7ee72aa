// Number parsing and formatting with Redis's exact rules, shared by the gateways (argument
// parsing) and the shards (INCR family on stored values), so both read a number the same way.
#ifndef BEYONDKV_COMMON_NUMBERS_H_
#define BEYONDKV_COMMON_NUMBERS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace beyondkv {

// Parses a decimal int64 exactly as Redis's string2ll (util.c): optional '-', no '+', no
// spaces, no leading zeros (except "0"), within range. Returns false otherwise.
bool ParseInt64(std::string_view text, int64_t* value);

// Parses a long double as Redis's string2ld: the whole text must be a number that strtold
// reads, with no leading space, and not NaN. Returns false otherwise.
bool ParseLongDouble(std::string_view text, long double* value);

// Formats as Redis's ld2string in "human" mode (INCRBYFLOAT replies): "%.17Lf" with trailing
// zeros and a trailing point removed, e.g. 3010.5 -> "3010.5", 3000 -> "3000".
std::string FormatLongDouble(long double value);

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_NUMBERS_H_
