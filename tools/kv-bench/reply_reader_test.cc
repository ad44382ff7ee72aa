#include "tools/kv-bench/reply_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace beyondkv::kvbench {
namespace {

using Result = ReplyReader::Result;

std::vector<Result> ReadAll(ReplyReader& reader) {
  std::vector<Result> results;
  for (Result r = reader.Next(); r != Result::kNeedMore; r = reader.Next()) {
    results.push_back(r);
    if (r == Result::kProtocolError) break;
  }
  return results;
}

constexpr char kStream[] =
    "+OK\r\n"
    "-ERR wrong number of arguments\r\n"
    ":42\r\n"
    "$5\r\nhello\r\n"
    "$-1\r\n"
    "*3\r\n$1\r\na\r\n$-1\r\n-ERR inside an array is not a top-level error\r\n"
    "*2\r\n*1\r\n:1\r\n*0\r\n"
    "-WRONGTYPE Operation against a key\r\n";

const std::vector<Result> kExpected = {
    Result::kReply, Result::kErrorReply, Result::kReply, Result::kReply,
    Result::kReply, Result::kReply,      Result::kReply, Result::kErrorReply,
};

TEST(ReplyReaderTest, SplitsRepliesAndFlagsTopLevelErrors) {
  ReplyReader reader;
  reader.Feed(kStream, sizeof(kStream) - 1);
  EXPECT_EQ(ReadAll(reader), kExpected);
  EXPECT_EQ(reader.last_error(), "WRONGTYPE Operation against a key");
}

TEST(ReplyReaderTest, HandlesOneByteAtATime) {
  ReplyReader reader;
  std::vector<Result> results;
  for (size_t i = 0; i + 1 < sizeof(kStream); ++i) {
    reader.Feed(&kStream[i], 1);
    for (Result r : ReadAll(reader)) results.push_back(r);
  }
  EXPECT_EQ(results, kExpected);
}

TEST(ReplyReaderTest, LargeArrayOfBulkStrings) {
  std::string stream = "*100\r\n";
  const std::string value(256, 'v');
  for (int i = 0; i < 100; ++i) stream += "$256\r\n" + value + "\r\n";
  ReplyReader reader;
  reader.Feed(stream.data(), stream.size() - 1);
  EXPECT_EQ(reader.Next(), Result::kNeedMore);
  reader.Feed(stream.data() + stream.size() - 1, 1);
  EXPECT_EQ(reader.Next(), Result::kReply);
  EXPECT_EQ(reader.Next(), Result::kNeedMore);
}

TEST(ReplyReaderTest, ReportsProtocolError) {
  ReplyReader reader;
  reader.Feed("+OK\r\n?bad\r\n", 11);
  EXPECT_EQ(reader.Next(), Result::kReply);
  EXPECT_EQ(reader.Next(), Result::kProtocolError);
  EXPECT_FALSE(reader.last_error().empty());
}

}  // namespace
}  // namespace beyondkv::kvbench
