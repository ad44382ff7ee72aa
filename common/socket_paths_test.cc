#include "common/socket_paths.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace beyondkv {
namespace {

class SocketPathsTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/sockp-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);  // mode 0700, ours
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(SocketPathsTest, NamesFollowTheShard) {
  EXPECT_EQ(ShardSocketPath("/d/run", 3), "/d/run/shard-3.sock");
  EXPECT_EQ(ShardLinkPath("/d/run", 3), "/d/run/shard-3.link");
  EXPECT_EQ(LinkSocketPath("/x/s"), "/x/s.link");
}

TEST_F(SocketPathsTest, APrivateDirectoryIsAccepted) {
  EXPECT_TRUE(CheckPrivateSocketPath(dir_ + "/shard-0.sock").ok());
  // A stale socket of a killed predecessor is fine (the shard removes it).
  const std::string path = dir_ + "/shard-0.sock";
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  EXPECT_TRUE(CheckPrivateSocketPath(path).ok());
}

TEST_F(SocketPathsTest, ADirectoryOthersCanWriteIsRefused) {
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  absl::Status s = CheckPrivateSocketPath(dir_ + "/shard-0.sock");
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("mode 0777"), std::string::npos) << s;
  ASSERT_EQ(chmod(dir_.c_str(), 0720), 0);  // group-writable is refused too
  EXPECT_FALSE(CheckPrivateSocketPath(dir_ + "/shard-0.sock").ok());
  EXPECT_FALSE(CheckPrivateSocketPath("/tmp/shard-0.sock").ok());  // sticky, world-writable
}

TEST_F(SocketPathsTest, AFileOrSymlinkAtThePathIsNotReplaced) {
  std::ofstream(dir_ + "/data.sock") << "not a socket";
  EXPECT_FALSE(CheckPrivateSocketPath(dir_ + "/data.sock").ok());
  ASSERT_EQ(symlink("/etc/passwd", (dir_ + "/link.sock").c_str()), 0);
  EXPECT_FALSE(CheckPrivateSocketPath(dir_ + "/link.sock").ok());
}

}  // namespace
}  // namespace beyondkv
