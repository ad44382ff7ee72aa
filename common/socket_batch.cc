#include "common/socket_batch.h"

#include <glog/logging.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace beyondkv {

absl::StatusOr<std::unique_ptr<SocketBatch>> SocketBatch::Create(unsigned capacity) {
  std::unique_ptr<SocketBatch> batch(new SocketBatch());
  // SUBMIT_ALL: an op that fails at submission does not hold back the ones after it;
  // COOP_TASKRUN: no interrupt of this thread to post completions. Both are optional
  // (5.18 / 5.19): without them the batch is only a little less cheap.
  unsigned flags = 0;
#ifdef IORING_SETUP_SUBMIT_ALL
  flags |= IORING_SETUP_SUBMIT_ALL;
#endif
#ifdef IORING_SETUP_COOP_TASKRUN
  flags |= IORING_SETUP_COOP_TASKRUN;
#endif
  int ret = io_uring_queue_init(capacity, &batch->ring_, flags);
  if (ret == -EINVAL && flags != 0) ret = io_uring_queue_init(capacity, &batch->ring_, 0);
  if (ret < 0) return absl::ErrnoToStatus(-ret, "io_uring_queue_init");
  batch->initialized_ = true;
  // The kernel rounds the ring up to a power of two; use no more than was asked for.
  batch->capacity_ = capacity;
  batch->results_.resize(capacity);
  return batch;
}

SocketBatch::~SocketBatch() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* SocketBatch::NextSqe() {
  CHECK_LT(size_, capacity_) << "SocketBatch is full";
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  CHECK(sqe != nullptr);  // never: the ring holds at least capacity_ entries, all reaped
  io_uring_sqe_set_data64(sqe, size_);
  return sqe;
}

size_t SocketBatch::AddSend(int fd, const void* data, size_t len) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_send(sqe, fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  return size_++;
}

size_t SocketBatch::AddRecv(int fd, void* buf, size_t len) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_recv(sqe, fd, buf, len, MSG_DONTWAIT);
  return size_++;
}

void SocketBatch::Run() {
  size_t done = 0;
  while (done < size_) {
    // Submits what is queued (all of it, or what an earlier try left) and waits for the
    // rest: with MSG_DONTWAIT every op completed during the submission, so this does not
    // sleep.
    const int ret = io_uring_submit_and_wait(&ring_, static_cast<unsigned>(size_ - done));
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
      // Not an outcome of any socket (those come as completions): the ring itself is
      // unusable, and the queued ops still point into the caller's buffers.
      LOG(FATAL) << "io_uring_submit_and_wait: " << std::strerror(-ret);
    }
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      const uint64_t index = io_uring_cqe_get_data64(cqe);
      CHECK_LT(index, size_);
      results_[index] = cqe->res;
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    done += seen;
  }
  size_ = 0;
}

}  // namespace beyondkv
