#include "services/beyond-kv/child_binaries.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace beyondkv::services {
namespace {

namespace fs = std::filesystem;

// The workspace name is `beyondkv` (WORKSPACE); Bazel versions with bzlmod call it _main, and
// older runfiles trees without a workspace name use __main__.
constexpr const char* kWorkspaceNames[] = {"beyondkv", "__main__", "_main"};

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

}  // namespace

SelfLocation CurrentSelfLocation() {
  SelfLocation self;
  std::error_code ec;
  self.exe_path = fs::read_symlink("/proc/self/exe", ec).string();
  if (const char* runfiles = std::getenv("RUNFILES_DIR"); runfiles != nullptr) {
    self.runfiles_dir = runfiles;
  }
  return self;
}

std::vector<std::string> ChildBinaryCandidates(absl::string_view workspace_path,
                                               const std::string& bin_dir,
                                               const SelfLocation& self) {
  const std::string rel(workspace_path);
  const std::string base = fs::path(rel).filename().string();
  std::vector<std::string> candidates;
  if (!bin_dir.empty()) candidates.push_back((fs::path(bin_dir) / base).string());
  if (!self.runfiles_dir.empty()) {
    for (const char* ws : kWorkspaceNames) {
      candidates.push_back((fs::path(self.runfiles_dir) / ws / rel).string());
    }
  }
  if (!self.exe_path.empty()) {
    const fs::path exe(self.exe_path);
    for (const char* ws : kWorkspaceNames) {
      candidates.push_back((fs::path(self.exe_path + ".runfiles") / ws / rel).string());
    }
    candidates.push_back((exe.parent_path() / base).string());
    candidates.push_back((exe.parent_path() / ".." / ".." / rel).lexically_normal().string());
  }
  return candidates;
}

absl::StatusOr<std::string> LocateChildBinary(absl::string_view workspace_path,
                                              const std::string& bin_dir,
                                              const SelfLocation& self) {
  std::vector<std::string> candidates = ChildBinaryCandidates(workspace_path, bin_dir, self);
  for (const std::string& candidate : candidates) {
    if (IsExecutableFile(candidate)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(
      "cannot find the ", fs::path(std::string(workspace_path)).filename().string(),
      " executable; looked in: ", absl::StrJoin(candidates, ", "),
      " (set KV_BIN_DIR to the directory holding it)"));
}

}  // namespace beyondkv::services
