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

absl::Status Crashed(const std::string& what) {
  return absl::ErrnoToStatus(EIO, "injected crash: " + what);
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
    bool crashing_now = false;
    if (!env_->Mutate(&crashing_now)) {
      if (crashing_now) base_->Write(offset, data.substr(0, data.size() / 2)).IgnoreError();
      return Crashed("pwrite " + path());
    }
    return base_->Write(offset, data);
  }
  absl::StatusOr<size_t> Read(uint64_t offset, size_t n, char* buf) override {
    return base_->Read(offset, n, buf);
  }
  absl::Status Truncate(uint64_t size) override {
    if (env_->fail_truncates) return absl::ErrnoToStatus(EIO, "injected: ftruncate " + path());
    if (!env_->Mutate()) return Crashed("ftruncate " + path());
    absl::Status s = base_->Truncate(size);
    if (s.ok()) env_->Truncated(path(), size);
    return s;
  }
  absl::Status DataSync() override {
    if (env_->fail_syncs) return absl::ErrnoToStatus(EIO, "injected: fdatasync " + path());
    if (!env_->Mutate()) return Crashed("fdatasync " + path());
    absl::Status s = base_->DataSync();
    if (absl::StatusOr<uint64_t> size = base_->Size(); s.ok() && size.ok()) {
      env_->Synced(path(), *size);
      ++env_->data_syncs;
    }
    return s;
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

bool FaultInjectionEnv::Mutate(bool* crashing_now) {
  if (crashed_) return false;
  int64_t left = crash_after_ops.load();
  while (left > 0 && !crash_after_ops.compare_exchange_weak(left, left - 1)) {
  }
  if (left == 0) {
    crashed_ = true;
    if (crashing_now != nullptr) *crashing_now = true;
    return false;
  }
  return true;
}

void FaultInjectionEnv::Synced(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  synced_size_[path] = size;
}

void FaultInjectionEnv::Truncated(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = synced_size_.find(path);
  if (it != synced_size_.end() && it->second > size) it->second = size;
}

void FaultInjectionEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [path, synced] : synced_size_) {
    absl::StatusOr<std::unique_ptr<File>> file =
        Env::Default()->OpenFile(path, OpenMode::kExisting);
    if (!file.ok()) continue;  // removed
    absl::StatusOr<uint64_t> size = (*file)->Size();
    CHECK(size.ok()) << size.status();
    if (*size > synced) CHECK((*file)->Truncate(synced).ok()) << path;
  }
  crashed_ = false;
  crash_after_ops = -1;
}

absl::StatusOr<std::unique_ptr<File>> FaultInjectionEnv::OpenFile(const std::string& path,
                                                                  OpenMode mode) {
  if (mode == OpenMode::kCreateTruncate && !Mutate()) return Crashed("open " + path);
  absl::StatusOr<std::unique_ptr<File>> file = Env::Default()->OpenFile(path, mode);
  if (!file.ok()) return file.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (mode == OpenMode::kCreateTruncate) {
      synced_size_[path] = 0;
    } else if (synced_size_.count(path) == 0) {
      absl::StatusOr<uint64_t> size = (*file)->Size();
      if (size.ok()) synced_size_[path] = *size;
    }
  }
  return std::unique_ptr<File>(new FaultInjectionFile(this, std::move(*file)));
}
absl::Status FaultInjectionEnv::CreateDir(const std::string& path) {
  if (!Mutate()) return Crashed("mkdir " + path);
  return Env::Default()->CreateDir(path);
}
absl::StatusOr<bool> FaultInjectionEnv::Exists(const std::string& path) {
  return Env::Default()->Exists(path);
}
absl::StatusOr<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& path) {
  return Env::Default()->ListDir(path);
}
absl::Status FaultInjectionEnv::Rename(const std::string& from, const std::string& to) {
  if (!Mutate()) return Crashed("rename " + from);
  absl::Status s = Env::Default()->Rename(from, to);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = synced_size_.find(from);
    if (it != synced_size_.end()) {
      synced_size_[to] = it->second;
      synced_size_.erase(from);
    } else {
      synced_size_.erase(to);
    }
  }
  return s;
}
absl::Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  if (!Mutate()) return Crashed("unlink " + path);
  absl::Status s = Env::Default()->RemoveFile(path);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    synced_size_.erase(path);
  }
  return s;
}
absl::Status FaultInjectionEnv::SyncDir(const std::string& path) {
  if (fail_syncs) return absl::ErrnoToStatus(EIO, "injected: fsync " + path);
  if (!Mutate()) return Crashed("fsync " + path);
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
