// The front door of kv-http-gateway: accepts connections and reads each request's head
// (request line and headers) in one epoll thread, and hands a connection to a worker thread
// only once a whole head has arrived.
//
// Why: cpp-httplib serves one connection per worker thread and reads the head on that thread,
// with only a per-read timeout. A client sending one header byte a second (slowloris), or
// keeping a connection open between requests, would hold a worker for as long as it likes, and
// --threads such clients would starve everyone else. Here:
//   - a connection waiting for (the rest of) a head costs a buffer, never a thread;
//   - a head must arrive whole within `head_timeout` of its first byte (else 408), be at most
//     kMaxHeadBytes in all and have no header line over kMaxHeaderLineBytes (else 431;
//     a request line that does not end within kMaxHeadBytes: 414);
//   - an idle keep-alive connection goes back to this thread between requests and is closed
//     after `idle_timeout`;
//   - at most `max_conns` connections are open; one more is answered 503 and closed;
//   - a worker reads the body through a DeadlineStream: each read waits at most
//     `read_timeout`, and the body must keep an average of kMinBodyBytesPerSec after a grace of
//     `head_timeout` (else 408), so a body that stops frees its worker.
// Errors sent from here carry the API's JSON error body, with "Connection: close".
//
// Thread-safety: Run() runs the accept loop on the calling thread until Stop() (any thread).
// Serve callbacks run on the worker pool; Return() may be called from any thread.
#ifndef BEYONDKV_GATEWAY_HTTP_CONNECTION_GATE_H_
#define BEYONDKV_GATEWAY_HTTP_CONNECTION_GATE_H_

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/wakeable_epoll.h"

namespace beyondkv::gateway::http {

// Where a request head ends in what a connection sent so far.
struct HeadScan {
  enum Result {
    kNeedMore,
    kComplete,            // `buffer` starts with a whole head (an empty line ends it)
    kTooLarge,            // a header line over `max_line_bytes`, or no end in `max_bytes`: 431
    kRequestLineTooLong,  // no end of the request line in `max_bytes`: 414
  };
  static Result Scan(std::string_view buffer, size_t max_bytes, size_t max_line_bytes);
};

// A connection between requests, or waiting for its head, owned by the gate.
struct GateConnection {
  int fd = -1;
  std::string buffered;          // bytes read but not consumed by a request yet
  int requests_left = 0;         // keep-alive requests it may still make
  absl::Time head_started;       // first byte of the pending head (buffered non-empty)
  absl::Time idle_since;         // when it came back empty
  // Set by a worker before Return(): the response said "Connection: close" (or the request
  // failed). The gate then closes it gracefully (Linger).
  bool close = false;
  // Closing gracefully: our side is shut down for writing; what the client still sends is
  // read and dropped until it closes, kMaxLingerBytes or kLingerTime, so that an unread
  // request body does not turn the close into a reset that could destroy our error response.
  bool lingering = false;
  size_t discarded = 0;
};

// An httplib::Stream over a socket, with the bytes the gate already read in front, and the
// read deadlines described above. Used by one worker thread.
class DeadlineStream : public httplib::Stream {
 public:
  struct Limits {
    absl::Duration read_timeout = absl::Seconds(5);   // one read's wait
    absl::Duration write_timeout = absl::Seconds(5);  // one write's wait
    absl::Duration grace = absl::Seconds(10);         // before the minimum rate applies
    uint64_t min_bytes_per_sec = 0;
  };
  DeadlineStream(int fd, std::string buffered, const Limits& limits);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return fd_; }

  // Whether a read failed for lack of time (the request is answered 408).
  bool timed_out() const { return timed_out_; }
  // Bytes read from the socket but not consumed (a pipelined next request).
  std::string TakeBuffered();

 private:
  // How long a read may wait now (<= 0: the rate deadline has passed).
  absl::Duration ReadWait() const;

  const int fd_;
  std::string buf_;
  size_t pos_ = 0;
  const Limits limits_;
  const absl::Time start_;
  uint64_t received_ = 0;  // bytes read from the socket by this stream
  mutable bool timed_out_ = false;
};

class ConnectionGate {
 public:
  struct Options {
    size_t max_conns = 10000;
    absl::Duration head_timeout = absl::Seconds(10);
    absl::Duration idle_timeout = absl::Seconds(5);
    int keep_alive_max_requests = 1000;
  };
  static constexpr size_t kMaxHeadBytes = 64 << 10;
  // cpp-httplib's own limit (CPPHTTPLIB_HEADER_MAX_LENGTH), answered 431 here instead of 400.
  static constexpr size_t kMaxHeaderLineBytes = 8 << 10;
  static constexpr uint64_t kMinBodyBytesPerSec = 16 << 10;

  static constexpr size_t kMaxLingerBytes = 1 << 20;
  static constexpr absl::Duration kLingerTime = absl::Seconds(2);

  // `serve` runs on a worker with a connection whose buffer holds a whole head; it gives the
  // connection back with Return(), to wait for its next request or (`close` set) be closed.
  using Serve = std::function<void(std::unique_ptr<GateConnection>)>;
  ConnectionGate(int listen_fd, Options options, Serve serve,
                 std::function<void()> on_open, std::function<void()> on_close);
  ~ConnectionGate();

  // The accept loop; returns after Stop(), having closed every connection it holds.
  void Run();
  void Stop();
  // A connection whose request was served: it may carry another, or is to be closed.
  void Return(std::unique_ptr<GateConnection> conn);

  // The keep-alive fast path, on a worker after a response: waits at most `wait` for the
  // client's next bytes and reads what came (never more than the head limit). Returns true if
  // `conn` now holds a whole head, to be served on this thread; false otherwise (hand it to
  // the gate; `close` is set if the client closed or the socket failed).
  static bool ReadAhead(GateConnection& conn, absl::Duration wait);

  const Options& options() const { return options_; }

 private:
  void Accept();
  void OnReadable(int fd);
  void Adopt(std::unique_ptr<GateConnection> conn);  // loop thread
  // Error `status` with the JSON body, then a graceful close (loop thread).
  void Refuse(std::unique_ptr<GateConnection> conn, int status, std::string_view code,
              const std::string& message);
  void Linger(std::unique_ptr<GateConnection> conn);
  void Close(std::unique_ptr<GateConnection> conn);
  // Hands the connection to a worker if its buffer holds a whole head; replies 431 if it
  // cannot. Returns false if it is no longer the loop's.
  bool MaybeDispatch(int fd);
  void Sweep(absl::Time now);
  void Wake();

  const int listen_fd_;
  const Options options_;
  Serve serve_;
  std::function<void()> on_open_;
  std::function<void()> on_close_;
  WakeableEpoll epoll_;  // wakes Run() for Return() and Stop()
  std::atomic<bool> stop_{false};
  std::atomic<size_t> open_{0};
  std::unordered_map<int, std::unique_ptr<GateConnection>> waiting_;  // loop thread only

  absl::Mutex mu_;
  std::vector<std::unique_ptr<GateConnection>> returned_ ABSL_GUARDED_BY(mu_);
};

// A non-blocking listening TCP socket on `address` (numeric, v4 or v6) and `port`.
absl::StatusOr<int> ListenTcp(const std::string& address, uint16_t port);

// Writes a complete HTTP/1.1 error response with the API's JSON body and
// "Connection: close" (best effort, non-blocking). For the gate's own refusals.
void WriteRawError(int fd, int status, std::string_view code, std::string_view message);

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_CONNECTION_GATE_H_
