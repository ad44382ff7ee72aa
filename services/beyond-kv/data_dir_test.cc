#include "services/beyond-kv/data_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace beyondkv::services {
namespace {

namespace fs = std::filesystem;

class DataDirTest : public ::testing::Test {
 protected:
  // Not under $TEST_TMPDIR: Bazel's is too deep for a 107-byte unix socket path.
  void SetUp() override {
    char dir[] = "/tmp/data_dir_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string Dir() const { return (root_ / "data").string(); }

  fs::path root_;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(DataDirTest, CreatesLayoutAndManifest) {
  absl::StatusOr<std::unique_ptr<DataDir>> dir = DataDir::Open(Dir(), 4);
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(ReadFile(fs::path(Dir()) / "MANIFEST"), "beyond-kv-manifest 1\nshard_count 4\n");
  struct stat st;
  ASSERT_EQ(stat((fs::path(Dir()) / "run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  EXPECT_TRUE(fs::path((*dir)->path()).is_absolute());
  EXPECT_EQ((*dir)->SocketPath(3), (*dir)->path() + "/run/shard-3.sock");
  EXPECT_FALSE(fs::exists(fs::path(Dir()) / "MANIFEST.tmp"));
}

TEST_F(DataDirTest, ReopensWithSameShardCountAndTightensRunDir) {
  { ASSERT_TRUE(DataDir::Open(Dir(), 2).ok()); }
  chmod((fs::path(Dir()) / "run").c_str(), 0755);
  absl::StatusOr<std::unique_ptr<DataDir>> dir = DataDir::Open(Dir(), 2);
  ASSERT_TRUE(dir.ok()) << dir.status();
  struct stat st;
  ASSERT_EQ(stat((fs::path(Dir()) / "run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
}

TEST_F(DataDirTest, RefusesDifferentShardCountNamingBoth) {
  { ASSERT_TRUE(DataDir::Open(Dir(), 4).ok()); }
  absl::StatusOr<std::unique_ptr<DataDir>> dir = DataDir::Open(Dir(), 2);
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(dir.status()));
  EXPECT_EQ(dir.status().message(),
            absl::StrCat("data directory ", Dir(), " was created with 4 shards; --threads=2 "
                         "would misroute keys; start with --threads=4"));
  EXPECT_EQ(*ReadManifestShardCount(Dir()), 4);  // untouched
}

TEST_F(DataDirTest, SecondInstanceIsRefusedWhileLocked) {
  absl::StatusOr<std::unique_ptr<DataDir>> first = DataDir::Open(Dir(), 1);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<DataDir>> second = DataDir::Open(Dir(), 1);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::StrContains(second.status().message(), "in use by another beyond-kv"))
      << second.status();
  first->reset();
  EXPECT_TRUE(DataDir::Open(Dir(), 1).ok());
}

TEST_F(DataDirTest, RefusesSocketPathsTooLongForSockaddrUn) {
  const std::string deep = (root_ / std::string(100, 'd')).string();
  absl::StatusOr<std::unique_ptr<DataDir>> dir = DataDir::Open(deep, 1);
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(absl::StrContains(dir.status().message(), "limit is 107")) << dir.status();
  EXPECT_FALSE(fs::exists(deep));
}

TEST_F(DataDirTest, ManifestErrors) {
  fs::create_directories(Dir());
  EXPECT_TRUE(absl::IsNotFound(ReadManifestShardCount(Dir()).status()));
  std::ofstream(fs::path(Dir()) / "MANIFEST") << "garbage\n";
  EXPECT_TRUE(absl::IsDataLoss(ReadManifestShardCount(Dir()).status()));
  std::ofstream(fs::path(Dir()) / "MANIFEST") << "beyond-kv-manifest 2\nshard_count 3\n";
  EXPECT_TRUE(absl::IsFailedPrecondition(ReadManifestShardCount(Dir()).status()));
  std::ofstream(fs::path(Dir()) / "MANIFEST") << "beyond-kv-manifest 1\n";
  EXPECT_TRUE(absl::IsDataLoss(ReadManifestShardCount(Dir()).status()));
  // Unknown keys are skipped: later releases may add lines.
  std::ofstream(fs::path(Dir()) / "MANIFEST") << "beyond-kv-manifest 1\nfuture x\nshard_count 3\n";
  EXPECT_EQ(*ReadManifestShardCount(Dir()), 3);
}

}  // namespace
}  // namespace beyondkv::services
