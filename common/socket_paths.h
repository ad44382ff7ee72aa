// Where a shard's sockets live, shared by the shard, the gateways and the supervisor: in the
// data directory's run/ folder (mode 0700), shard i serves gRPC on shard-<i>.sock and the
// shard link (the gateways' framed hot path, proto/link_frame.h) on shard-<i>.link.
#ifndef BEYONDKV_COMMON_SOCKET_PATHS_H_
#define BEYONDKV_COMMON_SOCKET_PATHS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace beyondkv {

inline std::string ShardSocketPath(const std::string& socket_dir, uint32_t shard) {
  return socket_dir + "/shard-" + std::to_string(shard) + ".sock";
}

// The link socket beside a gRPC socket: "x.sock" -> "x.link", anything else -> "<path>.link".
inline std::string LinkSocketPath(const std::string& grpc_socket_path) {
  const std::string suffix = ".sock";
  if (grpc_socket_path.size() > suffix.size() &&
      grpc_socket_path.compare(grpc_socket_path.size() - suffix.size(), suffix.size(),
                               suffix) == 0) {
    return grpc_socket_path.substr(0, grpc_socket_path.size() - suffix.size()) + ".link";
  }
  return grpc_socket_path + ".link";
}

inline std::string ShardLinkPath(const std::string& socket_dir, uint32_t shard) {
  return LinkSocketPath(ShardSocketPath(socket_dir, shard));
}

// Before a shard serves on `socket_path`: its directory must be owned by this user and not
// writable by group or others (another user could otherwise put their own socket there, or
// replace ours, and see every request), and an existing entry at the path must be a socket
// (a stale one from a killed predecessor, which the caller then removes), never a file or a
// symlink. FailedPrecondition with a message naming the directory and what to do otherwise.
absl::Status CheckPrivateSocketPath(const std::string& socket_path);

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_SOCKET_PATHS_H_
