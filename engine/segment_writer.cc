#include "engine/segment_writer.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace beyondkv::engine {

SegmentWriter::SegmentWriter(Env* env, std::string dir, const SegmentHeader& header)
    : env_(env),
      dir_(std::move(dir)),
      path_(absl::StrCat(dir_, "/", SegmentFileName(header.sequence))),
      header_(header),
      written_size_(kSegmentHeaderSize) {}

SegmentWriter::SegmentWriter(Env* env, std::string dir, const SegmentHeader& header,
                             std::unique_ptr<File> file, uint64_t size)
    : env_(env),
      dir_(std::move(dir)),
      path_(absl::StrCat(dir_, "/", SegmentFileName(header.sequence))),
      header_(header),
      file_(std::move(file)),
      written_size_(size),
      recovered_(true) {
  CHECK(file_ != nullptr);
  CHECK_GE(size, kSegmentHeaderSize);
}

uint64_t SegmentWriter::Stage(const RecordView& record) {
  CHECK(!flushing_) << path_ << ": record staged while its flush is in flight";
  const uint64_t offset = written_size_ + staged_.size();
  AppendRecord(record, &staged_);
  max_revision_ = std::max(max_revision_, record.revision);
  return offset;
}

std::string_view SegmentWriter::ReadStaged(uint64_t offset, size_t n) const {
  CHECK_GE(offset, written_size_);
  CHECK_LE(offset - written_size_ + n, staged_.size());
  return std::string_view(staged_).substr(offset - written_size_, n);
}

absl::StatusOr<size_t> SegmentWriter::ReadFile(uint64_t offset, size_t n, char* buf) {
  if (file_ == nullptr) return absl::InternalError(absl::StrCat(path_, " not created yet"));
  return file_->Read(offset, n, buf);
}

// The segment and its directory entry are made durable at creation, whatever the fsync
// policy: it happens once per segment, and recovery relies on the header being there.
absl::Status SegmentWriter::CreateFile() {
  absl::StatusOr<bool> dir_exists = env_->Exists(dir_);
  if (!dir_exists.ok()) return dir_exists.status();
  if (!*dir_exists) {
    if (absl::Status s = env_->CreateDir(dir_); !s.ok()) return s;
    if (absl::Status s = env_->SyncDir(DirName(dir_)); !s.ok()) return s;
  }
  absl::StatusOr<std::unique_ptr<File>> file =
      env_->OpenFile(path_, Env::OpenMode::kCreateTruncate);
  if (!file.ok()) return file.status();
  absl::Status s = (*file)->Write(0, EncodeSegmentHeader(header_));
  if (s.ok()) s = (*file)->DataSync();
  if (s.ok()) s = env_->SyncDir(dir_);
  if (!s.ok()) {
    // Leave no half-made segment behind; a retry recreates it from scratch (kCreateTruncate).
    env_->RemoveFile(path_).IgnoreError();
    return s;
  }
  file_ = *std::move(file);
  return absl::OkStatus();
}

absl::Status SegmentWriter::Flush() {
  if (!status_.ok()) return status_;
  if (staged_.empty()) return absl::OkStatus();
  absl::StatusOr<PendingWrite> write = BeginFlush();
  if (!write.ok()) return write.status();
  if (absl::Status s = write->file->Write(write->offset, write->data); !s.ok()) {
    flushing_ = false;
    return s;
  }
  EndFlush(/*synced=*/false);
  return absl::OkStatus();
}

absl::StatusOr<SegmentWriter::PendingWrite> SegmentWriter::BeginFlush() {
  CHECK(!flushing_);
  if (!status_.ok()) return status_;
  if (file_ == nullptr) {
    if (absl::Status s = CreateFile(); !s.ok()) return s;
  }
  flushing_ = true;
  return PendingWrite{file_.get(), written_size_, staged_};
}

void SegmentWriter::EndFlush(bool synced) {
  CHECK(flushing_);
  flushing_ = false;
  written_size_ += staged_.size();
  staged_.clear();
  ++flush_generation_;
  unsynced_ = !synced;  // a linked fdatasync covers every earlier write too
}

void SegmentWriter::EndSync(uint64_t generation, const absl::Status& status) {
  if (!status.ok()) {
    Fail(status);
    return;
  }
  if (generation == flush_generation_) unsynced_ = false;
}

absl::Status SegmentWriter::Rollback(uint64_t size) {
  CHECK_LE(size, written_size_);
  CHECK_GE(size, kSegmentHeaderSize);
  staged_.clear();
  flushing_ = false;
  if (file_ == nullptr) return absl::OkStatus();  // creation failed: nothing was written
  // Truncate even when size == written_size_: a failed write may have left bytes past it,
  // and the next record must not be appended after them.
  absl::Status s = file_->Truncate(size);
  if (s.ok()) s = file_->DataSync();
  if (!s.ok()) {
    Fail(s);
    return status_;
  }
  written_size_ = size;
  return absl::OkStatus();
}

absl::Status SegmentWriter::Sync() {
  // After a failed fdatasync a retry can report success for pages the kernel already dropped
  // ("fsyncgate"); a failed writer never claims to be synced again.
  if (!status_.ok()) return status_;
  if (!unsynced_ || file_ == nullptr) return absl::OkStatus();
  if (absl::Status s = file_->DataSync(); !s.ok()) {
    Fail(s);
    return status_;
  }
  unsynced_ = false;
  return absl::OkStatus();
}

std::unique_ptr<File> SegmentWriter::ReleaseFile() {
  CHECK(staged_.empty());
  return std::move(file_);
}

void SegmentWriter::Fail(const absl::Status& status) {
  if (!status_.ok()) return;  // keep the first cause
  status_ = absl::Status(
      status.code(), absl::StrCat(path_, " refuses writes until the engine is reopened: ",
                                  status.message()));
  LOG(ERROR) << status_;
}

}  // namespace beyondkv::engine
