#ifndef BEYONDKV_COMMON_SOCKET_BATCH_H_
#define BEYONDKV_COMMON_SOCKET_BATCH_H_

#include <liburing.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace beyondkv {

// Many non-blocking send()/recv() calls on sockets made with one system call.
//
// An event loop that finds 30 connections readable makes 30 read()s, then 30 write()s for
// the replies. Each is a system call, and on a VM with page-table isolation the entry and
// exit alone cost ~0.9 µs (docs/benchmarks.md, "socket batches"). A SocketBatch queues the
// calls and runs them in one io_uring_enter(2): every op carries MSG_DONTWAIT, so the kernel
// runs it inline during the submission and completes it at once with exactly what the plain
// call would have returned (bytes moved, 0 at EOF for a recv, or -EAGAIN / -EPIPE / ... ),
// instead of parking it until the socket is ready (io_uring(7), "IOSQE / MSG_DONTWAIT";
// io_uring_prep_send(3)). Run() therefore returns with every op finished, and the buffers
// are free again, as after the plain calls.
//
// Sends add MSG_NOSIGNAL: a peer that hung up gives -EPIPE, never SIGPIPE.
//
// Not thread-safe: one SocketBatch per thread (each owns an io_uring instance).
class SocketBatch {
 public:
  // At most `capacity` ops per Run(). Fails where io_uring cannot be set up (an old kernel,
  // a seccomp policy, RLIMIT_MEMLOCK); callers then make the plain calls.
  static absl::StatusOr<std::unique_ptr<SocketBatch>> Create(unsigned capacity);
  ~SocketBatch();

  SocketBatch(const SocketBatch&) = delete;
  SocketBatch& operator=(const SocketBatch&) = delete;

  unsigned capacity() const { return capacity_; }
  size_t size() const { return size_; }
  bool full() const { return size_ == capacity_; }

  // Queue send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL). `data` must stay valid until
  // Run() returns. Returns the op's index in Run()'s results. Requires !full().
  size_t AddSend(int fd, const void* data, size_t len);
  // Queue recv(fd, buf, len, MSG_DONTWAIT) into `buf` (valid until Run() returns).
  size_t AddRecv(int fd, void* buf, size_t len);

  // Runs every queued op and empties the batch. result(i) is then op i's outcome: bytes
  // moved (0: EOF), or -errno. The results stay valid until the next Add.
  void Run();
  int result(size_t i) const { return results_[i]; }

 private:
  SocketBatch() = default;
  io_uring_sqe* NextSqe();

  io_uring ring_{};
  bool initialized_ = false;
  unsigned capacity_ = 0;
  size_t size_ = 0;
  std::vector<int> results_;
};

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_SOCKET_BATCH_H_
