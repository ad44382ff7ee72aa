#include "common/socket_paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace beyondkv {

absl::Status CheckPrivateSocketPath(const std::string& socket_path) {
  const size_t slash = socket_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : socket_path.substr(0, slash);
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("socket directory ", dir, ": ", std::strerror(errno)));
  }
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "socket directory ", dir, " (mode ", mode, ", owner uid ", st.st_uid,
        ") must be a directory owned by uid ", geteuid(),
        " and writable by no one else: another user could replace the socket; use a private "
        "directory (beyond-kv uses <data-dir>/run, mode 0700)"));
  }
  struct stat entry {};
  if (lstat(socket_path.c_str(), &entry) == 0 && !S_ISSOCK(entry.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(socket_path, " exists and is not a socket; refusing to replace it"));
  }
  return absl::OkStatus();
}

}  // namespace beyondkv
