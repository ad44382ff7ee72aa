#include "engine/env.h"

#include <algorithm>

#include "engine/test_util.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

TEST(PosixEnvTest, WritesReadsTruncatesAndSizesAFile) {
  testing::TempDir dir;
  Env* env = Env::Default();
  const std::string path = dir.path() + "/f";
  absl::StatusOr<std::unique_ptr<File>> file = env->OpenFile(path, Env::OpenMode::kCreateTruncate);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE((*file)->Write(0, "hello world").ok());
  ASSERT_TRUE((*file)->Write(6, "WORLD").ok());
  ASSERT_TRUE((*file)->DataSync().ok());
  EXPECT_EQ(*(*file)->Size(), 11u);

  char buf[32];
  absl::StatusOr<size_t> n = (*file)->Read(0, sizeof(buf), buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "hello WORLD");  // short read at end of file

  ASSERT_TRUE((*file)->Truncate(5).ok());
  EXPECT_EQ(*(*file)->Size(), 5u);
  EXPECT_EQ(*ReadFileToString(env, path), "hello");
}

TEST(PosixEnvTest, OpenExistingMissingFileIsNotFound) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<File>> file =
      Env::Default()->OpenFile(dir.path() + "/missing", Env::OpenMode::kExisting);
  EXPECT_TRUE(absl::IsNotFound(file.status())) << file.status();
}

TEST(PosixEnvTest, CreatesNestedDirsAndListsThem) {
  testing::TempDir dir;
  Env* env = Env::Default();
  ASSERT_TRUE(env->CreateDir(dir.path() + "/a/b/c").ok());
  ASSERT_TRUE(env->CreateDir(dir.path() + "/a/b/c").ok());  // idempotent
  ASSERT_TRUE(env->CreateDir(dir.path() + "/a/x").ok());
  EXPECT_TRUE(*env->Exists(dir.path() + "/a/b/c"));
  std::vector<std::string> names = *env->ListDir(dir.path() + "/a");
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"b", "x"}));
  ASSERT_TRUE(env->SyncDir(dir.path() + "/a").ok());
}

TEST(PosixEnvTest, WriteFileAtomicallyReplacesContentsAndLeavesNoTempFile) {
  testing::TempDir dir;
  Env* env = Env::Default();
  const std::string path = dir.path() + "/MANIFEST";
  ASSERT_TRUE(WriteFileAtomically(env, path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(env, path, "second").ok());
  EXPECT_EQ(*ReadFileToString(env, path), "second");
  EXPECT_FALSE(*env->Exists(path + ".tmp"));
}

TEST(PosixEnvTest, DirNameStripsLastComponent) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("/a"), "/");
  EXPECT_EQ(DirName("a"), ".");
}

TEST(PosixEnvTest, FailedWriteFileAtomicallyLeavesNoTempFile) {
  testing::TempDir dir;
  testing::FaultInjectionEnv env;
  const std::string path = dir.path() + "/f";
  env.disk_full = true;
  EXPECT_FALSE(WriteFileAtomically(&env, path, "x").ok());
  env.disk_full = false;
  EXPECT_TRUE(env.ListDir(dir.path())->empty());
}

TEST(FaultInjectionEnvTest, CrashStopsEveryMutationAndDropsUnsyncedData) {
  testing::TempDir dir;
  testing::FaultInjectionEnv env;
  const std::string path = dir.path() + "/f";
  absl::StatusOr<std::unique_ptr<File>> file = env.OpenFile(path, Env::OpenMode::kCreateTruncate);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Write(0, "synced").ok());
  ASSERT_TRUE((*file)->DataSync().ok());
  env.crash_after_ops = 1;
  ASSERT_TRUE((*file)->Write(6, " unsynced").ok());  // the last operation before the crash
  EXPECT_FALSE((*file)->Write(15, " torn!").ok());    // the crash: half of it lands
  EXPECT_TRUE(env.crashed());
  EXPECT_FALSE((*file)->DataSync().ok());
  EXPECT_FALSE(env.RemoveFile(path).ok());
  EXPECT_FALSE(env.OpenFile(path + "2", Env::OpenMode::kCreateTruncate).ok());
  EXPECT_EQ(testing::ReadFile(path), "synced unsynced to");
  file->reset();
  env.DropUnsyncedData();
  EXPECT_FALSE(env.crashed());
  EXPECT_EQ(testing::ReadFile(path), "synced");
}

}  // namespace
}  // namespace beyondkv::engine
