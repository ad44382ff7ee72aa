// The shard's end of the link against a real unix socket, driven the way the engine thread
// drives it (epoll, OnEvent, TakeCalls, Flush), with a raw client speaking the frames of
// proto/LINK.md: the handshake and its refusals, FIFO results carrying their batch's seq,
// batches of several lanes in one round, and a malformed frame closing only its lane.
#include "services/kv-shard/link_server.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "proto/link_frame.h"
#include "proto/shard.pb.h"

namespace beyondkv::shard {
namespace {

class LinkServerTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/lnk-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/s.link";
    absl::StatusOr<int> fd = LinkServer::Listen(path_);
    ASSERT_TRUE(fd.ok()) << fd.status();
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    LinkServerOptions options;
    options.shard_id = 1;
    options.shard_count = 2;
    options.boot_id = 42;
    server_ = std::make_unique<LinkServer>(options, *fd, epoll_fd_);
  }
  void TearDown() override {
    server_.reset();
    close(epoll_fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  int Connect() {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  }
  // One turn of the engine thread's loop: events, then the batches it would apply.
  std::vector<ShardCall> Turn() {
    epoll_event events[16];
    const int n = epoll_wait(epoll_fd_, events, 16, 50);
    for (int i = 0; i < n; ++i) server_->OnEvent(events[i].data.u64, events[i].events);
    std::vector<ShardCall> calls;
    server_->TakeCalls(&calls);
    server_->Flush();
    return calls;
  }
  static void Send(int fd, link::FrameType type, uint64_t seq,
                   const google::protobuf::MessageLite& message) {
    std::string out;
    ASSERT_TRUE(link::AppendFrame(type, seq, message, &out).ok());
    ASSERT_EQ(write(fd, out.data(), out.size()), static_cast<ssize_t>(out.size()));
  }
  static void Hello(int fd, uint32_t version = link::kProtocolVersion, uint32_t shard = 1) {
    v1::LinkHello hello;
    hello.set_version(version);
    hello.set_shard_id(shard);
    hello.set_shard_count(2);
    Send(fd, link::FrameType::kHello, 0, hello);
  }
  static v1::BatchRequest Batch(const std::string& key) {
    v1::BatchRequest batch;
    batch.add_ops()->set_key(key);
    return batch;
  }
  // Reads one frame (blocking up to 5 s); false on EOF.
  static bool ReadFrame(int fd, link::FrameHeader* header, std::string* payload) {
    std::string head(link::kHeaderBytes, '\0');
    if (!ReadAll(fd, head.data(), head.size())) return false;
    EXPECT_TRUE(link::DecodeHeader(head, header).ok());
    payload->resize(header->payload_len);
    return ReadAll(fd, payload->data(), payload->size());
  }
  static bool ReadAll(int fd, char* p, size_t n) {
    while (n > 0) {
      const ssize_t got = read(fd, p, n);
      if (got <= 0) return false;
      p += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }
  v1::LinkWelcome Welcome(int fd) {
    for (int i = 0; i < 5; ++i) Turn();
    link::FrameHeader header;
    std::string payload;
    v1::LinkWelcome welcome;
    EXPECT_TRUE(ReadFrame(fd, &header, &payload));
    EXPECT_EQ(header.type, link::FrameType::kWelcome);
    EXPECT_TRUE(welcome.ParseFromString(payload));
    return welcome;
  }

  std::string dir_, path_;
  int epoll_fd_ = -1;
  std::unique_ptr<LinkServer> server_;
};

TEST_F(LinkServerTest, HandshakeThenResultsInOrderWithTheirSeq) {
  const int fd = Connect();
  Hello(fd);
  // Batches may follow HELLO at once.
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    Send(fd, link::FrameType::kBatch, seq, Batch("k" + std::to_string(seq)));
  }
  std::vector<ShardCall> calls;
  for (int i = 0; i < 20 && calls.size() < 3; ++i) {
    std::vector<ShardCall> more = Turn();
    calls.insert(calls.end(), more.begin(), more.end());
  }
  ASSERT_EQ(calls.size(), 3u);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].request->ops(0).key(), "k" + std::to_string(i + 1));
    calls[i].response->add_results()->set_value("v" + std::to_string(i + 1));
    calls[i].done();
  }
  server_->Flush();
  link::FrameHeader header;
  std::string payload;
  ASSERT_TRUE(ReadFrame(fd, &header, &payload));
  ASSERT_EQ(header.type, link::FrameType::kWelcome);
  v1::LinkWelcome welcome;
  ASSERT_TRUE(welcome.ParseFromString(payload));
  EXPECT_EQ(welcome.error(), "");
  EXPECT_EQ(welcome.shard_id(), 1u);
  EXPECT_EQ(welcome.shard_count(), 2u);
  EXPECT_EQ(welcome.boot_id(), 42u);
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    ASSERT_TRUE(ReadFrame(fd, &header, &payload));
    EXPECT_EQ(header.type, link::FrameType::kResult);
    EXPECT_EQ(header.seq, seq);
    v1::BatchResponse response;
    ASSERT_TRUE(response.ParseFromString(payload));
    EXPECT_EQ(response.results(0).value(), "v" + std::to_string(seq));
  }
  close(fd);
}

TEST_F(LinkServerTest, WrongShardOrVersionIsRefusedAndClosed) {
  const int wrong_shard = Connect();
  Hello(wrong_shard, link::kProtocolVersion, /*shard=*/0);
  EXPECT_NE(Welcome(wrong_shard).error().find("this is shard 1 of 2, not shard 0 of 2"),
            std::string::npos);
  for (int i = 0; i < 3; ++i) Turn();
  char byte;
  EXPECT_EQ(read(wrong_shard, &byte, 1), 0) << "the lane should be closed";
  close(wrong_shard);

  const int wrong_version = Connect();
  Hello(wrong_version, link::kProtocolVersion + 1);
  EXPECT_NE(Welcome(wrong_version).error().find("not supported"), std::string::npos);
  close(wrong_version);
}

TEST_F(LinkServerTest, BatchesOfSeveralLanesJoinOneRoundAndAMalformedLaneClosesAlone) {
  const int a = Connect();
  const int b = Connect();
  Hello(a);
  Hello(b);
  Welcome(a);
  Welcome(b);
  Send(a, link::FrameType::kBatch, 1, Batch("a1"));
  Send(b, link::FrameType::kBatch, 1, Batch("b1"));
  std::vector<ShardCall> calls;
  for (int i = 0; i < 20 && calls.size() < 2; ++i) {
    std::vector<ShardCall> more = Turn();
    calls.insert(calls.end(), more.begin(), more.end());
  }
  ASSERT_EQ(calls.size(), 2u);
  // Lane a now sends garbage: an unknown frame type.
  std::string garbage(link::kHeaderBytes, '\0');
  garbage[4] = 9;
  ASSERT_EQ(write(a, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  for (int i = 0; i < 5; ++i) Turn();
  char byte;
  EXPECT_EQ(read(a, &byte, 1), 0) << "lane a should be closed";
  // Its batch already taken still completes harmlessly; lane b gets its result.
  for (ShardCall& call : calls) {
    call.response->add_results();
    call.done();
  }
  server_->Flush();
  link::FrameHeader header;
  std::string payload;
  ASSERT_TRUE(ReadFrame(b, &header, &payload));
  EXPECT_EQ(header.type, link::FrameType::kResult);
  EXPECT_EQ(header.seq, 1u);
  EXPECT_EQ(server_->lanes(), 1u);
  close(a);
  close(b);
}

}  // namespace
}  // namespace beyondkv::shard
