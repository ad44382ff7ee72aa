#include "engine/test_util.h"

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include <glog/logging.h>

#include <utility>

namespace beyondkv::engine::testing {
namespace {

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path);
}

class FaultInjectionFile final : public File {
 public:
  FaultInjectionFile(FaultInjectionEnv* env, std::unique_ptr<File> base)
      : env_(env), base_(std::move(base)) {}

  absl::Status Write(uint64_t offset, std::string_view data) override {
    if (env_->disk_full) return absl::ErrnoToStatus(ENOSPC, "injected: pwrite " + path());
    if (env_->fail_writes) {
      base_->Write(offset, data.substr(0, data.size() / 2)).IgnoreError();
      return absl::ErrnoToStatus(EIO, "injected: pwrite " + path());
    }
    return base_->Write(offset, data);
  }
  absl::StatusOr<size_t> Read(uint64_t offset, size_t n, char* buf) override {
    return base_->Read(offset, n, buf);
  }
  absl::Status Truncate(uint64_t size) override {
    if (env_->fail_truncates) return absl::ErrnoToStatus(EIO, "injected: ftruncate " + path());
    return base_->Truncate(size);
  }
  absl::Status DataSync() override {
    if (env_->fail_syncs) return absl::ErrnoToStatus(EIO, "injected: fdatasync " + path());
    return base_->DataSync();
  }
  absl::StatusOr<uint64_t> Size() override { return base_->Size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultInjectionEnv* const env_;
  const std::unique_ptr<File> base_;
};

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                      "/beyondkv-engine-XXXXXX";
  CHECK(::mkdtemp(templ.data()) != nullptr) << "mkdtemp " << templ << ": " << errno;
  path_ = templ;
}

TempDir::~TempDir() {
  ::nftw(path_.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
}

absl::StatusOr<std::unique_ptr<File>> FaultInjectionEnv::OpenFile(const std::string& path,
                                                                  OpenMode mode) {
  absl::StatusOr<std::unique_ptr<File>> file = Env::Default()->OpenFile(path, mode);
  if (!file.ok()) return file.status();
  return std::unique_ptr<File>(new FaultInjectionFile(this, std::move(*file)));
}
absl::Status FaultInjectionEnv::CreateDir(const std::string& path) {
  return Env::Default()->CreateDir(path);
}
absl::StatusOr<bool> FaultInjectionEnv::Exists(const std::string& path) {
  return Env::Default()->Exists(path);
}
absl::StatusOr<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& path) {
  return Env::Default()->ListDir(path);
}
absl::Status FaultInjectionEnv::Rename(const std::string& from, const std::string& to) {
  return Env::Default()->Rename(from, to);
}
absl::Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  return Env::Default()->RemoveFile(path);
}
absl::Status FaultInjectionEnv::SyncDir(const std::string& path) {
  if (fail_syncs) return absl::ErrnoToStatus(EIO, "injected: fsync " + path);
  return Env::Default()->SyncDir(path);
}

uint64_t FileSize(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFileToString(Env::Default(), path);
  CHECK(contents.ok()) << contents.status();
  return contents->size();
}

std::string ReadFile(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFileToString(Env::Default(), path);
  CHECK(contents.ok()) << contents.status();
  return *std::move(contents);
}

void WriteFile(const std::string& path, const std::string& contents) {
  absl::StatusOr<std::unique_ptr<File>> file =
      Env::Default()->OpenFile(path, Env::OpenMode::kCreateTruncate);
  CHECK(file.ok()) << file.status();
  CHECK((*file)->Write(0, contents).ok());
}

}  // namespace beyondkv::engine::testing
