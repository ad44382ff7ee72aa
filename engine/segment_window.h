// A window of a segment file read ahead through the shard's io_uring, seen as a read-only
// File, so that the sequential scans of background work (hint building, reclaim) run over
// memory while the engine thread never waits on the file (log_engine.h).
//
// A read the window does not cover fails with the status of Miss() and remembers where it
// was: the caller then starts a ring read of a window from there (Fill is called by the
// completion) and resumes the scan at the next background call.
//
// Thread contract: the engine thread only. Shared (std::shared_ptr) between the job using it
// and the ring callback filling it, so a job dropped while a read is in flight leaves the
// buffer alive until the kernel is done with it.
#ifndef BEYONDKV_ENGINE_SEGMENT_WINDOW_H_
#define BEYONDKV_ENGINE_SEGMENT_WINDOW_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/env.h"

namespace beyondkv::engine {

class SegmentWindow final : public File {
 public:
  // Bytes a window read covers at least (more if one read needs more).
  static constexpr size_t kMinBytes = 8 << 20;

  // `base` is the segment (for its path in messages), `size` its size in bytes.
  SegmentWindow(const File& base, uint64_t size) : path_(base.path()), size_(size) {}

  bool Covers(uint64_t offset, size_t n) const {
    return offset >= start_ && offset + n <= start_ + filled_;
  }

  absl::StatusOr<size_t> Read(uint64_t offset, size_t n, char* buf) override {
    if (!Covers(offset, n)) {
      miss_offset_ = offset;
      miss_bytes_ = n;
      return Miss();
    }
    std::memcpy(buf, buffer_.get() + (offset - start_), n);
    return n;
  }

  std::optional<std::string_view> Peek(uint64_t offset, size_t n) const override {
    if (!Covers(offset, n)) return std::nullopt;
    return std::string_view(buffer_.get() + (offset - start_), filled_ - (offset - start_));
  }

  // The status of a read outside the window, and where that read was.
  static absl::Status Miss() { return absl::UnavailableError("segment window: not read yet"); }
  static bool IsMiss(const absl::Status& s) {
    return absl::IsUnavailable(s) && s.message() == "segment window: not read yet";
  }
  uint64_t miss_offset() const { return miss_offset_; }
  size_t miss_bytes() const { return miss_bytes_; }

  // A ring read into buffer() is in flight.
  bool in_flight() const { return in_flight_; }
  // Prepares a read of `n` bytes at `offset` into the returned buffer; the window is empty
  // meanwhile. The buffer is reused from fill to fill (grown, never zeroed: the read fills it).
  char* BeginFill(uint64_t offset, size_t n) {
    in_flight_ = true;
    start_ = offset;
    filled_ = 0;
    if (n > capacity_) {
      buffer_.reset(new char[n]);  // uninitialized: the read fills it
      capacity_ = n;
    }
    return buffer_.get();
  }
  // The read completed with `result` (bytes, or -errno).
  void EndFill(int result) {
    in_flight_ = false;
    if (result < 0) {
      error_ = absl::ErrnoToStatus(-result, absl::StrCat("read ", path_));
      filled_ = 0;
      return;
    }
    filled_ = std::min(static_cast<size_t>(result), capacity_);
  }
  // The error of the last fill, if it failed (the scan then reports it).
  const absl::Status& error() const { return error_; }

  absl::Status Write(uint64_t, std::string_view) override { return ReadOnly(); }
  absl::Status Truncate(uint64_t) override { return ReadOnly(); }
  absl::Status DataSync() override { return ReadOnly(); }
  absl::StatusOr<uint64_t> Size() override { return size_; }
  const std::string& path() const override { return path_; }

 private:
  static absl::Status ReadOnly() { return absl::InternalError("segment window is read-only"); }

  const std::string path_;
  const uint64_t size_;
  uint64_t start_ = 0;
  std::unique_ptr<char[]> buffer_;  // capacity_ bytes; the window is its first filled_
  size_t capacity_ = 0;
  size_t filled_ = 0;
  bool in_flight_ = false;
  uint64_t miss_offset_ = 0;
  size_t miss_bytes_ = 0;
  absl::Status error_;
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_SEGMENT_WINDOW_H_
