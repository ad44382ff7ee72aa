#include "engine/uring.h"

#include <errno.h>
#include <glog/logging.h>

#include <cstring>
#include <utility>

#include "absl/status/status.h"

namespace beyondkv::engine {

struct Uring::Request {
  enum class Kind { kRead, kWrite, kSync };
  Kind kind = Kind::kRead;
  int fd = -1;
  uint64_t offset = 0;
  char* buf = nullptr;          // kRead
  const char* data = nullptr;   // kWrite
  size_t n = 0;                 // bytes to read or write
  size_t done = 0;              // bytes read or written so far
  bool sync = false;            // kWrite: fdatasync after the write
  bool synced = false;          // the (linked) fdatasync completed
  bool eof = false;             // kRead: end of file reached
  int inflight = 0;             // SQEs of this request whose CQE has not arrived
  int error = 0;                // first -errno (of the write, for kWrite)
  int sync_error = 0;           // kWrite: of the fdatasync
  Callback callback;
  WriteCallback write_callback;  // kWrite
};

namespace {

// The low bit of user_data tells the fdatasync SQE of a WriteAndSync from its write SQE
// (requests are heap objects, so at least 8-byte aligned).
constexpr uintptr_t kSyncTag = 1;

bool Retryable(int res) { return res == -EAGAIN || res == -EINTR; }

}  // namespace

absl::StatusOr<std::unique_ptr<Uring>> Uring::Create(unsigned entries) {
  std::unique_ptr<Uring> uring(new Uring());
  const int ret = io_uring_queue_init(entries, &uring->ring_, 0);
  if (ret < 0) return absl::ErrnoToStatus(-ret, "io_uring_queue_init");
  uring->initialized_ = true;
  return uring;
}

Uring::~Uring() {
  if (!initialized_) return;
  // Requests in flight reference caller buffers: wait for the kernel to be done with them.
  destroying_ = true;
  while (pending_ > 0) {
    io_uring_submit(&ring_);
    io_uring_cqe* cqe = nullptr;
    const int ret = io_uring_wait_cqe(&ring_, &cqe);
    if (ret < 0) {
      if (ret == -EINTR) continue;
      LOG(ERROR) << "io_uring_wait_cqe at shutdown: " << std::strerror(-ret);
      break;
    }
    const uintptr_t data = static_cast<uintptr_t>(io_uring_cqe_get_data64(cqe));
    const int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    OnCompletion(reinterpret_cast<Request*>(data & ~kSyncTag), (data & kSyncTag) != 0, res);
  }
  io_uring_queue_exit(&ring_);
}

io_uring_sqe* Uring::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    // Full: hand what is queued to the kernel (which consumes every SQE at submit), retry.
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  CHECK(sqe != nullptr) << "io_uring submission queue full after submit";
  ++submitted_sqes_;
  return sqe;
}

void Uring::Read(int fd, uint64_t offset, char* buf, size_t n, Callback done) {
  auto* request = new Request();
  request->kind = Request::Kind::kRead;
  request->fd = fd;
  request->offset = offset;
  request->buf = buf;
  request->n = n;
  request->callback = std::move(done);
  ++pending_;
  if (n == 0) {
    Finish(request, 0);
    return;
  }
  QueueRead(request);
}

void Uring::WriteAndSync(int fd, uint64_t offset, std::string_view data, bool sync,
                         WriteCallback done) {
  auto* request = new Request();
  request->kind = Request::Kind::kWrite;
  request->fd = fd;
  request->offset = offset;
  request->data = data.data();
  request->n = data.size();
  request->sync = sync;
  request->write_callback = std::move(done);
  ++pending_;
  if (data.empty()) {
    if (sync) {
      QueueSync(request);
    } else {
      Finish(request, 0);
    }
    return;
  }
  QueueWrite(request);
}

void Uring::DataSync(int fd, Callback done) {
  auto* request = new Request();
  request->kind = Request::Kind::kSync;
  request->fd = fd;
  request->sync = true;
  request->callback = std::move(done);
  ++pending_;
  QueueSync(request);
}

void Uring::QueueRead(Request* request) {
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_read(sqe, request->fd, request->buf + request->done,
                     static_cast<unsigned>(request->n - request->done),
                     request->offset + request->done);
  io_uring_sqe_set_data64(sqe, reinterpret_cast<uintptr_t>(request));
  ++request->inflight;
}

void Uring::QueueWrite(Request* request) {
  // A linked pair must go to the kernel in one submission: a chain cut by a submit boundary
  // would let the fdatasync run before the write.
  if (request->sync && io_uring_sq_space_left(&ring_) < 2) io_uring_submit(&ring_);
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_write(sqe, request->fd, request->data + request->done,
                      static_cast<unsigned>(request->n - request->done),
                      request->offset + request->done);
  io_uring_sqe_set_data64(sqe, reinterpret_cast<uintptr_t>(request));
  ++request->inflight;
  if (request->sync) {
    sqe->flags |= IOSQE_IO_LINK;
    QueueSync(request);
  }
}

// A linked fdatasync carries no flag itself: IOSQE_IO_LINK sits on the write before it.
void Uring::QueueSync(Request* request) {
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_fsync(sqe, request->fd, IORING_FSYNC_DATASYNC);
  io_uring_sqe_set_data64(sqe, reinterpret_cast<uintptr_t>(request) | kSyncTag);
  ++request->inflight;
}

void Uring::OnCompletion(Request* request, bool sync_part, int res) {
  --request->inflight;
  bool retry = false;
  if (sync_part) {
    if (res == -ECANCELED) {
      // The write it was linked to failed or came up short: handled below.
    } else if (res < 0) {
      if (request->kind == Request::Kind::kWrite) {
        request->sync_error = res;
      } else if (Retryable(res)) {
        retry = true;
      } else if (request->error == 0) {
        request->error = res;
      }
    } else {
      request->synced = true;
    }
  } else if (res < 0) {
    if (Retryable(res)) {
      retry = true;
    } else if (request->error == 0) {
      request->error = res;
    }
  } else if (res == 0) {
    if (request->kind == Request::Kind::kRead) {
      request->eof = true;
    } else if (request->error == 0) {
      request->error = -EIO;  // a write that makes no progress
    }
  } else {
    request->done += static_cast<size_t>(res);
  }
  if (request->inflight > 0) return;  // its linked partner is still on the way
  if (destroying_) return Finish(request, request->error != 0 ? request->error : -ECANCELED);
  if (request->error != 0) return Finish(request, request->error);
  switch (request->kind) {
    case Request::Kind::kRead:
      if (!request->eof && request->done < request->n) return QueueRead(request);
      return Finish(request, static_cast<int>(request->done));
    case Request::Kind::kWrite:
      if (retry || request->done < request->n) {
        return QueueWrite(request);  // short or interrupted: the rest, re-linked
      }
      if (request->sync_error != 0) return Finish(request, 0);
      if (request->sync && !request->synced) return QueueSync(request);
      return Finish(request, 0);
    case Request::Kind::kSync:
      if (retry || !request->synced) return QueueSync(request);
      return Finish(request, 0);
  }
}

void Uring::Finish(Request* request, int result) {
  --pending_;
  ++completed_requests_;
  if (request->kind == Request::Kind::kWrite) {
    WriteCallback callback = std::move(request->write_callback);
    int write_result = request->error;
    int sync_result = request->sync_error;
    if (request->error == 0 && result < 0) write_result = result;
    if (write_result != 0 || !request->sync) sync_result = -ECANCELED;
    delete request;
    if (!destroying_ && callback) callback(write_result, sync_result);
    return;
  }
  Callback callback = std::move(request->callback);
  delete request;
  if (!destroying_ && callback) callback(result);
}

void Uring::Submit() {
  const int submitted = io_uring_submit(&ring_);
  if (submitted < 0 && submitted != -EBUSY && submitted != -EAGAIN && submitted != -EINTR) {
    LOG_EVERY_N(ERROR, 100) << "io_uring_submit: " << std::strerror(-submitted);
  }
}

int Uring::Run(absl::Duration timeout) {
  const int submitted = io_uring_submit(&ring_);
  if (submitted < 0 && submitted != -EBUSY && submitted != -EAGAIN && submitted != -EINTR) {
    LOG_EVERY_N(ERROR, 100) << "io_uring_submit: " << std::strerror(-submitted);
  }
  if (pending_ == 0) return 0;
  io_uring_cqe* cqe = nullptr;
  if (timeout > absl::ZeroDuration()) {
    __kernel_timespec ts{};
    const int64_t ns = absl::ToInt64Nanoseconds(timeout);
    ts.tv_sec = ns / 1'000'000'000;
    ts.tv_nsec = ns % 1'000'000'000;
    const int ret = io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
    if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN) {
      LOG_EVERY_N(ERROR, 100) << "io_uring_wait_cqe_timeout: " << std::strerror(-ret);
    }
  }
  int completed = 0;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
    const uintptr_t data = static_cast<uintptr_t>(io_uring_cqe_get_data64(cqe));
    const int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    const uint64_t before = completed_requests_;
    OnCompletion(reinterpret_cast<Request*>(data & ~kSyncTag), (data & kSyncTag) != 0, res);
    completed += static_cast<int>(completed_requests_ - before);
  }
  return completed;
}

}  // namespace beyondkv::engine
