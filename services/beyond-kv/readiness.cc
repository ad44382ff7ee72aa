#include "services/beyond-kv/readiness.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace beyondkv::services {
namespace {

constexpr int kTcpConnectTimeoutMs = 50;

// Resolves `host` (numeric or a name such as "localhost") to its first stream address.
absl::StatusOr<TcpEndpoint> Resolve(const std::string& host, int port) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const std::string service = absl::StrCat(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve --bind ", host, ": ", gai_strerror(rc)));
  }
  TcpEndpoint endpoint;
  memcpy(&endpoint.addr, result->ai_addr, result->ai_addrlen);
  endpoint.addr_len = result->ai_addrlen;
  freeaddrinfo(result);
  return endpoint;
}

}  // namespace

bool UnixSocketAccepts(const std::string& path) {
  sockaddr_un addr = {};
  if (path.size() >= sizeof(addr.sun_path)) return false;
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string TcpEndpoint::ToString() const {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
    return absl::StrCat(host, ":", port);
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
  port = ntohs(in6->sin6_port);
  return absl::StrCat("[", host, "]:", port);
}

absl::StatusOr<TcpEndpoint> LocalEndpointFor(const std::string& bind, int port) {
  absl::StatusOr<TcpEndpoint> endpoint = Resolve(bind, port);
  if (!endpoint.ok()) return endpoint;
  if (endpoint->addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&endpoint->addr);
    if (in->sin_addr.s_addr == htonl(INADDR_ANY)) in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if (endpoint->addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&endpoint->addr);
    if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) in6->sin6_addr = in6addr_loopback;
  }
  return endpoint;
}

bool TcpAccepts(const TcpEndpoint& endpoint) {
  int fd = socket(endpoint.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = false;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&endpoint.addr), endpoint.addr_len) == 0) {
    ok = true;
  } else if (errno == EINPROGRESS) {
    pollfd pfd = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof(err);
    ok = poll(&pfd, 1, kTcpConnectTimeoutMs) == 1 &&
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  }
  close(fd);
  return ok;
}

absl::Status CheckTcpPortFree(const std::string& bind, int port) {
  absl::StatusOr<TcpEndpoint> endpoint = Resolve(bind, port);
  if (!endpoint.ok()) return endpoint.status();
  int fd = socket(endpoint->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&endpoint->addr), endpoint->addr_len);
  int err = errno;
  close(fd);
  if (rc == 0) return absl::OkStatus();
  if (err == EADDRINUSE) {
    return absl::FailedPreconditionError(absl::StrCat(
        "RESP port ", endpoint->ToString(),
        " is already in use (another server?): stop it or choose --resp-port"));
  }
  if (err == EADDRNOTAVAIL) {
    return absl::FailedPreconditionError(
        absl::StrCat("--bind ", bind, " is not an address of this host"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("cannot bind ", endpoint->ToString(), ": ", strerror(err)));
}

}  // namespace beyondkv::services
