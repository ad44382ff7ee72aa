// The semantics of the read-modify-write string commands and of EXPIRE's conditions, as pure
// functions of the current value: no engine, no socket, so every branch is tested directly
// (string_ops_test.cc). The op table (op_table.h) reads the key, calls these, and writes the
// result back keeping the key's expiry and metadata.
//
// Limits and texts follow Redis 7.0 (src/t_string.c): strings are at most 512 MiB
// (proto-max-bulk-len); INCR parses a signed 64-bit decimal without spaces or a '+' sign;
// INCRBYFLOAT reads both numbers as long double and refuses a NaN or infinite result.
// Failures carry the reason the gateways reply by (v1::OpResult::Reason).
#ifndef BEYONDKV_SERVICES_KV_SHARD_STRING_OPS_H_
#define BEYONDKV_SERVICES_KV_SHARD_STRING_OPS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/shard.pb.h"

namespace beyondkv::shard {

// Largest string APPEND and SETRANGE may build, in bytes: Redis's default proto-max-bulk-len.
inline constexpr int64_t kMaxStringBytes = 512ll << 20;

struct StringEdit {
  // REASON_UNSPECIFIED: success. Otherwise nothing is to be written.
  v1::OpResult::Reason error = v1::OpResult::REASON_UNSPECIFIED;
  bool write = true;       // false: success that writes nothing (SETRANGE with an empty value)
  std::string value;       // the new value to store
  int64_t int_value = 0;   // INCR: the new number
  int64_t length = 0;      // APPEND, SETRANGE: the new length in bytes
};

// INCRBY: `current` (nullptr = absent, read as 0) + `delta`. Errors: NOT_INTEGER (the value is
// not a 64-bit decimal integer), INT_OVERFLOW (the sum leaves int64).
StringEdit IncrBy(const std::string* current, int64_t delta);

// INCRBYFLOAT: `current` (nullptr = 0) + `increment` (text). Errors: NOT_FLOAT (either is not
// a number), NAN_OR_INF (the result). `value` is the sum as Redis prints it (%.17Lg, no
// trailing zeros).
StringEdit IncrByFloat(const std::string* current, std::string_view increment);

// APPEND: `current` (nullptr = "") followed by `suffix`. Error: STRING_TOO_LONG past
// kMaxStringBytes.
StringEdit Append(const std::string* current, std::string_view suffix);

// SETRANGE: `value` written at byte `offset` of `current` (nullptr = ""), zero-padding a gap.
// An empty `value` writes nothing and reports the current length. Errors: OFFSET_OUT_OF_RANGE
// (negative offset), STRING_TOO_LONG (offset + length past kMaxStringBytes, checked without
// overflow for offsets up to 2^63 - 1).
StringEdit SetRange(const std::string* current, int64_t offset, std::string_view value);

// EXPIRE ... NX | XX | GT | LT (Redis 7.0 expireGenericCommand): whether the condition lets
// `next_ms` replace `current_ms` (absolute Unix ms, 0 = no expiry, which counts as infinite
// for GT and LT).
bool ExpireConditionHolds(v1::Op::ExpireCondition condition, int64_t current_ms,
                          int64_t next_ms);

}  // namespace beyondkv::shard

#endif  // BEYONDKV_SERVICES_KV_SHARD_STRING_OPS_H_
