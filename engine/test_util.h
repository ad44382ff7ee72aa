// Helpers for engine tests: a scratch directory, and an Env that fails on demand (after
// LevelDB's db/fault_injection_test.cc). testonly.
#ifndef BEYONDKV_ENGINE_TEST_UTIL_H_
#define BEYONDKV_ENGINE_TEST_UTIL_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
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
  std::atomic<uint64_t> data_syncs{0};      // File::DataSync calls that succeeded

  // Simulated crash (after LevelDB's FaultInjectionTestEnv). Once `crash_after_ops` more
  // mutating calls (File::Write, Truncate, DataSync; CreateDir, Rename, RemoveFile, SyncDir,
  // OpenFile with kCreateTruncate) have succeeded, the next one and every later one fail
  // (EIO) without effect: the machine is gone. The Write that meets the crash writes half of
  // its data first (a torn write). -1 = never. Read it back to see how many remain.
  std::atomic<int64_t> crash_after_ops{-1};
  bool crashed() const { return crashed_; }

  // What a power loss keeps of the files written through this Env: each is cut back to its
  // size at its last DataSync (a file created since is cut to 0 bytes; renames and removals
  // count as durable). Call once the engine is gone; clears crashed() and crash_after_ops.
  void DropUnsyncedData();

  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                                 OpenMode mode) override;
  absl::Status CreateDir(const std::string& path) override;
  absl::StatusOr<bool> Exists(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status SyncDir(const std::string& path) override;

  // For FaultInjectionFile: whether a mutating call may go ahead (false once crashed);
  // *crashing_now is set if this very call is the one that crashes.
  bool Mutate(bool* crashing_now = nullptr);
  void Synced(const std::string& path, uint64_t size);
  void Truncated(const std::string& path, uint64_t size);

 private:
  std::atomic<bool> crashed_{false};
  std::mutex mu_;
  std::map<std::string, uint64_t> synced_size_;  // by path, of files opened through this Env
};

// Small file helpers for tests that damage files on purpose. CHECK-fail on I/O errors.
uint64_t FileSize(const std::string& path);
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);  // replaces

}  // namespace beyondkv::engine::testing

#endif  // BEYONDKV_ENGINE_TEST_UTIL_H_
