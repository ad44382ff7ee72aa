// The engine's access to the file system, as a small abstract interface (after LevelDB's
// include/leveldb/env.h) so tests can fail writes, tear records or fill the disk. The hot
// paths (commit appends and fdatasyncs, reads of cold records) go through the shard's
// io_uring instead (engine/uring.h), on the descriptors File::fd() hands out; everything
// else, and files without a descriptor, use the blocking calls below.
//
// Errors are absl::Status values derived from errno (absl::ErrnoToStatus: ENOENT -> NotFound,
// ENOSPC -> ResourceExhausted, EIO -> Internal...), with the path in the message.
//
// Thread contract: Env::Default() may be used from any thread; a File is used by one thread
// at a time (the engine thread).
#ifndef BEYONDKV_ENGINE_ENV_H_
#define BEYONDKV_ENGINE_ENV_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace beyondkv::engine {

// An open file addressed by offset (pread/pwrite); there is no implicit file position.
class File {
 public:
  virtual ~File() = default;

  // Writes all of `data` at `offset` (retrying short writes). On error an unknown prefix of
  // `data` may have reached the file.
  virtual absl::Status Write(uint64_t offset, std::string_view data) = 0;

  // Reads up to `n` bytes at `offset` into `buf`; returns how many were read, fewer than `n`
  // only at end of file.
  virtual absl::StatusOr<size_t> Read(uint64_t offset, size_t n, char* buf) = 0;

  // Sets the file's size (ftruncate).
  virtual absl::Status Truncate(uint64_t size) = 0;

  // Makes written data and the file size durable (fdatasync).
  virtual absl::Status DataSync() = 0;

  virtual absl::StatusOr<uint64_t> Size() = 0;

  virtual const std::string& path() const = 0;

  // The file descriptor, for submitting I/O on it to an io_uring (engine/uring.h); -1 for
  // files that exist only through this interface (tests' fault injection), which the engine
  // then reads and writes through the blocking calls above. Valid while the File lives.
  virtual int fd() const { return -1; }

  // Bytes [offset, offset + n) and any that follow them, if this file already holds them in
  // memory (a SegmentWindow over a segment being reclaimed), so that a reader need not copy
  // them; valid until the file's contents next change. nullopt: use Read.
  virtual std::optional<std::string_view> Peek(uint64_t offset, size_t n) const {
    (void)offset;
    (void)n;
    return std::nullopt;
  }
};

class Env {
 public:
  enum class OpenMode {
    kExisting,        // read-write; NotFound if missing
    kCreateTruncate,  // read-write; created if missing, emptied if present
  };

  virtual ~Env() = default;

  // The POSIX implementation; lives for the whole process, never delete it.
  static Env* Default();

  virtual absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                                         OpenMode mode) = 0;

  // Creates `path` and any missing parents (mode 0700: data is private to the server's user).
  // OK if it already exists as a directory.
  virtual absl::Status CreateDir(const std::string& path) = 0;

  // Whether `path` exists (file or directory).
  virtual absl::StatusOr<bool> Exists(const std::string& path) = 0;

  // Names of the entries of directory `path`, without "." and "..", in no particular order.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;

  // Atomically replaces `to` with `from` (rename(2)); not durable until SyncDir.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;

  virtual absl::Status RemoveFile(const std::string& path) = 0;

  // Makes the directory's entries (creations, renames, removals) durable (fsync on the dir).
  virtual absl::Status SyncDir(const std::string& path) = 0;
};

// Reads the whole file at `path`.
absl::StatusOr<std::string> ReadFileToString(Env* env, const std::string& path);

// Replaces the file at `path` with `contents` so that a crash leaves either the old or the new
// file, never a mix: writes `path`.tmp, fdatasyncs it, renames it over `path`, syncs the dir.
absl::Status WriteFileAtomically(Env* env, const std::string& path, std::string_view contents);

// "a/b" from "a/b/c" ("." if there is no slash).
std::string DirName(const std::string& path);

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_ENV_H_
