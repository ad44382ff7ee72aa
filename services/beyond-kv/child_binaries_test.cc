#include "services/beyond-kv/child_binaries.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"

namespace beyondkv::services {
namespace {

namespace fs = std::filesystem;

class ChildBinariesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = fs::path(tmp != nullptr ? tmp : "/tmp") /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    // A bazel-bin like tree: <root>/bin/services/beyond-kv/beyond-kv.
    self_.exe_path = (root_ / "bin/services/beyond-kv/beyond-kv").string();
    Touch(self_.exe_path, 0755);
  }
  static void Touch(const fs::path& path, int mode) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << "#!/bin/sh\n";
    chmod(path.c_str(), mode);
  }

  fs::path root_;
  SelfLocation self_;
};

TEST_F(ChildBinariesTest, FindsBazelBinLayout) {
  Touch(root_ / "bin/gateway/kv-resp-gateway", 0755);
  absl::StatusOr<std::string> found = LocateChildBinary(kGatewayBinary, "", self_);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, (root_ / "bin/gateway/kv-resp-gateway").string());
}

TEST_F(ChildBinariesTest, PrefersBinDirThenRunfilesThenSideBySide) {
  Touch(root_ / "bin/services/kv-shard/kv-shard", 0755);
  Touch(root_ / "bin/services/beyond-kv/kv-shard", 0755);
  EXPECT_EQ(*LocateChildBinary(kShardBinary, "", self_),
            (root_ / "bin/services/beyond-kv/kv-shard").string());
  Touch(self_.exe_path + ".runfiles/beyondkv/services/kv-shard/kv-shard", 0755);
  EXPECT_EQ(*LocateChildBinary(kShardBinary, "", self_),
            self_.exe_path + ".runfiles/beyondkv/services/kv-shard/kv-shard");
  Touch(root_ / "custom/kv-shard", 0755);
  EXPECT_EQ(*LocateChildBinary(kShardBinary, (root_ / "custom").string(), self_),
            (root_ / "custom/kv-shard").string());
}

TEST_F(ChildBinariesTest, SkipsNonExecutableAndListsPlacesWhenMissing) {
  Touch(root_ / "bin/services/beyond-kv/kv-shard", 0644);
  absl::StatusOr<std::string> found = LocateChildBinary(kShardBinary, "/nowhere", self_);
  ASSERT_TRUE(absl::IsNotFound(found.status()));
  EXPECT_TRUE(absl::StrContains(found.status().message(), "/nowhere/kv-shard"));
  EXPECT_TRUE(absl::StrContains(found.status().message(), "KV_BIN_DIR"));
  EXPECT_TRUE(absl::StrContains(found.status().message(),
                                (root_ / "bin/services/kv-shard/kv-shard").string()));
}

}  // namespace
}  // namespace beyondkv::services
