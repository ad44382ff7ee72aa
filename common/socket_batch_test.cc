#include "common/socket_batch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace beyondkv {
namespace {

struct Pair {
  int a = -1;  // the end the batch uses
  int b = -1;  // the peer
};

Pair MakePair() {
  int fds[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  return Pair{fds[0], fds[1]};
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class SocketBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SocketBatch>> batch = SocketBatch::Create(8);
    if (!batch.ok()) GTEST_SKIP() << "io_uring unavailable here: " << batch.status();
    batch_ = *std::move(batch);
  }
  void TearDown() override {
    for (const Pair& p : pairs_) {
      close(p.a);
      close(p.b);
    }
  }
  Pair NewPair() {
    pairs_.push_back(MakePair());
    return pairs_.back();
  }

  std::unique_ptr<SocketBatch> batch_;
  std::vector<Pair> pairs_;
};

TEST_F(SocketBatchTest, SendsToManySocketsInOneRun) {
  std::vector<Pair> pairs;
  std::vector<std::string> messages;
  for (int i = 0; i < 8; ++i) {
    pairs.push_back(NewPair());
    messages.push_back("reply " + std::to_string(i) + std::string(i * 100, 'x'));
  }
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(batch_->AddSend(pairs[i].a, messages[i].data(), messages[i].size()),
              static_cast<size_t>(i));
  }
  EXPECT_TRUE(batch_->full());
  batch_->Run();
  EXPECT_EQ(batch_->size(), 0u);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(batch_->result(i), static_cast<int>(messages[i].size()));
    EXPECT_EQ(ReadAll(pairs[i].b), messages[i]);
  }
}

TEST_F(SocketBatchTest, ReceivesWhatIsThereAndReportsEmptyAndClosedSockets) {
  const Pair with_data = NewPair();
  const Pair empty = NewPair();
  const Pair closed = NewPair();
  ASSERT_EQ(write(with_data.b, "*1\r\n$4\r\nPING\r\n", 14), 14);
  shutdown(closed.b, SHUT_WR);
  char buf[3][64];
  batch_->AddRecv(with_data.a, buf[0], sizeof(buf[0]));
  batch_->AddRecv(empty.a, buf[1], sizeof(buf[1]));
  batch_->AddRecv(closed.a, buf[2], sizeof(buf[2]));
  batch_->Run();
  EXPECT_EQ(batch_->result(0), 14);
  EXPECT_EQ(std::string(buf[0], 14), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(batch_->result(1), -EAGAIN);  // does not wait for data
  EXPECT_EQ(batch_->result(2), 0);        // EOF
}

TEST_F(SocketBatchTest, ReceivesAtMostTheBufferAndLeavesTheRest) {
  const Pair p = NewPair();
  ASSERT_EQ(write(p.b, "0123456789", 10), 10);
  char buf[4];
  batch_->AddRecv(p.a, buf, sizeof(buf));
  batch_->Run();
  EXPECT_EQ(batch_->result(0), 4);
  EXPECT_EQ(std::string(buf, 4), "0123");
  EXPECT_EQ(ReadAll(p.a), "456789");
}

TEST_F(SocketBatchTest, AFullSocketTakesPartOfASendThenRefusesWithoutWaiting) {
  const Pair p = NewPair();
  int small = 4096;
  setsockopt(p.a, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  const std::string big(4u << 20, 'v');
  batch_->AddSend(p.a, big.data(), big.size());
  batch_->Run();
  const int first = batch_->result(0);
  ASSERT_GT(first, 0);
  EXPECT_LT(static_cast<size_t>(first), big.size());  // partial, as write() would be
  batch_->AddSend(p.a, big.data() + first, big.size() - first);
  batch_->Run();
  EXPECT_EQ(batch_->result(0), -EAGAIN);
  EXPECT_EQ(ReadAll(p.b).size(), static_cast<size_t>(first));
}

TEST_F(SocketBatchTest, APeerThatHungUpGivesEpipeNotSigpipe) {
  // With SIGPIPE at its default action, a plain write() here would kill the test.
  struct sigaction old {};
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &dfl, &old);
  const Pair p = NewPair();
  close(p.b);
  pairs_.back().b = open("/dev/null", O_RDONLY | O_CLOEXEC);  // keep TearDown's close valid
  const Pair other = NewPair();
  batch_->AddSend(p.a, "lost", 4);
  batch_->AddSend(other.a, "kept", 4);
  batch_->Run();
  sigaction(SIGPIPE, &old, nullptr);
  EXPECT_EQ(batch_->result(0), -EPIPE);
  EXPECT_EQ(batch_->result(1), 4);  // one failed op does not hold back the others
  EXPECT_EQ(ReadAll(other.b), "kept");
}

TEST_F(SocketBatchTest, ABadDescriptorFailsOnlyItsOwnOp) {
  const Pair p = NewPair();
  char buf[8];
  batch_->AddRecv(-1, buf, sizeof(buf));
  batch_->AddSend(p.a, "ok", 2);
  batch_->Run();
  EXPECT_EQ(batch_->result(0), -EBADF);
  EXPECT_EQ(batch_->result(1), 2);
  EXPECT_EQ(ReadAll(p.b), "ok");
}

TEST_F(SocketBatchTest, RunsManyBatchesOneAfterAnother) {
  const Pair p = NewPair();
  for (int round = 0; round < 1000; ++round) {
    const std::string msg = std::to_string(round) + ",";
    char buf[16];
    batch_->AddSend(p.a, msg.data(), msg.size());
    batch_->Run();
    ASSERT_EQ(batch_->result(0), static_cast<int>(msg.size()));
    batch_->AddRecv(p.b, buf, sizeof(buf));
    batch_->Run();
    ASSERT_EQ(batch_->result(0), static_cast<int>(msg.size()));
    EXPECT_EQ(std::string(buf, msg.size()), msg);
  }
  batch_->Run();  // empty: nothing to do
  EXPECT_EQ(batch_->size(), 0u);
}

}  // namespace
}  // namespace beyondkv
