// A completion-driven io_uring (liburing) for one thread: the shard's engine thread submits
// log appends, fdatasyncs and record reads here and goes on; each request's callback runs
// later, on the same thread, from Run(). After the io_uring(7) model: requests are queued as
// submission queue entries (SQEs), submitted together, and their completion queue entries
// (CQEs) are reaped in batches.
//
// What the wrapper adds to liburing:
//   - whole-buffer semantics: a short read or write is resubmitted for the rest, so a
//     callback sees the full byte count (or a read's count at end of file) or an error;
//   - WriteAndSync: a write with an fdatasync linked after it (IOSQE_IO_LINK, so the sync
//     starts only once the write completed in full; io_uring_prep_fsync with
//     IORING_FSYNC_DATASYNC), one callback for both;
//   - a full submission queue is submitted and retried instead of failing.
//
// Results: callbacks get a negative errno on failure (as the kernel reports it in cqe->res)
// or the byte count (Read), 0 (WriteAndSync, DataSync).
//
// Thread contract: not thread-safe. One thread creates the ring, queues requests, calls Run()
// and receives every callback. Buffers handed to Read/WriteAndSync must stay valid and
// unchanged until the callback runs. Destroying the ring with requests in flight waits for
// them (their callbacks are not run).
#ifndef BEYONDKV_ENGINE_URING_H_
#define BEYONDKV_ENGINE_URING_H_

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace beyondkv::engine {

class Uring {
 public:
  // `result`: >= 0 on success (see the header comment), -errno on failure.
  using Callback = std::function<void(int result)>;
  // WriteAndSync: `write_result` 0 or -errno; `sync_result` 0, -errno, or -ECANCELED when
  // the fdatasync was not asked for or not attempted (the write failed).
  using WriteCallback = std::function<void(int write_result, int sync_result)>;

  // A ring with `entries` submission slots (rounded up to a power of two by the kernel).
  // Fails (with the errno of io_uring_setup) where the kernel lacks io_uring or forbids it
  // (e.g. a seccomp profile); callers then fall back to blocking I/O.
  static absl::StatusOr<std::unique_ptr<Uring>> Create(unsigned entries = 256);

  ~Uring();
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;

  // Reads up to `n` bytes at `offset` of `fd` into `buf`; fewer only at end of file.
  void Read(int fd, uint64_t offset, char* buf, size_t n, Callback done);

  // Writes all of `data` at `offset` of `fd`, then, if `sync`, fdatasyncs `fd`. After a
  // failed write the sync is not attempted, and an unknown prefix of `data` may have
  // reached the file.
  void WriteAndSync(int fd, uint64_t offset, std::string_view data, bool sync,
                    WriteCallback done);

  // fdatasyncs `fd`.
  void DataSync(int fd, Callback done);

  // Submits the queued requests without waiting (Run does it too). A request's file
  // descriptor is looked up at submission: submit before its file may be closed.
  void Submit();

  // Submits the queued requests, waits up to `timeout` for at least one completion (not at
  // all if `timeout` is zero), then runs the callbacks of every completion available.
  // Callbacks may queue further requests (submitted by the next Run). Returns how many
  // requests completed.
  int Run(absl::Duration timeout);

  // Requests queued or in flight whose callback has not run yet.
  size_t pending() const { return pending_; }

  // Counters since creation, for statistics and tests.
  uint64_t submitted_sqes() const { return submitted_sqes_; }
  uint64_t completed_requests() const { return completed_requests_; }

 private:
  struct Request;

  Uring() = default;
  io_uring_sqe* GetSqe();
  void QueueRead(Request* request);
  void QueueWrite(Request* request);
  void QueueSync(Request* request);
  void OnCompletion(Request* request, bool sync_part, int res);
  void Finish(Request* request, int result);

  io_uring ring_{};
  bool initialized_ = false;
  bool destroying_ = false;  // in the destructor: finish requests without callbacks
  size_t pending_ = 0;
  uint64_t submitted_sqes_ = 0;
  uint64_t completed_requests_ = 0;
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_URING_H_
