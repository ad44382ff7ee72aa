#include "services/beyond-kv/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace beyondkv::services {
namespace {

namespace fs = std::filesystem;

constexpr char kManifestName[] = "MANIFEST";
constexpr char kManifestMagic[] = "beyond-kv-manifest";
constexpr int kManifestVersion = 1;
constexpr char kLockName[] = "supervisor.lock";

absl::Status ErrnoStatus(absl::string_view what, const std::string& path, int err) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", strerror(err)));
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", path, errno);
    }
    data.remove_prefix(n);
  }
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", dir, errno);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return ErrnoStatus("cannot fsync", dir, err);
  return absl::OkStatus();
}

// Takes an exclusive, non-blocking flock on <run_dir>/supervisor.lock and records our pid in
// it. Returns the descriptor, which holds the lock while open.
absl::StatusOr<int> Lock(const std::string& data_dir, const std::string& run_dir) {
  const std::string path = run_dir + "/" + kLockName;
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot open", path, errno);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string owner;
    char buf[32] = {};
    if (pread(fd, buf, sizeof(buf) - 1, 0) > 0) {
      owner = absl::StrCat(" (pid ", absl::StripAsciiWhitespace(buf), ")");
    }
    close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data directory ", data_dir, " is in use by another beyond-kv", owner));
    }
    return ErrnoStatus("cannot lock", path, err);
  }
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    int err = errno;
    close(fd);
    return ErrnoStatus("cannot write", path, err);
  }
  return fd;
}

}  // namespace

absl::StatusOr<int> ReadManifestShardCount(const std::string& dir) {
  const std::string path = dir + "/" + kManifestName;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no ", path));
    return ErrnoStatus("cannot open", path, errno);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus("cannot read", path, err);
    }
    if (n == 0) break;
    text.append(buf, n);
  }
  close(fd);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat(path, " is corrupt (", why, ")"));
  };
  int version = 0;
  if (lines.empty() || !absl::ConsumePrefix(&lines[0], absl::StrCat(kManifestMagic, " ")) ||
      !absl::SimpleAtoi(lines[0], &version)) {
    return corrupt(absl::StrCat("first line is not \"", kManifestMagic, " <version>\""));
  }
  if (version != kManifestVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has format version ", version, "; this release reads version ",
        kManifestVersion));
  }
  // Later lines are "key value"; keys this release does not know are ignored.
  for (size_t i = 1; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    int shard_count = 0;
    if (absl::ConsumePrefix(&line, "shard_count ")) {
      if (!absl::SimpleAtoi(line, &shard_count) || shard_count < 1) {
        return corrupt(absl::StrCat("bad shard_count \"", line, "\""));
      }
      return shard_count;
    }
  }
  return corrupt("no shard_count line");
}

absl::Status WriteManifest(const std::string& dir, int shard_count) {
  const std::string path = dir + "/" + kManifestName;
  const std::string tmp = path + ".tmp";
  const std::string text =
      absl::StrCat(kManifestMagic, " ", kManifestVersion, "\nshard_count ", shard_count, "\n");
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("cannot create", tmp, errno);
  absl::Status status = WriteAll(fd, text, tmp);
  if (status.ok() && fsync(fd) != 0) status = ErrnoStatus("cannot fsync", tmp, errno);
  if (close(fd) != 0 && status.ok()) status = ErrnoStatus("cannot close", tmp, errno);
  if (status.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus("cannot rename to " + path, tmp, errno);
  }
  if (!status.ok()) {
    unlink(tmp.c_str());
    return status;
  }
  return FsyncDir(dir);
}

absl::StatusOr<std::unique_ptr<DataDir>> DataDir::Open(const std::string& path,
                                                       int shard_count) {
  // Absolute, without symlinks, ".." or a trailing "/"; works before the directory exists.
  std::error_code ec;
  const std::string abs = fs::weakly_canonical(fs::absolute(path, ec), ec).string();
  if (ec || abs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve data directory ", path, ": ", ec.message()));
  }
  const std::string run_dir = abs + "/run";

  // Check the longest socket path before creating anything, so that a data directory too
  // deep for unix sockets is refused before it gets a MANIFEST.
  const std::string longest = absl::StrCat(run_dir, "/shard-", shard_count - 1, ".sock");
  if (longest.size() > kMaxUnixSocketPathBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unix socket path ", longest, " is ", longest.size(), " bytes; the limit is ",
        kMaxUnixSocketPathBytes, " (sockaddr_un): use a shorter --data-dir"));
  }

  fs::create_directories(abs, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create data directory ", path, ": ", ec.message()));
  }
  if (mkdir(run_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus("cannot create", run_dir, errno);
  }
  // The sockets accept unauthenticated gRPC: only the server's user may reach them.
  if (chmod(run_dir.c_str(), 0700) != 0) return ErrnoStatus("cannot chmod 0700", run_dir, errno);

  absl::StatusOr<int> lock_fd = Lock(path, run_dir);
  if (!lock_fd.ok()) return lock_fd.status();
  std::unique_ptr<DataDir> data_dir(new DataDir(abs, *lock_fd));

  absl::StatusOr<int> recorded = ReadManifestShardCount(abs);
  if (absl::IsNotFound(recorded.status())) {
    absl::Status status = WriteManifest(abs, shard_count);
    if (!status.ok()) return status;
  } else if (!recorded.ok()) {
    return recorded.status();
  } else if (*recorded != shard_count) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data directory ", path, " was created with ", *recorded, " shards; --threads=",
        shard_count, " would misroute keys; start with --threads=", *recorded));
  }
  return data_dir;
}

DataDir::DataDir(std::string path, int lock_fd)
    : path_(std::move(path)), run_dir_(path_ + "/run"), lock_fd_(lock_fd) {}

DataDir::~DataDir() { close(lock_fd_); }

std::string DataDir::SocketPath(int shard_id) const {
  return absl::StrCat(run_dir_, "/shard-", shard_id, ".sock");
}

}  // namespace beyondkv::services
