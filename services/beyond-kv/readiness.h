// Readiness probes: "does something accept connections here yet?" The supervisor polls them
// after starting a child, instead of trusting a fixed delay.
#ifndef BEYONDKV_SERVICES_BEYOND_KV_READINESS_H_
#define BEYONDKV_SERVICES_BEYOND_KV_READINESS_H_

#include <sys/socket.h>

#include <string>

#include "absl/status/statusor.h"

namespace beyondkv::services {

// True if a connect() to the unix socket at `path` succeeds now (the connection is closed at
// once). False while the file is missing or nobody listens on it.
bool UnixSocketAccepts(const std::string& path);

// A TCP address to probe.
struct TcpEndpoint {
  sockaddr_storage addr = {};
  socklen_t addr_len = 0;
  std::string ToString() const;  // "127.0.0.1:6379", "[::1]:6379"
};

// The endpoint a client on this host uses to reach a server bound to `bind`:`port`: the
// wildcard addresses 0.0.0.0 and :: map to 127.0.0.1 and ::1. `bind` is an address or a host
// name ("localhost"); InvalidArgument if it does not resolve.
absl::StatusOr<TcpEndpoint> LocalEndpointFor(const std::string& bind, int port);

// True if a TCP connect() to `endpoint` succeeds within ~50 ms (the connection is closed at
// once).
bool TcpAccepts(const TcpEndpoint& endpoint);

// OK if `bind`:`port` can be bound now (nobody listens there); FailedPrecondition saying why
// not otherwise (port in use, address not on this host). Advisory: the port may be taken
// between this check and the gateway's bind.
absl::Status CheckTcpPortFree(const std::string& bind, int port);

}  // namespace beyondkv::services

#endif  // BEYONDKV_SERVICES_BEYOND_KV_READINESS_H_
