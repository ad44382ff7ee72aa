// kv-bench: one non-blocking TCP connection to the server under test: an output buffer of
// encoded requests and a reply reader. The owning worker polls the descriptor (epoll) and
// matches replies to its requests in order; this class knows nothing of scheduling.
//
// Not thread-safe: used by the one worker thread that owns it.
#ifndef BEYONDKV_TOOLS_KV_BENCH_CONNECTION_H_
#define BEYONDKV_TOOLS_KV_BENCH_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/kv-bench/reply_reader.h"

namespace beyondkv::kvbench {

// CLOCK_MONOTONIC in nanoseconds: every kv-bench timestamp.
int64_t MonotonicNowNs();

class Connection {
 public:
  // Connects to host:port (a blocking connect), then makes the socket non-blocking with
  // TCP_NODELAY. Unavailable if the address does not resolve or nothing accepts.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& host, int port);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }

  // Requests are appended here, then sent by Flush.
  std::string* out() { return &out_; }
  bool HasPendingOutput() const { return out_offset_ < out_.size(); }

  // Writes buffered output until it is all sent or the socket would block. Unavailable when
  // the connection failed.
  absl::Status Flush();

  // Reads whatever the socket holds and calls on_reply(is_error, received_ns) for every whole
  // reply, in order; received_ns is the time the bytes that completed it were read.
  // Unavailable on end of stream or a socket error, DataLoss when the bytes are not RESP2.
  absl::Status ReadReplies(absl::FunctionRef<void(bool is_error, int64_t received_ns)> on_reply);

  // Text of the last error reply read.
  const std::string& last_error_reply() const { return reader_.last_error(); }

 private:
  explicit Connection(int fd) : fd_(fd) {}

  int fd_;
  std::string out_;
  size_t out_offset_ = 0;  // bytes of out_ already written
  ReplyReader reader_;
};

}  // namespace beyondkv::kvbench

#endif  // BEYONDKV_TOOLS_KV_BENCH_CONNECTION_H_
