#include "tools/kv-bench/connection.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace beyondkv::kvbench {
namespace {

constexpr size_t kReadChunkBytes = 64 * 1024;
// Compact the output buffer once this much of it has been written but not yet dropped.
constexpr size_t kCompactBytes = 1 << 20;

absl::Status ErrnoStatus(const char* what, int err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(err)));
}

}  // namespace

int64_t MonotonicNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &result); rc != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", host, ": ", gai_strerror(rc)));
  }
  absl::Status last = absl::UnavailableError(absl::StrCat("no address for ", host));
  int fd = -1;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = ErrnoStatus("socket", errno);
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    last = ErrnoStatus(absl::StrCat("connect ", host, ":", port).c_str(), errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(result);
  if (fd < 0) return last;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<Connection>(new Connection(fd));
}

Connection::~Connection() { close(fd_); }

absl::Status Connection::Flush() {
  while (out_offset_ < out_.size()) {
    const ssize_t n = write(fd_, out_.data() + out_offset_, out_.size() - out_offset_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return ErrnoStatus("write", errno);
    }
    out_offset_ += static_cast<size_t>(n);
  }
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  } else if (out_offset_ >= kCompactBytes) {
    out_.erase(0, out_offset_);
    out_offset_ = 0;
  }
  return absl::OkStatus();
}

absl::Status Connection::ReadReplies(
    absl::FunctionRef<void(bool is_error, int64_t received_ns)> on_reply) {
  char buf[kReadChunkBytes];
  while (true) {
    const ssize_t n = read(fd_, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return absl::OkStatus();
      return ErrnoStatus("read", errno);
    }
    if (n == 0) return absl::UnavailableError("connection closed by server");
    const int64_t now_ns = MonotonicNowNs();
    reader_.Feed(buf, static_cast<size_t>(n));
    while (true) {
      const ReplyReader::Result r = reader_.Next();
      if (r == ReplyReader::Result::kNeedMore) break;
      if (r == ReplyReader::Result::kProtocolError) {
        return absl::DataLossError(absl::StrCat("bad reply: ", reader_.last_error()));
      }
      on_reply(r == ReplyReader::Result::kErrorReply, now_ns);
    }
    // A short read means the socket is drained; skip the read that would say EAGAIN.
    if (static_cast<size_t>(n) < sizeof(buf)) return absl::OkStatus();
  }
}

}  // namespace beyondkv::kvbench
