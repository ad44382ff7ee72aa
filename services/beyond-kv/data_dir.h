// The supervisor's view of a data directory (architecture §1):
//   <data-dir>/MANIFEST          "beyond-kv-manifest 1\nshard_count S\n"; S is fixed at creation
//   <data-dir>/run/              mode 0700: shard sockets and the supervisor's lock
//   <data-dir>/run/shard-<i>.sock  kv-shard i serves gRPC here
//   <data-dir>/run/supervisor.lock flock()ed by the running supervisor; holds its pid
//   <data-dir>/shard-<i>/        owned by kv-shard i (not touched here)
#ifndef BEYONDKV_SERVICES_BEYOND_KV_DATA_DIR_H_
#define BEYONDKV_SERVICES_BEYOND_KV_DATA_DIR_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace beyondkv::services {

// The longest unix socket path connect()/bind() accept: sizeof(sockaddr_un::sun_path) - 1.
inline constexpr size_t kMaxUnixSocketPathBytes = 107;

// Returns the shard count recorded in <dir>/MANIFEST; NotFound if there is no MANIFEST;
// DataLoss if it cannot be parsed; FailedPrecondition for a format version this release does
// not know.
absl::StatusOr<int> ReadManifestShardCount(const std::string& dir);

// Writes <dir>/MANIFEST recording `shard_count`, atomically: a temporary file is written,
// fsynced and renamed over MANIFEST, then the directory is fsynced.
absl::Status WriteManifest(const std::string& dir, int shard_count);

// An opened data directory. Holds the instance lock until destroyed. Not thread-safe.
class DataDir {
 public:
  // Creates `path` (and parents) if missing, and run/ with mode 0700 (chmod even if it
  // existed); checks that every socket path fits kMaxUnixSocketPathBytes; takes the instance
  // lock (FailedPrecondition if another supervisor holds it); then checks the MANIFEST against
  // `shard_count` (FailedPrecondition naming both counts on mismatch) or writes it if absent.
  static absl::StatusOr<std::unique_ptr<DataDir>> Open(const std::string& path, int shard_count);

  ~DataDir();
  DataDir(const DataDir&) = delete;
  DataDir& operator=(const DataDir&) = delete;

  const std::string& path() const { return path_; }  // absolute, symlinks resolved
  const std::string& run_dir() const { return run_dir_; }
  std::string SocketPath(int shard_id) const;

 private:
  DataDir(std::string path, int lock_fd);

  const std::string path_;
  const std::string run_dir_;
  const int lock_fd_;
};

}  // namespace beyondkv::services

#endif  // BEYONDKV_SERVICES_BEYOND_KV_DATA_DIR_H_
