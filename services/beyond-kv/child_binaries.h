// Finds the executables the supervisor starts (kv-shard, kv-resp-gateway, kv-http-gateway) in a
// source build, under `bazel run`/`bazel test`, and in an installed layout where they sit side
// by side.
#ifndef BEYONDKV_SERVICES_BEYOND_KV_CHILD_BINARIES_H_
#define BEYONDKV_SERVICES_BEYOND_KV_CHILD_BINARIES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace beyondkv::services {

// Workspace-relative labels of the children, as files (package/name).
inline constexpr absl::string_view kShardBinary = "services/kv-shard/kv-shard";
inline constexpr absl::string_view kGatewayBinary = "gateway/kv-resp-gateway";
inline constexpr absl::string_view kHttpGatewayBinary = "gateway/http/kv-http-gateway";

// Where the supervisor itself lives, for the search below.
struct SelfLocation {
  std::string exe_path;     // absolute path of the running executable (/proc/self/exe)
  std::string runfiles_dir; // $RUNFILES_DIR if set, else ""
};

// Reads /proc/self/exe and $RUNFILES_DIR.
SelfLocation CurrentSelfLocation();

// The places searched for `workspace_path` (e.g. kShardBinary), in order:
//   1. <bin_dir>/<basename>                              (KV_BIN_DIR; skipped if empty)
//   2. $RUNFILES_DIR/{beyondkv,__main__}/<workspace_path>
//   3. <exe>.runfiles/{beyondkv,__main__}/<workspace_path> (bazel run / bazel-bin)
//   4. dirname(<exe>)/<basename>                          (installed side by side)
//   5. dirname(<exe>)/../../<workspace_path>              (bazel-bin tree; exe in
//                                                          services/beyond-kv/)
std::vector<std::string> ChildBinaryCandidates(absl::string_view workspace_path,
                                               const std::string& bin_dir,
                                               const SelfLocation& self);

// Returns the first candidate that is an executable regular file; NotFound listing every
// place searched otherwise.
absl::StatusOr<std::string> LocateChildBinary(absl::string_view workspace_path,
                                              const std::string& bin_dir,
                                              const SelfLocation& self);

}  // namespace beyondkv::services

#endif  // BEYONDKV_SERVICES_BEYOND_KV_CHILD_BINARIES_H_
