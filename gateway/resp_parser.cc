#include "gateway/resp_parser.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"

namespace beyondkv::gateway {
namespace {

// Redis's reply texts (src/networking.c), without the "-ERR " that addReplyError adds.
constexpr char kInvalidMultibulkLength[] = "Protocol error: invalid multibulk length";
constexpr char kInvalidBulkLength[] = "Protocol error: invalid bulk length";
constexpr char kTooBigInline[] = "Protocol error: too big inline request";
constexpr char kTooBigMbulkCount[] = "Protocol error: too big mbulk count string";
constexpr char kTooBigBulkCount[] = "Protocol error: too big bulk count string";
constexpr char kUnbalancedQuotes[] = "Protocol error: unbalanced quotes in request";

// Redis preallocates argv for at most this many arguments, whatever "*" announced
// (processMultibulkBuffer: argv_len = min(multibulklen, 1024)).
constexpr int64_t kMaxArgvReserve = 1024;

// A line buffer grown past this by one long line is released rather than kept per connection.
constexpr size_t kMaxIdleLineCapacity = 4096;

// Redis's string2ll (src/util.c), which decides what a "*" or "$" count may look like: an
// optional '-', then "0" alone or a digit 1-9 and more digits; no '+', spaces or leading
// zeros; fewer than LONG_STR_SIZE (21) bytes; must fit in int64. absl::SimpleAtoi accepts
// more (leading '+', whitespace, zeros), so it cannot be used here.
bool ParseCount(std::string_view s, int64_t* value) {
  if (s.empty() || s.size() >= 21) return false;
  if (s == "0") {
    *value = 0;
    return true;
  }
  size_t i = 0;
  const bool negative = s[0] == '-';
  if (negative && ++i == s.size()) return false;
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const uint64_t digit = s[i] - '0';
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (negative) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *value = v == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *value = static_cast<int64_t>(v);
  }
  return true;
}

// isspace() in the C locale, which sdssplitargs uses to skip blanks between words.
bool IsCSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Splits an inline request line into words like Redis's sdssplitargs (src/sds.c), which
// processInlineBuffer calls. Returns false on unbalanced quotes (also: a closing quote
// followed by anything but whitespace). The one difference: the line is a byte range, so a
// NUL byte is an ordinary byte instead of the end of the string.
bool SplitInlineArgs(std::string_view line, Command* argv) {
  const char* p = line.data();
  const char* const end = p + line.size();
  while (true) {
    while (p < end && IsCSpace(*p)) ++p;
    if (p == end) return true;
    bool in_double = false;  // inside "..."
    bool in_single = false;  // inside '...'
    bool done = false;
    std::string word;
    while (!done) {
      if (in_double) {
        if (p == end) return false;
        if (*p == '\\' && end - p >= 4 && p[1] == 'x' && IsHexDigit(p[2]) &&
            IsHexDigit(p[3])) {
          word.push_back(static_cast<char>(HexDigitValue(p[2]) * 16 + HexDigitValue(p[3])));
          p += 3;
        } else if (*p == '\\' && end - p >= 2) {
          ++p;
          switch (*p) {
            case 'n': word.push_back('\n'); break;
            case 'r': word.push_back('\r'); break;
            case 't': word.push_back('\t'); break;
            case 'b': word.push_back('\b'); break;
            case 'a': word.push_back('\a'); break;
            default: word.push_back(*p); break;
          }
        } else if (*p == '"') {
          // A closing quote must be followed by whitespace or the end of the line.
          if (p + 1 < end && !IsCSpace(p[1])) return false;
          done = true;
        } else {
          word.push_back(*p);
        }
      } else if (in_single) {
        if (p == end) return false;
        if (*p == '\\' && end - p >= 2 && p[1] == '\'') {
          ++p;
          word.push_back('\'');
        } else if (*p == '\'') {
          if (p + 1 < end && !IsCSpace(p[1])) return false;
          done = true;
        } else {
          word.push_back(*p);
        }
      } else if (p == end) {
        done = true;
      } else {
        // Only these end an unquoted word (not \v or \f, unlike the blank skipping above).
        switch (*p) {
          case ' ':
          case '\n':
          case '\r':
          case '\t': done = true; break;
          case '"': in_double = true; break;
          case '\'': in_single = true; break;
          default: word.push_back(*p); break;
        }
      }
      if (p < end) ++p;
    }
    argv->push_back(std::move(word));
  }
}

}  // namespace

RespParser::RespParser(ParserLimits limits) : limits_(limits) {}

absl::Status RespParser::Parse(std::string_view* input, std::vector<Command>* out) {
  while (true) {
    switch (state_) {
      case State::kError:
        return error_;

      case State::kCommandStart:
        if (input->empty()) return absl::OkStatus();
        // processInputBuffer: the request type is fixed by its first byte.
        if (input->front() != '*') {
          state_ = State::kInlineLine;
        } else if (!TakeWholeMultibulk(input, out)) {
          state_ = State::kMultibulkCount;
        }
        break;

      case State::kInlineLine: {
        std::string_view line;
        const LineResult r = ReadInlineLine(input, &line);
        if (r == LineResult::kNeedMore) return absl::OkStatus();
        if (r == LineResult::kError) return error_;
        if (!OnInlineLine(line, out)) return error_;
        ResetCommand();  // releases `line_`, which `line` may have viewed
        break;
      }

      case State::kMultibulkCount: {
        std::string_view line;
        const LineResult r = ReadCountLine(input, &line, kTooBigMbulkCount);
        if (r == LineResult::kNeedMore) return absl::OkStatus();
        if (r == LineResult::kError) return error_;
        const bool ok = OnMultibulkCount(line);
        ClearLine();
        if (!ok) return error_;
        break;
      }

      case State::kBulkCount: {
        std::string_view line;
        const LineResult r = ReadCountLine(input, &line, kTooBigBulkCount);
        if (r == LineResult::kNeedMore) return absl::OkStatus();
        if (r == LineResult::kError) return error_;
        const bool ok = OnBulkCount(line);
        ClearLine();
        if (!ok) return error_;
        break;
      }

      case State::kBulkData:
        ReadBulkData(input);
        if (static_cast<int64_t>(args_.back().size()) < bulk_len_) return absl::OkStatus();
        state_ = State::kBulkTrailer;
        trailer_left_ = 2;
        break;

      case State::kBulkTrailer: {
        // Redis waits for bulklen+2 bytes and skips the last two unchecked.
        const size_t n = std::min<size_t>(trailer_left_, input->size());
        input->remove_prefix(n);
        trailer_left_ -= static_cast<int>(n);
        if (trailer_left_ > 0) return absl::OkStatus();
        if (--args_left_ > 0) {
          state_ = State::kBulkCount;
          break;
        }
        out->push_back(std::move(args_));
        ResetCommand();
        break;
      }
    }
  }
}

namespace {

// A "*" or "$" count the fast path takes: "0", or a digit 1-9 and at most 17 more digits (so
// no overflow), ended by '\r' with the byte after it present. Anything else (a sign, a
// leading zero, a long or unterminated line) is left to the state machine, which knows
// Redis's rules and errors. On success *value is the count and *p is past the line.
bool FastCount(const char** p, const char* end, uint64_t* value) {
  const char* q = *p;
  if (q == end || *q < '0' || *q > '9') return false;
  uint64_t v = static_cast<uint64_t>(*q - '0');
  ++q;
  if (v != 0) {
    const char* const digits_end = q + std::min<ptrdiff_t>(17, end - q);
    while (q < digits_end && *q >= '0' && *q <= '9') v = v * 10 + static_cast<uint64_t>(*q++ - '0');
  }
  if (end - q < 2 || *q != '\r') return false;
  *value = v;
  *p = q + 2;  // '\r' and the (unchecked) byte after it
  return true;
}

}  // namespace

bool RespParser::TakeWholeMultibulk(std::string_view* input, std::vector<Command>* out) {
  const char* const begin = input->data();
  const char* const end = begin + input->size();
  // Pass 1: is the whole command here, in the plain form? Nothing is consumed otherwise.
  const char* p = begin + 1;  // past '*'
  uint64_t count = 0;
  if (!FastCount(&p, end, &count) || count == 0 || count > limits_.max_multibulk_args ||
      count > INT_MAX) {
    return false;
  }
  const char* const first_arg = p;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t len = 0;
    if (p == end || *p != '$') return false;
    ++p;
    if (!FastCount(&p, end, &len) || len > limits_.max_bulk_bytes ||
        static_cast<uint64_t>(end - p) < len + 2) {
      return false;
    }
    p += len + 2;  // the payload and the 2 (unchecked) bytes after it
  }
  const char* const command_end = p;
  // Pass 2: the arguments, in recycled storage as the state machine would use.
  if (args_.capacity() == 0 && !spare_argvs_.empty()) {
    args_.swap(spare_argvs_.back());
    spare_argvs_.pop_back();
    spare_argv_bytes_ -= args_.capacity() * sizeof(std::string);
  }
  args_.reserve(static_cast<size_t>(std::min<uint64_t>(count, kMaxArgvReserve)));
  p = first_arg;
  for (uint64_t i = 0; i < count; ++i) {
    ++p;  // '$'
    uint64_t len = 0;
    FastCount(&p, end, &len);
    if (spare_args_.empty()) {
      args_.emplace_back(p, static_cast<size_t>(len));
    } else {
      std::string& arg = args_.emplace_back(std::move(spare_args_.back()));
      spare_args_.pop_back();
      spare_bytes_ -= arg.capacity();
      arg.assign(p, static_cast<size_t>(len));
    }
    p += len + 2;
  }
  out->push_back(std::move(args_));
  args_ = Command();
  input->remove_prefix(static_cast<size_t>(command_end - begin));
  return true;
}

RespParser::LineResult RespParser::ReadCountLine(std::string_view* input,
                                                 std::string_view* line,
                                                 std::string_view too_big) {
  // The first '\r' ends the line, so `line_` can end with '\r' only when it was the last
  // byte of an earlier call; like Redis, act only once the byte after it has arrived.
  if (!line_.empty() && line_.back() == '\r') {
    if (input->empty()) return LineResult::kNeedMore;
    input->remove_prefix(1);
    line_.pop_back();
    *line = line_;
    return LineResult::kDone;
  }
  const size_t cr = input->find('\r');
  // Redis: "too big ... count string" once more than PROTO_INLINE_MAX_SIZE bytes are
  // pending without a '\r'.
  const size_t line_bytes = line_.size() + (cr == std::string_view::npos ? input->size() : cr);
  if (line_bytes > limits_.max_inline_bytes) {
    Fail(std::string(too_big));
    return LineResult::kError;
  }
  if (cr == std::string_view::npos || cr + 1 == input->size()) {
    line_.append(input->data(), input->size());
    input->remove_prefix(input->size());
    return LineResult::kNeedMore;
  }
  if (line_.empty()) {
    *line = input->substr(0, cr);
  } else {
    line_.append(input->data(), cr);
    *line = line_;
  }
  input->remove_prefix(cr + 2);  // '\r' and the (unchecked) byte after it
  return LineResult::kDone;
}

RespParser::LineResult RespParser::ReadInlineLine(std::string_view* input,
                                                  std::string_view* line) {
  const size_t lf = input->find('\n');
  if (lf == std::string_view::npos) {
    if (input->empty()) return LineResult::kNeedMore;
    // Redis: "too big inline request" once more than PROTO_INLINE_MAX_SIZE bytes are pending
    // without a '\n'. One byte more is allowed when it is a '\r' that may start the "\r\n"
    // terminator, so the verdict does not depend on how the bytes were split into reads.
    const size_t pending = line_.size() + input->size();
    if (pending > limits_.max_inline_bytes &&
        !(pending == limits_.max_inline_bytes + 1 && input->back() == '\r')) {
      Fail(kTooBigInline);
      return LineResult::kError;
    }
    line_.append(input->data(), input->size());
    input->remove_prefix(input->size());
    return LineResult::kNeedMore;
  }
  std::string_view content;
  if (line_.empty()) {
    content = input->substr(0, lf);
  } else {
    line_.append(input->data(), lf);
    content = line_;
  }
  input->remove_prefix(lf + 1);
  if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
  if (content.size() > limits_.max_inline_bytes) {
    Fail(kTooBigInline);
    return LineResult::kError;
  }
  *line = content;
  return LineResult::kDone;
}

bool RespParser::OnMultibulkCount(std::string_view line) {
  int64_t count = 0;
  // line[0] is the '*' that selected this state.
  if (!ParseCount(line.substr(1), &count) || count > INT_MAX ||
      (count > 0 && static_cast<uint64_t>(count) > limits_.max_multibulk_args)) {
    Fail(kInvalidMultibulkLength);
    return false;
  }
  if (count <= 0) {  // *0 and *-1 (any negative count) are skipped, as in Redis
    state_ = State::kCommandStart;
    return true;
  }
  args_left_ = count;
  if (args_.capacity() == 0 && !spare_argvs_.empty()) {
    args_.swap(spare_argvs_.back());
    spare_argvs_.pop_back();
    spare_argv_bytes_ -= args_.capacity() * sizeof(std::string);
  }
  args_.reserve(static_cast<size_t>(std::min(count, kMaxArgvReserve)));
  state_ = State::kBulkCount;
  return true;
}

bool RespParser::OnBulkCount(std::string_view line) {
  if (line.empty() || line[0] != '$') {
    // An empty line means the byte Redis looked at was the '\r'; addReplyErrorFormat turns
    // CR and LF into spaces.
    char got = line.empty() ? '\r' : line[0];
    if (got == '\r' || got == '\n') got = ' ';
    Fail(absl::StrCat("Protocol error: expected '$', got '", std::string(1, got), "'"));
    return false;
  }
  int64_t len = 0;
  if (!ParseCount(line.substr(1), &len) || len < 0 ||
      static_cast<uint64_t>(len) > limits_.max_bulk_bytes) {
    Fail(kInvalidBulkLength);
    return false;
  }
  bulk_len_ = len;
  if (spare_args_.empty()) {
    args_.emplace_back();
  } else {
    args_.push_back(std::move(spare_args_.back()));
    spare_args_.pop_back();
    spare_bytes_ -= args_.back().capacity();
    args_.back().clear();
  }
  args_.back().reserve(std::min<size_t>(static_cast<size_t>(len), kMaxBulkReserveBytes));
  state_ = State::kBulkData;
  return true;
}

bool RespParser::OnInlineLine(std::string_view line, std::vector<Command>* out) {
  Command argv;
  if (!SplitInlineArgs(line, &argv)) {
    Fail(kUnbalancedQuotes);
    return false;
  }
  if (!argv.empty()) out->push_back(std::move(argv));  // blank lines are skipped
  return true;
}

void RespParser::ReadBulkData(std::string_view* input) {
  std::string& arg = args_.back();
  const size_t n = std::min(static_cast<size_t>(bulk_len_) - arg.size(), input->size());
  if (arg.size() + n > arg.capacity()) {
    // Grow at least twofold but never past the declared length. Built in a fresh string so
    // that the allocation is exactly `target` (libstdc++'s reserve() may round a growing
    // string up to twice its capacity, past the declared length).
    const size_t target = std::min(static_cast<size_t>(bulk_len_),
                                   std::max(arg.capacity() * 2, arg.size() + n));
    std::string bigger;
    bigger.reserve(target);
    bigger.append(arg);
    arg.swap(bigger);
  }
  arg.append(input->data(), n);
  args_bytes_ += n;
  input->remove_prefix(n);
}

void RespParser::Fail(std::string message) {
  // The connection is about to be closed; drop what the partial command holds.
  ResetCommand();
  error_ = absl::InvalidArgumentError(message);
  state_ = State::kError;
}

void RespParser::Recycle(Command&& argv) {
  for (std::string& arg : argv) {
    const size_t capacity = arg.capacity();
    // Strings within the inline buffer (15 bytes) own no storage worth keeping.
    if (capacity <= 15 || capacity > kMaxSpareArgBytes) continue;
    if (spare_bytes_ + capacity > kMaxSpareBytes) break;
    spare_bytes_ += capacity;
    spare_args_.push_back(std::move(arg));
  }
  argv.clear();
  const size_t argv_bytes = argv.capacity() * sizeof(std::string);
  if (argv_bytes > 0 && spare_argv_bytes_ + argv_bytes <= kMaxSpareBytes) {
    spare_argv_bytes_ += argv_bytes;
    spare_argvs_.push_back(std::move(argv));
  }
}

void RespParser::ResetCommand() {
  args_ = Command();
  args_bytes_ = 0;
  args_left_ = 0;
  bulk_len_ = 0;
  trailer_left_ = 0;
  ClearLine();
  state_ = State::kCommandStart;
}

void RespParser::ClearLine() {
  if (line_.capacity() > kMaxIdleLineCapacity) {
    std::string().swap(line_);
  } else {
    line_.clear();
  }
}

}  // namespace beyondkv::gateway
