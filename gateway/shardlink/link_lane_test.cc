// The gateway's end of a shard link against a scripted shard on a real unix socket: batches in
// flight FIFO with their seq, the in-flight bound, a RESULT with the wrong seq or a refused
// HELLO ending the lane, EOF failing everything in flight at once with "shard <i>
// unavailable", fail-fast while down, and the reconnect after the backoff.
#include "gateway/shardlink/link_lane.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "proto/link_frame.h"
#include "proto/shard.pb.h"

namespace beyondkv::shardlink {
namespace {

class LinkLaneTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/lane-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/s.link";
    Listen();
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    LinkLane::Options options;
    options.shard = 1;
    options.shard_count = 2;
    options.socket_path = path_;
    options.max_in_flight_batches = 4;
    lane_ = std::make_unique<LinkLane>(options, epoll_fd_, 7);
  }
  void TearDown() override {
    lane_.reset();
    if (shard_fd_ >= 0) close(shard_fd_);
    if (listen_fd_ >= 0) close(listen_fd_);
    close(epoll_fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  void Listen() {
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    unlink(path_.c_str());
    ASSERT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(listen(listen_fd_, 4), 0);
  }
  // The scripted shard accepts the lane and reads its HELLO.
  void AcceptLane() {
    shard_fd_ = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(shard_fd_, 0);
    timeval tv{5, 0};
    setsockopt(shard_fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    link::FrameHeader header;
    std::string payload;
    ASSERT_TRUE(ReadFrame(&header, &payload));
    EXPECT_EQ(header.type, link::FrameType::kHello);
    v1::LinkHello hello;
    ASSERT_TRUE(hello.ParseFromString(payload));
    EXPECT_EQ(hello.shard_id(), 1u);
    EXPECT_EQ(hello.shard_count(), 2u);
  }
  void Welcome(const std::string& error = "") {
    v1::LinkWelcome welcome;
    welcome.set_version(link::kProtocolVersion);
    welcome.set_shard_id(1);
    welcome.set_shard_count(2);
    welcome.set_boot_id(99);
    welcome.set_error(error);
    Reply(link::FrameType::kWelcome, 0, welcome);
  }
  void Reply(link::FrameType type, uint64_t seq, const google::protobuf::MessageLite& m) {
    std::string out;
    ASSERT_TRUE(link::AppendFrame(type, seq, m, &out).ok());
    ASSERT_EQ(write(shard_fd_, out.data(), out.size()), static_cast<ssize_t>(out.size()));
  }
  bool ReadFrame(link::FrameHeader* header, std::string* payload) {
    std::string head(link::kHeaderBytes, '\0');
    if (!ReadAll(head.data(), head.size())) return false;
    if (!link::DecodeHeader(head, header).ok()) return false;
    payload->resize(header->payload_len);
    return ReadAll(payload->data(), payload->size());
  }
  bool ReadAll(char* p, size_t n) {
    while (n > 0) {
      const ssize_t got = read(shard_fd_, p, n);
      if (got <= 0) return false;
      p += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }
  // One batch of one op; its result (or failure) lands in `results`.
  void SendOne(const std::string& key, std::vector<v1::OpResult>* results) {
    Batch batch;
    batch.request = std::make_unique<v1::BatchRequest>();
    batch.request->add_ops()->set_key(key);
    batch.done.push_back([results](v1::OpResult& r) { results->push_back(r); });
    lane_->Send(std::move(batch));
    lane_->Flush();
  }
  // Runs the lane's side of the loop until `pred` or 5 s.
  template <typename Pred>
  void RunUntil(Pred pred) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (!pred() && absl::Now() < deadline) {
      epoll_event events[4];
      const int n = epoll_wait(epoll_fd_, events, 4, 10);
      for (int i = 0; i < n; ++i) lane_->OnEvent(events[i].events);
      lane_->Maintain(absl::Now());
    }
    ASSERT_TRUE(pred());
  }
  v1::BatchResponse Result(const std::string& value) {
    v1::BatchResponse response;
    response.add_results()->set_value(value);
    return response;
  }

  std::string dir_, path_;
  int listen_fd_ = -1, shard_fd_ = -1, epoll_fd_ = -1;
  std::unique_ptr<LinkLane> lane_;
};

TEST_F(LinkLaneTest, BatchesInFlightAreAnsweredInOrderAndBounded) {
  std::vector<v1::OpResult> results;
  SendOne("a", &results);  // connects, HELLO, then the batch right behind it
  AcceptLane();
  Welcome();
  for (const char* key : {"b", "c", "d"}) SendOne(key, &results);
  EXPECT_EQ(lane_->in_flight(), 4u);
  EXPECT_FALSE(lane_->CanSend()) << "max_in_flight_batches is 4";
  for (uint64_t seq = 1; seq <= 4; ++seq) {
    link::FrameHeader header;
    std::string payload;
    ASSERT_TRUE(ReadFrame(&header, &payload));
    EXPECT_EQ(header.type, link::FrameType::kBatch);
    EXPECT_EQ(header.seq, seq);
    Reply(link::FrameType::kResult, seq, Result("r" + std::to_string(seq)));
  }
  RunUntil([&] { return results.size() == 4; });
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(results[i].value(), "r" + std::to_string(i + 1));
  EXPECT_TRUE(lane_->CanSend());
  EXPECT_EQ(lane_->boot_id(), 99u);
}

TEST_F(LinkLaneTest, EofFailsEverythingInFlightThenFailsFastThenReconnects) {
  std::vector<v1::OpResult> results;
  SendOne("a", &results);
  AcceptLane();
  Welcome();
  SendOne("b", &results);
  RunUntil([&] { return lane_->in_flight() == 2; });
  close(shard_fd_);  // the shard dies with two batches unanswered
  shard_fd_ = -1;
  RunUntil([&] { return results.size() == 2; });
  for (const v1::OpResult& r : results) {
    EXPECT_EQ(r.code(), v1::OpResult::INTERNAL);
    EXPECT_EQ(r.reason(), v1::OpResult::SHARD_UNAVAILABLE);
    EXPECT_EQ(r.message().rfind("shard 1 unavailable: ", 0), 0u) << r.message();
  }
  // Down, inside the backoff: a new batch fails at once rather than waiting.
  SendOne("c", &results);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[2].reason(), v1::OpResult::SHARD_UNAVAILABLE);
  // After the backoff the lane reconnects by itself and serves again.
  RunUntil([&] { return lane_->connected(); });
  AcceptLane();
  Welcome();
  SendOne("d", &results);
  link::FrameHeader header;
  std::string payload;
  ASSERT_TRUE(ReadFrame(&header, &payload));
  EXPECT_EQ(header.seq, 1u) << "a new connection numbers from 1";
  Reply(link::FrameType::kResult, 1, Result("again"));
  RunUntil([&] { return results.size() == 4; });
  EXPECT_EQ(results[3].value(), "again");
  EXPECT_EQ(lane_->connects(), 2u);
}

TEST_F(LinkLaneTest, AResultOutOfOrderOrARefusalEndsTheLane) {
  std::vector<v1::OpResult> results;
  SendOne("a", &results);
  AcceptLane();
  Welcome();
  SendOne("b", &results);
  Reply(link::FrameType::kResult, 2, Result("wrong"));  // seq 1 is due first
  RunUntil([&] { return results.size() == 2; });
  EXPECT_EQ(results[0].reason(), v1::OpResult::SHARD_UNAVAILABLE);
  EXPECT_NE(results[0].message().find("protocol error"), std::string::npos);
  EXPECT_FALSE(lane_->connected());
  close(shard_fd_);
  shard_fd_ = -1;

  RunUntil([&] { return lane_->connected(); });
  AcceptLane();
  Welcome("this is shard 0 of 2, not shard 1 of 2");
  RunUntil([&] { return !lane_->connected(); });
  SendOne("c", &results);
  EXPECT_NE(results.back().message().find("refused"), std::string::npos) << results.back().message();
}

// The RESP loop writes the lane's frames itself, in its socket batch (IoLoop::FlushReady):
// Unwritten() is what is queued, Wrote() takes send(2)'s outcome. A short write leaves the
// rest for later, EAGAIN changes nothing, an error ends the lane like a failed write().
TEST_F(LinkLaneTest, FramesWrittenByTheCallerArriveWholeAndAFailedWriteEndsTheLane) {
  std::vector<v1::OpResult> results;
  Batch first;
  first.request = std::make_unique<v1::BatchRequest>();
  first.request->add_ops()->set_key("a");
  first.done.push_back([&results](v1::OpResult& r) { results.push_back(r); });
  lane_->Send(std::move(first));  // connects; HELLO and the batch are queued, not written
  const std::string queued(lane_->Unwritten());
  ASSERT_GT(queued.size(), 10u);
  ASSERT_GE(lane_->fd(), 0);
  // A short write (3 bytes), then EAGAIN, then the rest.
  ASSERT_EQ(send(lane_->fd(), queued.data(), 3, MSG_DONTWAIT | MSG_NOSIGNAL), 3);
  lane_->Wrote(3);
  EXPECT_EQ(lane_->Unwritten(), queued.substr(3));
  lane_->Wrote(-EAGAIN);
  EXPECT_EQ(lane_->Unwritten(), queued.substr(3));
  const std::string rest(lane_->Unwritten());
  ASSERT_EQ(send(lane_->fd(), rest.data(), rest.size(), MSG_DONTWAIT | MSG_NOSIGNAL),
            static_cast<ssize_t>(rest.size()));
  lane_->Wrote(static_cast<int>(rest.size()));
  EXPECT_TRUE(lane_->Unwritten().empty());
  AcceptLane();  // reads HELLO: the bytes arrived whole and in order
  link::FrameHeader header;
  std::string payload;
  ASSERT_TRUE(ReadFrame(&header, &payload));
  EXPECT_EQ(header.type, link::FrameType::kBatch);
  EXPECT_EQ(header.seq, 1u);
  Welcome();
  Reply(link::FrameType::kResult, 1, Result("one"));
  RunUntil([&] { return results.size() == 1; });
  EXPECT_EQ(results[0].value(), "one");

  // A failed send: the lane ends and what is in flight fails with "unavailable".
  SendOne("b", &results);  // written by the lane itself (Flush)
  Batch third;
  third.request = std::make_unique<v1::BatchRequest>();
  third.request->add_ops()->set_key("c");
  third.done.push_back([&results](v1::OpResult& r) { results.push_back(r); });
  lane_->Send(std::move(third));
  EXPECT_FALSE(lane_->Unwritten().empty());
  lane_->Wrote(-EPIPE);
  ASSERT_EQ(results.size(), 3u);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(results[i].reason(), v1::OpResult::SHARD_UNAVAILABLE);
    EXPECT_NE(results[i].message().find("Broken pipe"), std::string::npos) << results[i].message();
  }
  EXPECT_FALSE(lane_->connected());
  EXPECT_TRUE(lane_->Unwritten().empty());
}

}  // namespace
}  // namespace beyondkv::shardlink
