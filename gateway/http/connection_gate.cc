#include "gateway/http/connection_gate.h"

#include <arpa/inet.h>
#include <glog/logging.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/socket_address.h"
#include "gateway/http/api_error.h"

namespace beyondkv::gateway::http {
namespace {

constexpr uint64_t kListenTag = ~0ull;
constexpr uint64_t kWakeTag = ~0ull - 1;
constexpr size_t kReadChunk = 16 << 10;
constexpr absl::Duration kSweepInterval = absl::Milliseconds(250);

// poll() for `events` on `fd`, at most `wait` (rounded up to a millisecond). > 0: ready.
int WaitFor(int fd, short events, absl::Duration wait) {
  pollfd p{fd, events, 0};
  const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
  while (true) {
    int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}


const char* ReasonPhrase(int status) {
  switch (status) {
    case 408:
      return "Request Timeout";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

}  // namespace

absl::StatusOr<int> ListenTcp(const std::string& address, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  addrinfo* result = nullptr;
  const std::string port_text = std::to_string(port);
  const int rc = getaddrinfo(address.c_str(), port_text.c_str(), &hints, &result);
  if (rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("bad address ", address, ": ", gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(result, freeaddrinfo);
  const int fd = socket(result->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, result->ai_addr, result->ai_addrlen) != 0 || listen(fd, 511) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(strerror(err));
  }
  return fd;
}

HeadScan::Result HeadScan::Scan(std::string_view buffer, size_t max_bytes,
                                size_t max_line_bytes) {
  // A head ends with an empty line ("\r\n", or "\n" alone as cpp-httplib accepts too).
  const std::string_view window = buffer.substr(0, max_bytes);
  bool first = true;
  size_t start = 0;
  while (true) {
    const size_t end = window.find('\n', start);
    size_t len = (end == std::string_view::npos ? window.size() : end) - start;
    if (end == std::string_view::npos) {
      if (!first && len > max_line_bytes) return kTooLarge;
      break;
    }
    if (len > 0 && window[end - 1] == '\r') --len;
    if (len == 0) return kComplete;
    if (!first && len > max_line_bytes) return kTooLarge;
    first = false;
    start = end + 1;
  }
  if (buffer.size() < max_bytes) return kNeedMore;
  return first ? kRequestLineTooLong : kTooLarge;
}

void WriteRawError(int fd, int status, std::string_view code, std::string_view message) {
  const std::string body = ErrorBody(code, message);
  const std::string response =
      absl::StrCat("HTTP/1.1 ", status, " ", ReasonPhrase(status),
                   "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
                   "\r\nConnection: close\r\n\r\n", body);
  // Best effort: the socket is non-blocking and its send buffer is empty or nearly so.
  (void)!send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// ---------------------------------------------------------------------------------------
// DeadlineStream

DeadlineStream::DeadlineStream(int fd, std::string buffered, const Limits& limits)
    : fd_(fd), buf_(std::move(buffered)), limits_(limits), start_(absl::Now()) {}

absl::Duration DeadlineStream::ReadWait() const {
  absl::Duration wait = limits_.read_timeout;
  if (limits_.min_bytes_per_sec > 0) {
    // The request may take `grace`, plus one second per min_bytes_per_sec bytes received.
    const absl::Time deadline =
        start_ + limits_.grace +
        absl::Seconds(static_cast<double>(received_) / limits_.min_bytes_per_sec);
    wait = std::min(wait, deadline - absl::Now());
  }
  return wait;
}

bool DeadlineStream::is_readable() const {
  if (pos_ < buf_.size()) return true;
  const absl::Duration wait = ReadWait();
  if (wait <= absl::ZeroDuration() || WaitFor(fd_, POLLIN, wait) <= 0) {
    timed_out_ = true;
    return false;
  }
  return true;
}

bool DeadlineStream::is_writable() const {
  return WaitFor(fd_, POLLOUT, limits_.write_timeout) > 0;
}

ssize_t DeadlineStream::read(char* ptr, size_t size) {
  if (pos_ < buf_.size()) {
    const size_t n = std::min(size, buf_.size() - pos_);
    std::copy_n(buf_.data() + pos_, n, ptr);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  if (!is_readable()) return -1;
  ssize_t n;
  if (size < kReadChunk) {
    // cpp-httplib reads lines a byte at a time: read ahead into the buffer.
    buf_.resize(kReadChunk);
    pos_ = 0;
    do {
      n = recv(fd_, buf_.data(), buf_.size(), 0);
    } while (n < 0 && errno == EINTR);
    buf_.resize(n > 0 ? static_cast<size_t>(n) : 0);
    if (n <= 0) return n;
    received_ += static_cast<uint64_t>(n);
    return read(ptr, size);
  }
  do {
    n = recv(fd_, ptr, size, 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) received_ += static_cast<uint64_t>(n);
  return n;
}

ssize_t DeadlineStream::write(const char* ptr, size_t size) {
  if (!is_writable()) return -1;
  ssize_t n;
  do {
    n = send(fd_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void DeadlineStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    HostPort hp = SplitSocketAddress(addr);
    ip = std::move(hp.host);
    port = hp.port;
  }
}

void DeadlineStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    HostPort hp = SplitSocketAddress(addr);
    ip = std::move(hp.host);
    port = hp.port;
  }
}

std::string DeadlineStream::TakeBuffered() {
  std::string rest = buf_.substr(pos_);
  buf_.clear();
  pos_ = 0;
  return rest;
}

// ---------------------------------------------------------------------------------------
// ConnectionGate

bool ConnectionGate::ReadAhead(GateConnection& conn, absl::Duration wait) {
  auto scan = [&conn] {
    return HeadScan::Scan(conn.buffered, kMaxHeadBytes, kMaxHeaderLineBytes);
  };
  if (scan() == HeadScan::kComplete) return true;
  if (conn.buffered.size() >= kMaxHeadBytes || WaitFor(conn.fd, POLLIN, wait) <= 0) return false;
  char chunk[kReadChunk];
  ssize_t n;
  do {
    n = recv(conn.fd, chunk, sizeof(chunk), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
    conn.close = true;
    return false;
  }
  if (n > 0) conn.buffered.append(chunk, static_cast<size_t>(n));
  return scan() == HeadScan::kComplete;
}

ConnectionGate::ConnectionGate(int listen_fd, Options options, Serve serve,
                               std::function<void()> on_open, std::function<void()> on_close)
    : listen_fd_(listen_fd),
      options_(options),
      serve_(std::move(serve)),
      on_open_(std::move(on_open)),
      on_close_(std::move(on_close)),
      epoll_(kWakeTag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  PCHECK(epoll_ctl(epoll_.fd(), EPOLL_CTL_ADD, listen_fd_, &ev) == 0);
}

ConnectionGate::~ConnectionGate() = default;

void ConnectionGate::Wake() { epoll_.Wake(); }

void ConnectionGate::Stop() {
  stop_.store(true);
  Wake();
}

void ConnectionGate::Return(std::unique_ptr<GateConnection> conn) {
  {
    absl::MutexLock lock(&mu_);
    returned_.push_back(std::move(conn));
  }
  Wake();
}

void ConnectionGate::Close(std::unique_ptr<GateConnection> conn) {
  close(conn->fd);
  open_.fetch_sub(1);
  if (on_close_) on_close_();
}

void ConnectionGate::Run() {
  epoll_event events[256];
  absl::Time last_sweep = absl::Now();
  while (!stop_.load()) {
    int n = epoll_wait(epoll_.fd(), events, 256, absl::ToInt64Milliseconds(kSweepInterval));
    if (n < 0 && errno != EINTR) PLOG(FATAL) << "epoll_wait";
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        Accept();
      } else if (tag == kWakeTag) {
        epoll_.Drain();
      } else {
        OnReadable(static_cast<int>(tag));
      }
    }
    std::vector<std::unique_ptr<GateConnection>> returned;
    {
      absl::MutexLock lock(&mu_);
      returned.swap(returned_);
    }
    for (auto& conn : returned) Adopt(std::move(conn));
    const absl::Time now = absl::Now();
    if (now - last_sweep >= kSweepInterval) {
      last_sweep = now;
      Sweep(now);
    }
  }
  epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, listen_fd_, nullptr);
  std::vector<int> fds;
  for (auto& [fd, conn] : waiting_) fds.push_back(fd);
  for (int fd : fds) {
    auto conn = std::move(waiting_[fd]);
    waiting_.erase(fd);
    Close(std::move(conn));
  }
}

void ConnectionGate::Accept() {
  while (true) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) PLOG(WARNING) << "accept";
      return;
    }
    if (open_.load() >= options_.max_conns) {
      WriteRawError(fd, 503, "unavailable",
                    absl::StrCat("too many connections (", options_.max_conns,
                                 " open, --max-conns)"));
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    open_.fetch_add(1);
    if (on_open_) on_open_();
    auto conn = std::make_unique<GateConnection>();
    conn->fd = fd;
    conn->requests_left = options_.keep_alive_max_requests;
    Adopt(std::move(conn));
  }
}

void ConnectionGate::Adopt(std::unique_ptr<GateConnection> conn) {
  const int fd = conn->fd;
  const absl::Time now = absl::Now();
  conn->idle_since = now;
  conn->head_started = now;
  if (stop_.load()) {
    Close(std::move(conn));
    return;
  }
  if (conn->close) {
    Linger(std::move(conn));
    return;
  }
  waiting_[fd] = std::move(conn);
  if (!MaybeDispatch(fd)) return;  // a pipelined head was already complete
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = static_cast<uint64_t>(fd);
  if (epoll_ctl(epoll_.fd(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    PLOG(WARNING) << "epoll_ctl(ADD)";
    auto c = std::move(waiting_[fd]);
    waiting_.erase(fd);
    Close(std::move(c));
  }
}

void ConnectionGate::OnReadable(int fd) {
  auto it = waiting_.find(fd);
  if (it == waiting_.end()) return;
  GateConnection& conn = *it->second;
  char chunk[kReadChunk];
  if (conn.lingering) {
    while (true) {
      ssize_t n = ::read(fd, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n > 0 && (conn.discarded += static_cast<size_t>(n)) < kMaxLingerBytes) continue;
      break;  // the client closed too (or sent too much): done
    }
    epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, fd, nullptr);
    auto c = std::move(it->second);
    waiting_.erase(it);
    Close(std::move(c));
    return;
  }
  while (true) {
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n == 0 && HeadScan::Scan(conn.buffered, kMaxHeadBytes, kMaxHeaderLineBytes) ==
                      HeadScan::kComplete) {
      break;  // half-closed after a whole request: serve it (its reply can still be sent)
    }
    if (n <= 0) {  // closed by the client, or reset
      epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, fd, nullptr);
      auto c = std::move(it->second);
      waiting_.erase(it);
      Close(std::move(c));
      return;
    }
    if (conn.buffered.empty()) conn.head_started = absl::Now();
    // Never hold more than the head limit (plus one chunk) for a connection.
    conn.buffered.append(chunk, static_cast<size_t>(n));
    if (conn.buffered.size() >= kMaxHeadBytes) break;
    if (static_cast<size_t>(n) < sizeof(chunk)) break;
  }
  MaybeDispatch(fd);
}

bool ConnectionGate::MaybeDispatch(int fd) {
  auto it = waiting_.find(fd);
  GateConnection& conn = *it->second;
  switch (HeadScan::Scan(conn.buffered, kMaxHeadBytes, kMaxHeaderLineBytes)) {
    case HeadScan::kNeedMore:
      return true;
    case HeadScan::kTooLarge: {
      epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, fd, nullptr);  // ENOENT when not added yet
      auto c = std::move(it->second);
      waiting_.erase(it);
      Refuse(std::move(c), 431, "invalid_request",
             absl::StrCat("request headers too large: a header line over ",
                          kMaxHeaderLineBytes, " bytes, or ", kMaxHeadBytes, " in all"));
      return false;
    }
    case HeadScan::kRequestLineTooLong: {
      epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, fd, nullptr);
      auto c = std::move(it->second);
      waiting_.erase(it);
      Refuse(std::move(c), 414, "invalid_request",
             absl::StrCat("the request line exceeds ", kMaxHeadBytes, " bytes"));
      return false;
    }
    case HeadScan::kComplete: {
      epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, fd, nullptr);
      auto c = std::move(it->second);
      waiting_.erase(it);
      serve_(std::move(c));
      return false;
    }
  }
  return true;
}

void ConnectionGate::Refuse(std::unique_ptr<GateConnection> conn, int status,
                            std::string_view code, const std::string& message) {
  WriteRawError(conn->fd, status, code, message);
  Linger(std::move(conn));
}

void ConnectionGate::Linger(std::unique_ptr<GateConnection> conn) {
  const int fd = conn->fd;
  shutdown(fd, SHUT_WR);  // the client sees the end of our response
  conn->lingering = true;
  conn->buffered.clear();
  conn->buffered.shrink_to_fit();
  conn->idle_since = absl::Now();
  waiting_[fd] = std::move(conn);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = static_cast<uint64_t>(fd);
  if (epoll_ctl(epoll_.fd(), EPOLL_CTL_ADD, fd, &ev) != 0 &&
      epoll_ctl(epoll_.fd(), EPOLL_CTL_MOD, fd, &ev) != 0) {
    auto c = std::move(waiting_[fd]);
    waiting_.erase(fd);
    Close(std::move(c));
  }
}

void ConnectionGate::Sweep(absl::Time now) {
  std::vector<int> expired;
  for (auto& [fd, conn] : waiting_) {
    const bool over =
        conn->lingering        ? now - conn->idle_since >= kLingerTime
        : conn->buffered.empty() ? now - conn->idle_since >= options_.idle_timeout
                                 : now - conn->head_started >= options_.head_timeout;
    if (over) expired.push_back(fd);
  }
  for (int fd : expired) {
    auto conn = std::move(waiting_[fd]);
    waiting_.erase(fd);
    if (!conn->lingering && !conn->buffered.empty()) {
      Refuse(std::move(conn), 408, "request_timeout",
             absl::StrCat("the request line and headers did not arrive within ",
                          absl::FormatDuration(options_.head_timeout)));
      continue;
    }
    epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, fd, nullptr);
    Close(std::move(conn));
  }
}

}  // namespace beyondkv::gateway::http
