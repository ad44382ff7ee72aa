#include "engine/uring.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/test_util.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

class UringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Uring>> ring = Uring::Create(8);
    ASSERT_TRUE(ring.ok()) << ring.status();
    ring_ = *std::move(ring);
    path_ = dir_.path() + "/f";
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    ring_.reset();
    if (fd_ >= 0) ::close(fd_);
  }

  // Runs the ring until nothing is pending (or 5 s pass).
  void Drain() {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (ring_->pending() > 0 && absl::Now() < deadline) ring_->Run(absl::Milliseconds(10));
    ASSERT_EQ(ring_->pending(), 0u);
  }

  testing::TempDir dir_;
  std::unique_ptr<Uring> ring_;
  std::string path_;
  int fd_ = -1;
};

TEST_F(UringTest, WriteAndSyncThenReadBack) {
  const std::string data(100'000, 'x');
  int write_result = 1;
  int sync_result = 1;
  ring_->WriteAndSync(fd_, 0, data, /*sync=*/true, [&](int w, int s) {
    write_result = w;
    sync_result = s;
  });
  EXPECT_EQ(ring_->pending(), 1u);
  Drain();
  EXPECT_EQ(write_result, 0);
  EXPECT_EQ(sync_result, 0);
  EXPECT_EQ(testing::ReadFile(path_), data);
  // The write and its linked fdatasync: two SQEs.
  EXPECT_EQ(ring_->submitted_sqes(), 2u);

  std::string buf(data.size(), '\0');
  int read_result = -1;
  ring_->Read(fd_, 0, buf.data(), buf.size(), [&](int r) { read_result = r; });
  Drain();
  EXPECT_EQ(read_result, static_cast<int>(data.size()));
  EXPECT_EQ(buf, data);
}

TEST_F(UringTest, ReadStopsAtEndOfFile) {
  testing::WriteFile(path_, "hello");
  char buf[64];
  int result = -1;
  ring_->Read(fd_, 2, buf, sizeof(buf), [&](int r) { result = r; });
  Drain();
  ASSERT_EQ(result, 3);
  EXPECT_EQ(std::string(buf, 3), "llo");
}

TEST_F(UringTest, ManyRequestsInFlightBeyondTheQueueSize) {
  // 8 SQE slots, 200 writes at distinct offsets then 200 reads: the wrapper submits when full.
  constexpr int kCount = 200;
  std::vector<std::string> blocks;
  for (int i = 0; i < kCount; ++i) blocks.push_back(std::string(512, static_cast<char>('a' + i % 26)));
  int ok = 0;
  for (int i = 0; i < kCount; ++i) {
    ring_->WriteAndSync(fd_, static_cast<uint64_t>(i) * 512, blocks[i], /*sync=*/i % 50 == 0,
                        [&, i](int w, int s) { ok += w == 0 && s == (i % 50 == 0 ? 0 : -ECANCELED); });
  }
  Drain();
  EXPECT_EQ(ok, kCount);
  std::vector<std::string> got(kCount, std::string(512, '\0'));
  int reads = 0;
  for (int i = 0; i < kCount; ++i) {
    ring_->Read(fd_, static_cast<uint64_t>(i) * 512, got[i].data(), 512,
                [&](int r) { reads += r == 512; });
  }
  Drain();
  EXPECT_EQ(reads, kCount);
  EXPECT_EQ(got, blocks);
}

TEST_F(UringTest, ErrorsReachTheCallback) {
  const int read_only = ::open(path_.c_str(), O_RDONLY);
  ASSERT_GE(read_only, 0);
  int write_result = 0;
  int sync_result = 0;
  ring_->WriteAndSync(read_only, 0, "data", /*sync=*/true, [&](int w, int s) {
    write_result = w;
    sync_result = s;
  });
  int bad_fd_result = 0;
  char buf[4];
  ring_->Read(-1, 0, buf, sizeof(buf), [&](int r) { bad_fd_result = r; });
  Drain();
  ::close(read_only);
  EXPECT_EQ(write_result, -EBADF);
  EXPECT_EQ(sync_result, -ECANCELED);  // the linked fdatasync is not attempted
  EXPECT_EQ(bad_fd_result, -EBADF);
  EXPECT_EQ(testing::FileSize(path_), 0u);
}

TEST_F(UringTest, CallbacksMayQueueMoreRequests) {
  int stage = 0;
  ring_->WriteAndSync(fd_, 0, "first", false, [&](int w, int) {
    ASSERT_EQ(w, 0);
    stage = 1;
    ring_->WriteAndSync(fd_, 5, "second", true, [&](int w2, int s2) {
      ASSERT_EQ(w2, 0);
      ASSERT_EQ(s2, 0);
      stage = 2;
    });
  });
  Drain();
  EXPECT_EQ(stage, 2);
  EXPECT_EQ(testing::ReadFile(path_), "firstsecond");
}

TEST_F(UringTest, RunWithoutWorkReturnsAtOnce) {
  const absl::Time start = absl::Now();
  EXPECT_EQ(ring_->Run(absl::Seconds(5)), 0);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(UringTest, DestructorWaitsForRequestsInFlight) {
  std::string data(1 << 20, 'z');
  bool called = false;
  ring_->WriteAndSync(fd_, 0, data, true, [&](int, int) { called = true; });
  ring_->Run(absl::ZeroDuration());  // submitted, maybe not complete
  ring_.reset();
  EXPECT_FALSE(called);  // callbacks do not run from the destructor
  EXPECT_EQ(testing::FileSize(path_), data.size());
}

}  // namespace
}  // namespace beyondkv::engine
