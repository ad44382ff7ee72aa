#include "gateway/http/connection_gate.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/time/clock.h"

namespace beyondkv::gateway::http {
namespace {

HeadScan::Result Scan(std::string_view s) { return HeadScan::Scan(s, 100, 20); }

TEST(HeadScan, FindsTheEmptyLine) {
  EXPECT_EQ(Scan(""), HeadScan::kNeedMore);
  EXPECT_EQ(Scan("GET / HTTP/1.1\r\nHost: x\r\n"), HeadScan::kNeedMore);
  EXPECT_EQ(Scan("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), HeadScan::kComplete);
  EXPECT_EQ(Scan("GET / HTTP/1.1\nHost: x\n\n"), HeadScan::kComplete);
  EXPECT_EQ(Scan("GET / HTTP/1.1\r\nHost: x\r"), HeadScan::kNeedMore);
  // A body (or the next request) after the head does not matter.
  EXPECT_EQ(Scan("PUT / HTTP/1.1\r\nLength: 3\r\n\r\nabc"), HeadScan::kComplete);
}

TEST(HeadScan, LimitsLinesAndTheWholeHead) {
  // A header line over the line limit, complete or not.
  EXPECT_EQ(Scan("GET / HTTP/1.1\r\nX: " + std::string(30, 'a')), HeadScan::kTooLarge);
  EXPECT_EQ(Scan("GET / HTTP/1.1\r\nX: " + std::string(30, 'a') + "\r\n\r\n"),
            HeadScan::kTooLarge);
  EXPECT_EQ(Scan("GET / HTTP/1.1\r\nX: " + std::string(17, 'a') + "\r\n\r\n"),
            HeadScan::kComplete);  // 20 bytes: at the limit
  // Many short lines: the head limit.
  std::string many;
  for (int i = 0; i < 30; ++i) many += "H: v\r\n";
  EXPECT_EQ(Scan("GET / HTTP/1.1\r\n" + many), HeadScan::kTooLarge);
  // The end of the head past the limit does not count.
  EXPECT_EQ(Scan("GET / HTTP/1.1\r\n" + many + "\r\n"), HeadScan::kTooLarge);
  EXPECT_EQ(Scan("GET / HTTP/1.1\r\n\r\n" + std::string(500, 'b')), HeadScan::kComplete);
  // The request line has only the head limit (cpp-httplib answers 414 for a long target).
  EXPECT_EQ(Scan("GET /" + std::string(50, 'p') + " HTTP/1.1\r\n\r\n"), HeadScan::kComplete);
  EXPECT_EQ(Scan("GET /" + std::string(200, 'p')), HeadScan::kRequestLineTooLong);
}

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0); }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  int fds_[2];
};

TEST_F(StreamTest, ServesBufferedBytesFirstThenTheSocket) {
  DeadlineStream::Limits limits;
  DeadlineStream s(fds_[0], "abc", limits);
  ASSERT_EQ(write(fds_[1], "def", 3), 3);
  char out[8];
  EXPECT_EQ(s.read(out, 2), 2);
  EXPECT_EQ(std::string(out, 2), "ab");
  EXPECT_EQ(s.read(out, 8), 1);
  EXPECT_EQ(s.read(out, 8), 3);
  EXPECT_EQ(std::string(out, 3), "def");
  EXPECT_FALSE(s.timed_out());
}

TEST_F(StreamTest, ByteReadsKeepTheRestForTheNextRequest) {
  DeadlineStream::Limits limits;
  DeadlineStream s(fds_[0], "", limits);
  ASSERT_EQ(write(fds_[1], "xyz", 3), 3);
  char c;
  EXPECT_EQ(s.read(&c, 1), 1);
  EXPECT_EQ(c, 'x');
  EXPECT_EQ(s.TakeBuffered(), "yz");
}

TEST_F(StreamTest, ASilentPeerTimesOut) {
  DeadlineStream::Limits limits;
  limits.read_timeout = absl::Milliseconds(50);
  DeadlineStream s(fds_[0], "", limits);
  char c;
  const absl::Time start = absl::Now();
  EXPECT_EQ(s.read(&c, 1), -1);
  EXPECT_TRUE(s.timed_out());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));
}

TEST_F(StreamTest, ATrickleBelowTheMinimumRateTimesOutAfterTheGrace) {
  DeadlineStream::Limits limits;
  limits.read_timeout = absl::Seconds(5);
  limits.grace = absl::Milliseconds(100);
  limits.min_bytes_per_sec = 1000;  // each byte buys 1 ms
  DeadlineStream s(fds_[0], "", limits);
  char buf[64];
  ASSERT_EQ(write(fds_[1], "0123456789", 10), 10);
  EXPECT_EQ(s.read(buf, sizeof(buf)), 10);
  const absl::Time start = absl::Now();
  EXPECT_EQ(s.read(buf, sizeof(buf)), -1);  // nothing more: the deadline (~110 ms) passes
  EXPECT_TRUE(s.timed_out());
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));  // not the 5 s read timeout
}

TEST_F(StreamTest, ReadAheadServesOnlyAWholeHead) {
  GateConnection conn;
  conn.fd = fds_[0];
  EXPECT_FALSE(ConnectionGate::ReadAhead(conn, absl::Milliseconds(5)));  // nothing came
  EXPECT_FALSE(conn.close);
  const std::string half = "GET / HTTP/1.1\r\nHo";
  const std::string rest = "st: x\r\n\r\n";
  ASSERT_EQ(write(fds_[1], half.data(), half.size()), static_cast<ssize_t>(half.size()));
  EXPECT_FALSE(ConnectionGate::ReadAhead(conn, absl::Milliseconds(5)));  // half a head
  EXPECT_EQ(conn.buffered, half);
  ASSERT_EQ(write(fds_[1], rest.data(), rest.size()), static_cast<ssize_t>(rest.size()));
  EXPECT_TRUE(ConnectionGate::ReadAhead(conn, absl::Milliseconds(5)));
  EXPECT_TRUE(ConnectionGate::ReadAhead(conn, absl::ZeroDuration()));  // already whole
  conn.buffered.clear();
  close(fds_[1]);
  fds_[1] = socket(AF_UNIX, SOCK_STREAM, 0);  // closed in TearDown
  EXPECT_FALSE(ConnectionGate::ReadAhead(conn, absl::Milliseconds(5)));  // the client left
  EXPECT_TRUE(conn.close);
}

}  // namespace
}  // namespace beyondkv::gateway::http
