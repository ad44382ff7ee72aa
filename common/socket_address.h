// The numeric host and port of a socket address (IPv4 or IPv6), as CLIENT LIST and HTTP
// access logs show them.
//
// Thread-safety: pure functions.
#ifndef BEYONDKV_COMMON_SOCKET_ADDRESS_H_
#define BEYONDKV_COMMON_SOCKET_ADDRESS_H_

#include <sys/socket.h>

#include <string>

namespace beyondkv {

struct HostPort {
  std::string host;  // "127.0.0.1", "::1"; "?" for another address family
  int port = 0;
};

HostPort SplitSocketAddress(const sockaddr_storage& addr);

// "127.0.0.1:6379" (an IPv6 host is not bracketed, as Redis's CLIENT LIST shows it).
std::string FormatSocketAddress(const sockaddr_storage& addr);

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_SOCKET_ADDRESS_H_
