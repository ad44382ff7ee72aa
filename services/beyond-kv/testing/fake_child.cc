// A stand-in for kv-shard and kv-resp-gateway in the supervisor's tests: it serves nothing,
// it only accepts connections where the real child would (--socket=PATH, or --bind/--port),
// and exits 0 on SIGTERM. FAKE_CHILD_EXIT_CODE=<n> makes it exit with n at once instead, as a
// child with a bad configuration does.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::string Flag(int argc, char** argv, const std::string& name) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  }
  return "";
}

void Die(const char* what) {
  perror(what);
  exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* code = getenv("FAKE_CHILD_EXIT_CODE"); code != nullptr) return atoi(code);
  signal(SIGTERM, [](int) { _exit(0); });

  int fd;
  const std::string socket_path = Flag(argc, argv, "socket");
  if (!socket_path.empty()) {
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
    unlink(socket_path.c_str());
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("bind unix");
  } else {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(Flag(argc, argv, "port").c_str()));
    inet_pton(AF_INET, Flag(argc, argv, "bind").c_str(), &addr.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("bind tcp");
  }
  if (listen(fd, 16) != 0) Die("listen");
  for (;;) {
    int conn = accept(fd, nullptr, nullptr);
    if (conn >= 0) close(conn);
  }
}
