#include "gateway/resp_parser.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

// Records the largest single heap allocation while a test enables it, to show that
// declared-but-unsent lengths allocate nothing large.
namespace {
std::atomic<bool> g_track_allocations{false};
std::atomic<size_t> g_largest_allocation{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_track_allocations.load(std::memory_order_relaxed)) {
    size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
    while (size > seen && !g_largest_allocation.compare_exchange_weak(seen, size)) {
    }
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace beyondkv::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class AllocationTracker {
 public:
  AllocationTracker() {
    g_largest_allocation = 0;
    g_track_allocations = true;
  }
  ~AllocationTracker() { g_track_allocations = false; }
  size_t largest() const { return g_largest_allocation.load(); }
};

struct Result {
  absl::Status status;
  std::vector<Command> commands;
  size_t buffered_bytes = 0;
};

// Feeds `bytes` to a fresh parser in pieces of `chunk` bytes (0 = all at once), stopping at
// the first error. Checks that every OK call consumed its whole input.
Result ParseInChunks(std::string_view bytes, size_t chunk, ParserLimits limits = {}) {
  RespParser parser(limits);
  Result result;
  if (chunk == 0) chunk = bytes.size() + 1;
  for (size_t pos = 0; pos < bytes.size() && result.status.ok(); pos += chunk) {
    std::string piece(bytes.substr(pos, chunk));  // owned, so a stale view would be caught
    std::string_view input = piece;
    result.status = parser.Parse(&input, &result.commands);
    if (result.status.ok()) EXPECT_TRUE(input.empty());
  }
  result.buffered_bytes = parser.buffered_bytes();
  return result;
}

Result ParseWhole(std::string_view bytes, ParserLimits limits = {}) {
  return ParseInChunks(bytes, 0, limits);
}

// Each valid stream, its commands, and what remains buffered.
struct ValidCase {
  std::string bytes;
  std::vector<Command> commands;
};

std::vector<ValidCase> ValidCases() {
  using namespace std::string_literals;
  return {
      {"*1\r\n$4\r\nPING\r\n", {{"PING"}}},
      {"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", {{"SET", "key", "value"}}},
      {"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", {{"ECHO", ""}}},
      {"*2\r\n$4\r\nECHO\r\n$6\r\na\0\r\n*$\r\n"s, {{"ECHO", "a\0\r\n*$"s}}},
      {"*0\r\n*-1\r\n*-7\r\n*1\r\n$4\r\nPING\r\n", {{"PING"}}},
      {"PING\r\n", {{"PING"}}},
      {"PING\n", {{"PING"}}},
      {"\r\n\n   \r\n\t\nPING\r\n", {{"PING"}}},
      {"set a b\r\nGET a\n", {{"set", "a", "b"}, {"GET", "a"}}},
      {"SET k \"a b\\x41\\n\" 'c\\'d'\r\n", {{"SET", "k", "a bA\n", "c'd"}}},
      {"ECHO a\0b\r\n"s, {{"ECHO", "a\0b"s}}},
      // Redis skips the byte after a count line's '\r' and the 2 after a payload unchecked.
      {"*1\rX$4\rYPINGxy", {{"PING"}}},
      {"*1\r\n$4\r\nPING\r\nPING\r\n*1\r\n$4\r\nPING\r\n", {{"PING"}, {"PING"}, {"PING"}}},
  };
}

TEST(RespParserTest, ByteByByteAndChunkedEqualWhole) {
  for (const ValidCase& c : ValidCases()) {
    for (size_t chunk : {0, 1, 2, 3, 5, 7}) {
      SCOPED_TRACE(testing::Message() << "bytes=" << testing::PrintToString(c.bytes)
                                      << " chunk=" << chunk);
      Result r = ParseInChunks(c.bytes, chunk);
      ASSERT_TRUE(r.status.ok()) << r.status;
      EXPECT_EQ(r.commands, c.commands);
      EXPECT_EQ(r.buffered_bytes, 0u);
    }
  }
}

TEST(RespParserTest, PipelinedFramesInOneBuffer) {
  std::string bytes;
  std::vector<Command> expected;
  for (const ValidCase& c : ValidCases()) {
    bytes += c.bytes;
    expected.insert(expected.end(), c.commands.begin(), c.commands.end());
  }
  for (size_t chunk : {0, 1, 4096}) {
    Result r = ParseInChunks(bytes, chunk);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.commands, expected);
  }
}

TEST(RespParserTest, RecycledArgumentsAreReusedWithinABound) {
  RespParser parser;
  std::vector<Command> out;
  // An MGET of 300 keys of 20 bytes: every key owns heap storage.
  std::string request = "*301\r\n$4\r\nMGET\r\n";
  for (int i = 0; i < 300; ++i) {
    absl::StrAppend(&request, "$20\r\n", "key:", 1000000000000000 + i, "\r\n");
  }
  std::string_view in = request;
  ASSERT_TRUE(parser.Parse(&in, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  parser.Recycle(std::move(out[0]));
  out.clear();
  // Kept within the bound, however many strings came back.
  EXPECT_GT(parser.spare_bytes(), 0u);
  EXPECT_LE(parser.spare_bytes(), 2 * RespParser::kMaxSpareBytes);  // strings, then vectors

  // The next commands parse exactly as before, reused strings or not, with no stale bytes.
  in = "*3\r\n$3\r\nSET\r\n$20\r\nkey:2222222222222222\r\n$1\r\nv\r\n"
       "*2\r\n$3\r\nGET\r\n$0\r\n\r\n";
  ASSERT_TRUE(parser.Parse(&in, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_THAT(out[0], ElementsAre("SET", "key:2222222222222222", "v"));
  EXPECT_THAT(out[1], ElementsAre("GET", ""));
  // Moved-from or short strings own nothing worth keeping: only the vector is kept.
  const size_t before = parser.spare_bytes();
  Command moved = {"GET", std::string()};
  parser.Recycle(std::move(moved));
  EXPECT_LE(parser.spare_bytes(), before + 2 * sizeof(std::string));
}

TEST(RespParserTest, PartialBulkIsBufferedAcrossReads) {
  RespParser parser;
  std::vector<Command> out;
  std::string_view in = "*2\r\n$3\r\nGET\r\n$10\r\n01234";
  ASSERT_TRUE(parser.Parse(&in, &out).ok());
  EXPECT_TRUE(in.empty());
  EXPECT_THAT(out, IsEmpty());
  EXPECT_EQ(parser.buffered_bytes(), 3u + 5u);

  in = "56789\r";
  ASSERT_TRUE(parser.Parse(&in, &out).ok());
  EXPECT_THAT(out, IsEmpty());  // the command ends only with its payload's trailer
  in = "\n";
  ASSERT_TRUE(parser.Parse(&in, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0], ElementsAre("GET", "0123456789"));
  EXPECT_EQ(parser.buffered_bytes(), 0u);
}

TEST(RespParserTest, PartialLinesAreBuffered) {
  RespParser parser;
  std::vector<Command> out;
  std::string_view in = "SET a";
  ASSERT_TRUE(parser.Parse(&in, &out).ok());
  EXPECT_EQ(parser.buffered_bytes(), 5u);
  in = " b\r\n*1";
  ASSERT_TRUE(parser.Parse(&in, &out).ok());
  EXPECT_EQ(parser.buffered_bytes(), 2u);
  in = "\r\n$4\r\nPING\r\n";
  ASSERT_TRUE(parser.Parse(&in, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_THAT(out[0], ElementsAre("SET", "a", "b"));
  EXPECT_THAT(out[1], ElementsAre("PING"));
}

TEST(RespParserTest, LargeBulkInSmallReads) {
  const size_t len = 3 * RespParser::kMaxBulkReserveBytes + 5;
  std::string value(len, 'v');
  for (size_t i = 0; i < len; i += 997) value[i] = static_cast<char>(i);
  const std::string bytes =
      "*2\r\n$4\r\nECHO\r\n$" + std::to_string(len) + "\r\n" + value + "\r\n";
  Result r;
  size_t largest = 0;
  {
    AllocationTracker tracker;
    r = ParseInChunks(bytes, 4096);
    largest = tracker.largest();
  }
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(r.commands[0][1], value);
  // Growth never allocates past the declared length (+1 for the terminating NUL).
  EXPECT_LE(largest, len + 1);
}

struct ErrorCase {
  std::string bytes;
  std::string message;
};

TEST(RespParserTest, MalformedInputGivesRedisErrorText) {
  using namespace std::string_literals;
  // Texts checked against redis-server 7.0.15 (reply minus "-ERR " and CRLF).
  const std::vector<ErrorCase> cases = {
      {"*abc\r\n", "Protocol error: invalid multibulk length"},
      {"*\r\n", "Protocol error: invalid multibulk length"},
      {"*-0\r\n", "Protocol error: invalid multibulk length"},
      {"*01\r\n", "Protocol error: invalid multibulk length"},
      {"*+1\r\n", "Protocol error: invalid multibulk length"},
      {"* 1\r\n", "Protocol error: invalid multibulk length"},
      {"*2147483648\r\n", "Protocol error: invalid multibulk length"},
      {"*99999999999999999999\r\n", "Protocol error: invalid multibulk length"},
      {"*1048577\r\n", "Protocol error: invalid multibulk length"},  // ParserLimits default
      {"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$ 4\r\nPING\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$04\r\nPING\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$536870913\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\nX4\r\nPING\r\n", "Protocol error: expected '$', got 'X'"},
      {"*2\r\n$4\r\nECHO\r\n*1\r\n", "Protocol error: expected '$', got '*'"},
      {"*1\r\n\r\n", "Protocol error: expected '$', got ' '"},
      {"*1\r\n\n\r\n", "Protocol error: expected '$', got ' '"},
      {"ECHO \"abc\r\n", "Protocol error: unbalanced quotes in request"},
      {"ECHO \"a\"b\r\n", "Protocol error: unbalanced quotes in request"},
      {"ECHO 'a'b\r\n", "Protocol error: unbalanced quotes in request"},
      {"ECHO a\"b c\"d\r\n", "Protocol error: unbalanced quotes in request"},
      {"ECHO \"a\\\"\r\n", "Protocol error: unbalanced quotes in request"},
      {"ECHO 'abc\n", "Protocol error: unbalanced quotes in request"},
      {"ECHO a\\\"b\r\n", "Protocol error: unbalanced quotes in request"},
  };
  for (const ErrorCase& c : cases) {
    for (size_t chunk : {0, 1}) {
      SCOPED_TRACE(testing::Message() << "bytes=" << testing::PrintToString(c.bytes)
                                      << " chunk=" << chunk);
      Result r = ParseInChunks(c.bytes, chunk);
      EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status.message(), c.message);
      EXPECT_THAT(r.commands, IsEmpty());
    }
  }
}

TEST(RespParserTest, CommandsBeforeAnErrorAreReturnedThenParserStaysFailed) {
  RespParser parser;
  std::vector<Command> out;
  std::string_view in = "PING\r\n*1\r\n$4\r\nECHO\r\n*x\r\n*1\r\n$4\r\nPING\r\n";
  absl::Status status = parser.Parse(&in, &out);
  EXPECT_EQ(status.message(), "Protocol error: invalid multibulk length");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_THAT(out[0], ElementsAre("PING"));
  EXPECT_THAT(out[1], ElementsAre("ECHO"));
  EXPECT_EQ(parser.buffered_bytes(), 0u);

  out.clear();
  std::string_view more = "PING\r\n";
  EXPECT_EQ(parser.Parse(&more, &out), status);
  EXPECT_THAT(out, IsEmpty());
}

TEST(RespParserTest, OversizedCountsAreRejectedWithoutAllocating) {
  // A large announced argument count preallocates at most 1024 slots, like Redis.
  {
    AllocationTracker tracker;
    Result r = ParseWhole("*1048576\r\n$3\r\nGET\r\n");
    ASSERT_TRUE(r.status.ok());
    EXPECT_LE(tracker.largest(), 1024 * sizeof(std::string));
  }
  // A bulk of the largest allowed length reserves only kMaxBulkReserveBytes until data comes.
  {
    AllocationTracker tracker;
    Result r = ParseWhole("*1\r\n$536870912\r\nabc");
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.buffered_bytes, 3u);
    EXPECT_LE(tracker.largest(), RespParser::kMaxBulkReserveBytes + 1);
  }
  // Beyond the limits: an error, and nothing large allocated.
  {
    AllocationTracker tracker;
    Result r = ParseWhole("*2147483647\r\n");
    EXPECT_EQ(r.status.message(), "Protocol error: invalid multibulk length");
    r = ParseWhole("*1\r\n$536870913\r\nabc");
    EXPECT_EQ(r.status.message(), "Protocol error: invalid bulk length");
    EXPECT_LE(tracker.largest(), 4096u);
  }
}

TEST(RespParserTest, ConfiguredLimits) {
  ParserLimits limits;
  limits.max_multibulk_args = 2;
  limits.max_bulk_bytes = 5;
  EXPECT_TRUE(ParseWhole("*2\r\n$5\r\nhello\r\n$0\r\n\r\n", limits).status.ok());
  EXPECT_EQ(ParseWhole("*3\r\n", limits).status.message(),
            "Protocol error: invalid multibulk length");
  EXPECT_EQ(ParseWhole("*1\r\n$6\r\n", limits).status.message(),
            "Protocol error: invalid bulk length");
}

TEST(RespParserTest, InlineLengthLimit) {
  const size_t max = ParserLimits().max_inline_bytes;  // 64 KiB, PROTO_INLINE_MAX_SIZE
  const std::string word(max, 'E');
  for (size_t chunk : {0, 1, 4096}) {
    SCOPED_TRACE(chunk);
    // Exactly the limit, with either terminator, passes however it is split.
    Result r = ParseInChunks(word + "\n", chunk);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.commands, std::vector<Command>{{word}});
    r = ParseInChunks(word + "\r\n", chunk);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.commands, std::vector<Command>{{word}});
    // One byte more fails, with or without the terminator.
    EXPECT_EQ(ParseInChunks(word + "E\r\n", chunk).status.message(),
              "Protocol error: too big inline request");
    EXPECT_EQ(ParseInChunks(word + "E", chunk).status.message(),
              "Protocol error: too big inline request");
    EXPECT_EQ(ParseInChunks(word + "\rE", chunk).status.message(),
              "Protocol error: too big inline request");
  }
  // Up to the limit without a terminator is only waiting for more.
  Result r = ParseWhole(word);
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.buffered_bytes, max);
}

TEST(RespParserTest, CountLineLengthLimit) {
  const size_t max = ParserLimits().max_inline_bytes;
  // The '*' or '$' counts toward the limit, as in Redis's pending-bytes check.
  const std::string digits(max - 1, '1');
  for (size_t chunk : {0, 1, 4096}) {
    SCOPED_TRACE(chunk);
    EXPECT_EQ(ParseInChunks("*" + digits + "1", chunk).status.message(),
              "Protocol error: too big mbulk count string");
    EXPECT_EQ(ParseInChunks("*" + digits + "1\r\n", chunk).status.message(),
              "Protocol error: too big mbulk count string");
    EXPECT_EQ(ParseInChunks("*1\r\n$" + digits + "1", chunk).status.message(),
              "Protocol error: too big bulk count string");
    EXPECT_EQ(ParseInChunks("*1\r\nX" + digits + "1", chunk).status.message(),
              "Protocol error: too big bulk count string");
    // At the limit the line is accepted as a line and then judged as a number.
    Result r = ParseInChunks("*" + digits, chunk);
    EXPECT_TRUE(r.status.ok());
    EXPECT_EQ(ParseInChunks("*" + digits + "\r\n", chunk).status.message(),
              "Protocol error: invalid multibulk length");
  }
}

TEST(RespParserTest, InlineQuoting) {
  using namespace std::string_literals;
  const std::vector<std::pair<std::string, Command>> cases = {
      {"  SET   a\tb  ", {"SET", "a", "b"}},
      {"ECHO \"a\\x41\\n\\q\"", {"ECHO", "aA\nq"}},
      {"ECHO \"\\r\\t\\b\\a\\\\\\\"\"", {"ECHO", "\r\t\b\a\\\""}},
      {"ECHO \"\\x4\"", {"ECHO", "x4"}},
      {"ECHO \"\\xfF\\x00\"", {"ECHO", "\xff\0"s}},
      {"ECHO 'a\\'b'", {"ECHO", "a'b"}},
      {"ECHO 'a\\nb\"'", {"ECHO", "a\\nb\""}},
      {"ECHO a\"b c\"", {"ECHO", "ab c"}},
      {"ECHO \"\" ''", {"ECHO", "", ""}},
      {"ECHO \"a\"\t'b'", {"ECHO", "a", "b"}},
      {"ECHO a\vb", {"ECHO", "a\vb"}},  // \v ends no word, but is skipped between words
      {"ECHO \va", {"ECHO", "a"}},
      {"ECHO a\rb", {"ECHO", "a", "b"}},
      {"ECHO a\\nb", {"ECHO", "a\\nb"}},  // no escapes outside quotes
  };
  for (const auto& [line, argv] : cases) {
    for (std::string_view end : {"\r\n", "\n"}) {
      SCOPED_TRACE(testing::PrintToString(line));
      Result r = ParseWhole(line + std::string(end));
      ASSERT_TRUE(r.status.ok()) << r.status;
      ASSERT_EQ(r.commands.size(), 1u);
      EXPECT_EQ(r.commands[0], argv);
    }
  }
}

}  // namespace
}  // namespace beyondkv::gateway
