// The active segment of one namespace: the file records are appended to, plus the staging
// buffer that group commit fills between two Flush() calls (architecture §2).
//
// Offsets handed out by Stage() are the ones the records will have in the file once flushed,
// so the index can point at them at once; ReadStaged() serves reads of records not yet
// written. The file is created at the first Flush(), not before, so namespaces that are never
// written cost nothing on disk.
//
// Failure model: a failed Flush() may leave an unknown part of the staged bytes in the file;
// the owner then calls Rollback(), which truncates the file back to its last good size. If
// that is impossible, or a DataSync() fails (after a failed fdatasync the kernel may have
// dropped dirty pages of earlier writes too), the writer turns failed: it refuses all further
// writes with the recorded error until the engine is reopened and recovery rescans the file.
//
// Thread contract: owned by the shard's engine thread.
#ifndef BEYONDKV_ENGINE_SEGMENT_WRITER_H_
#define BEYONDKV_ENGINE_SEGMENT_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/env.h"
#include "engine/record_codec.h"
#include "engine/segment_file.h"

namespace beyondkv::engine {

class SegmentWriter {
 public:
  // A segment that does not exist yet: `dir`/SegmentFileName(header.sequence) is created
  // (and `dir` with it) at the first Flush().
  SegmentWriter(Env* env, std::string dir, const SegmentHeader& header);

  // A recovered segment whose valid records end at `size` (the file's size).
  SegmentWriter(Env* env, std::string dir, const SegmentHeader& header,
                std::unique_ptr<File> file, uint64_t size);

  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  uint64_t sequence() const { return header_.sequence; }
  const std::string& path() const { return path_; }

  // OK, or the error that made the writer refuse writes.
  const absl::Status& status() const { return status_; }

  // Appends `record` to the staging buffer; returns the offset it will have in the file.
  uint64_t Stage(const RecordView& record);

  bool has_staged() const { return !staged_.empty(); }

  // Bytes in the file: the header plus every flushed record.
  uint64_t written_size() const { return written_size_; }

  // Whether `offset` lies in the staging buffer rather than the file.
  bool IsStaged(uint64_t offset) const { return offset >= written_size_; }

  // The staged bytes [offset, offset + n), which must all be staged.
  std::string_view ReadStaged(uint64_t offset, size_t n) const;

  // Reads [offset, offset + n) of the file (flushed bytes only) into `buf`; returns the count.
  absl::StatusOr<size_t> ReadFile(uint64_t offset, size_t n, char* buf);

  // Creates the file now if it does not exist yet (header written, fdatasynced, directory
  // fsynced), as the first Flush() would. Nothing changes on error.
  absl::Status Create() {
    if (!status_.ok()) return status_;
    return file_ != nullptr ? absl::OkStatus() : CreateFile();
  }

  // Creates the file if needed, then writes the whole staging buffer with one positioned
  // write at written_size() and empties the buffer. On error nothing changes in memory (see
  // Rollback). BeginFlush() + File::Write + EndFlush().
  absl::Status Flush();

  // The write that appends the staging buffer: `data` at `offset` of `file`.
  struct PendingWrite {
    File* file = nullptr;
    uint64_t offset = 0;
    std::string_view data;  // the staging buffer; unchanged until EndFlush/Rollback
  };

  // The first half of a Flush() whose write the caller performs (e.g. through an io_uring,
  // while the engine thread goes on): creates the file if needed (blocking, once per
  // segment) and returns the write to do. From then until EndFlush() or Rollback(), Stage()
  // is not allowed (CHECK) and ReadStaged() still serves the staged bytes. On error nothing
  // changes.
  absl::StatusOr<PendingWrite> BeginFlush();

  // The write returned by BeginFlush() completed in full, followed by a successful
  // fdatasync of the file if `synced`: the staged bytes count as written (and synced).
  void EndFlush(bool synced);

  bool flushing() const { return flushing_; }

  // The count of flushes so far: a periodic fdatasync started at generation g covers every
  // byte written by then, so it marks the writer synced only if no flush followed.
  uint64_t flush_generation() const { return flush_generation_; }

  // An fdatasync of the file, started (by the caller, e.g. through an io_uring) when
  // flush_generation() was `generation`, completed with `status`. OK: the writer is synced
  // unless it flushed since. Error: the writer turns failed (as for Sync()).
  void EndSync(uint64_t generation, const absl::Status& status);

  // Discards the staging buffer and cuts the file back to `size` (<= written_size()), which
  // undoes the Flush() calls since written_size() was `size`. On error the writer is failed.
  absl::Status Rollback(uint64_t size);

  // fdatasyncs the file if anything was written since the last sync. On error the writer is
  // failed.
  absl::Status Sync();

  bool needs_sync() const { return unsynced_; }

  // Refuse writes from now on, reporting `status`.
  void Fail(const absl::Status& status);

  // Hands over the file (null if never created) for sealing; requires nothing staged. The
  // writer must not be used afterwards.
  std::unique_ptr<File> ReleaseFile();

  // The file, for reads through an io_uring; null until created.
  File* file() const { return file_.get(); }

  // Bytes staged and not yet flushed.
  uint64_t staged_size() const { return staged_.size(); }

  // The highest revision of any record staged so far (flushed, rolled back or not: an upper
  // bound), for a writer that started the segment itself; 0 for a recovered segment, whose
  // earlier records it never saw, or when nothing was staged. Reclaim drops a segment with no
  // live record without reading it when this is known (log_engine.h).
  uint64_t max_revision() const { return recovered_ ? 0 : max_revision_; }

 private:
  absl::Status CreateFile();

  Env* const env_;
  const std::string dir_;
  const std::string path_;
  const SegmentHeader header_;
  std::unique_ptr<File> file_;  // null until created
  uint64_t written_size_;
  std::string staged_;
  bool unsynced_ = false;
  bool flushing_ = false;         // between BeginFlush() and EndFlush()/Rollback()
  uint64_t flush_generation_ = 0;
  const bool recovered_ = false;  // opened over an existing file (the second constructor)
  uint64_t max_revision_ = 0;
  absl::Status status_;
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_SEGMENT_WRITER_H_
