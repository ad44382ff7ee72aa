#include "services/kv-shard/string_ops.h"

#include <cmath>

#include "common/numbers.h"

namespace beyondkv::shard {
namespace {

StringEdit Fail(v1::OpResult::Reason reason) {
  StringEdit edit;
  edit.error = reason;
  edit.write = false;
  return edit;
}

}  // namespace

StringEdit IncrBy(const std::string* current, int64_t delta) {
  int64_t n = 0;
  if (current != nullptr && !ParseInt64(*current, &n)) return Fail(v1::OpResult::NOT_INTEGER);
  if ((delta > 0 && n > INT64_MAX - delta) || (delta < 0 && n < INT64_MIN - delta)) {
    return Fail(v1::OpResult::INT_OVERFLOW);
  }
  StringEdit edit;
  edit.int_value = n + delta;
  edit.value = std::to_string(edit.int_value);
  return edit;
}

StringEdit IncrByFloat(const std::string* current, std::string_view increment) {
  long double n = 0;
  long double delta = 0;
  if (current != nullptr && !ParseLongDouble(*current, &n)) return Fail(v1::OpResult::NOT_FLOAT);
  if (!ParseLongDouble(increment, &delta)) return Fail(v1::OpResult::NOT_FLOAT);
  n += delta;
  if (std::isnan(n) || std::isinf(n)) return Fail(v1::OpResult::NAN_OR_INF);
  StringEdit edit;
  edit.value = FormatLongDouble(n);
  return edit;
}

StringEdit Append(const std::string* current, std::string_view suffix) {
  const size_t size = current == nullptr ? 0 : current->size();
  if (static_cast<int64_t>(suffix.size()) > kMaxStringBytes - static_cast<int64_t>(size)) {
    return Fail(v1::OpResult::STRING_TOO_LONG);
  }
  StringEdit edit;
  edit.value.reserve(size + suffix.size());
  if (current != nullptr) edit.value = *current;
  edit.value.append(suffix);
  edit.length = static_cast<int64_t>(edit.value.size());
  return edit;
}

StringEdit SetRange(const std::string* current, int64_t offset, std::string_view value) {
  if (offset < 0) return Fail(v1::OpResult::OFFSET_OUT_OF_RANGE);
  const size_t size = current == nullptr ? 0 : current->size();
  if (value.empty()) {  // Redis: nothing is written, the current length is reported
    StringEdit edit;
    edit.write = false;
    edit.length = static_cast<int64_t>(size);
    return edit;
  }
  // Compared without adding: offset + size overflows int64 for offsets near 2^63.
  if (offset > kMaxStringBytes - static_cast<int64_t>(value.size())) {
    return Fail(v1::OpResult::STRING_TOO_LONG);
  }
  StringEdit edit;
  if (current != nullptr) edit.value = *current;
  const size_t end = static_cast<size_t>(offset) + value.size();
  if (edit.value.size() < end) edit.value.resize(end, '\0');
  edit.value.replace(static_cast<size_t>(offset), value.size(), value);
  edit.length = static_cast<int64_t>(edit.value.size());
  return edit;
}

bool ExpireConditionHolds(v1::Op::ExpireCondition condition, int64_t current_ms,
                          int64_t next_ms) {
  switch (condition) {
    case v1::Op::EXPIRE_NX:
      return current_ms == 0;
    case v1::Op::EXPIRE_XX:
      return current_ms != 0;
    case v1::Op::EXPIRE_GT:
      return current_ms != 0 && next_ms != 0 && next_ms > current_ms;
    case v1::Op::EXPIRE_LT:
      return next_ms != 0 && (current_ms == 0 || next_ms < current_ms);
    case v1::Op::EXPIRE_XX_LT:
      return current_ms != 0 && next_ms != 0 && next_ms < current_ms;
    default:
      return true;
  }
}

}  // namespace beyondkv::shard
