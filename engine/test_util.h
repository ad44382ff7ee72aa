// Helpers for engine tests: a scratch directory, and an Env that fails on demand (after
// LevelDB's db/fault_injection_test.cc). testonly.
#ifndef BEYONDKV_ENGINE_TEST_UTIL_H_
#define BEYONDKV_ENGINE_TEST_UTIL_H_

#include <atomic>
#include <memory>
#include <string>

#include "engine/env.h"

namespace beyondkv::engine::testing {

// A fresh directory from mkdtemp under $TEST_TMPDIR (or /tmp), removed with its contents on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Passes every call to Env::Default() unless told to fail. Flags may be flipped at any time.
class FaultInjectionEnv final : public Env {
 public:
  // File::Write writes the first half of its data, then fails with an I/O error (EIO).
  std::atomic<bool> fail_writes{false};
  // File::Write fails with ENOSPC before writing anything.
  std::atomic<bool> disk_full{false};
  std::atomic<bool> fail_syncs{false};      // File::DataSync fails (EIO)
  std::atomic<bool> fail_truncates{false};  // File::Truncate fails (EIO)

  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                                 OpenMode mode) override;
  absl::Status CreateDir(const std::string& path) override;
  absl::StatusOr<bool> Exists(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status SyncDir(const std::string& path) override;
};

// Small file helpers for tests that damage files on purpose. CHECK-fail on I/O errors.
uint64_t FileSize(const std::string& path);
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);  // replaces

}  // namespace beyondkv::engine::testing

#endif  // BEYONDKV_ENGINE_TEST_UTIL_H_
