// The gateway's end of one shard link connection (a "lane"; architecture §3,
// proto/link_frame.h): one per gateway I/O thread per shard, driven by that thread's own
// epoll loop, so a batch goes from the thread that built it to the shard's engine thread and
// its results come back to the same thread with no other thread in between.
//
// Behaviour:
//   - Connect(): a non-blocking connect to the shard's link socket, then HELLO (protocol
//     version, the shard id and count this gateway expects). Batches may follow HELLO at
//     once; the shard's WELCOME (its id, count and boot id) is checked when it arrives and a
//     refusal or a mismatch ends the lane.
//   - Send(): appends a BATCH frame with the next sequence number; several batches may be in
//     flight (FIFO). Flush() writes what is queued (one write per loop iteration).
//   - Results arrive in order; each RESULT's seq must match the oldest batch in flight.
//   - On EOF, an error or a protocol violation every batch in flight fails at once with
//     "shard <i> unavailable: ..." (nothing is resent: a write may or may not have applied),
//     and the lane reconnects after a backoff (100 ms doubling to 1 s, reset by a WELCOME).
//     While the lane is down, Send() fails at once (fail fast, never a hang).
//
// Thread contract: not thread-safe; the owning event loop's thread only. Callbacks (`Done`)
// run on that thread, from OnEvent(), Send() (when the lane is down) or Close().
#ifndef BEYONDKV_GATEWAY_SHARDLINK_LINK_LANE_H_
#define BEYONDKV_GATEWAY_SHARDLINK_LINK_LANE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "gateway/shardlink/batch.h"
#include "proto/link_frame.h"
#include "proto/shard.pb.h"

namespace beyondkv::shardlink {

class LinkLane {
 public:
  struct Options {
    uint32_t shard = 0;
    uint32_t shard_count = 1;
    std::string socket_path;
    // Bounds of what is in flight (sent and not answered), both ways: past either, CanSend()
    // is false and batches wait in the caller's queue.
    size_t max_in_flight_batches = 16;
    size_t max_in_flight_bytes = 64u << 20;
  };

  // `epoll_fd`: the owning loop's epoll; the lane registers its socket there with
  // data.u64 = `tag` and expects OnEvent() for it.
  LinkLane(const Options& options, int epoll_fd, uint64_t tag);
  ~LinkLane();  // fails what is in flight ("gateway shutting down") and closes
  LinkLane(const LinkLane&) = delete;
  LinkLane& operator=(const LinkLane&) = delete;

  // Whether the lane is connected (or connecting) and under its in-flight bounds.
  bool CanSend() const;

  // Sends `batch` (connecting first if the lane is down and its backoff has passed). Its
  // callbacks run once the RESULT arrives, or with an "unavailable" result if the lane is or
  // goes down. Returns the batch's request, cleared, for reuse (Batcher::GiveRequest), or null
  // after a batch of more than kMaxReusedOps ops or kMaxRetainedBytes (not kept allocated).
  std::unique_ptr<v1::BatchRequest> Send(Batch batch);

  // Writes queued frames (EPOLLOUT is armed while some remain).
  void Flush();

  // Sends this lane's shard's batches from `batcher`, oldest first, while the in-flight bounds
  // allow, then writes them (one write): what an event loop does at the end of an iteration.
  // With `write` false the frames are only queued: the caller writes Unwritten() itself (the
  // RESP loop, in the io_uring submission that sends its replies) and reports Wrote().
  void SendFrom(Batcher& batcher, bool write = true);

  // The socket and the queued bytes not yet written (empty while the lane is down), for a
  // caller that writes them itself: valid until the next call on the lane.
  int fd() const { return fd_; }
  std::string_view Unwritten() const;
  // The outcome of sending Unwritten() elsewhere with MSG_DONTWAIT: bytes written, or -errno.
  // What is left is written later as after Flush() (EPOLLOUT); an error ends the lane.
  void Wrote(int result);

  // Handles an epoll event for this lane's socket.
  void OnEvent(uint32_t events);

  // Called by the loop on each iteration: reconnects a lane that is down once its backoff
  // has passed. Returns the time of the next attempt (InfiniteFuture when connected).
  absl::Time Maintain(absl::Time now);

  // Counters, for INFO and tests.
  uint64_t connects() const { return connects_; }
  uint64_t boot_id() const { return boot_id_; }
  size_t in_flight() const { return in_flight_.size(); }
  bool connected() const { return fd_ >= 0; }

 private:
  struct InFlight {
    uint64_t seq;
    size_t bytes;
    std::vector<OpDone> done;
  };

  bool Connect();
  void Read();
  // Ends the lane: fails every batch in flight with `why` and schedules a reconnect.
  void Close(const std::string& why);
  void HandleFrame(const link::FrameHeader& header, std::string_view payload);
  void UpdateInterest();
  // After a write: recycles the drained buffer and arms EPOLLOUT while bytes remain.
  void AfterWrite();

  Options options_;
  int epoll_fd_;
  uint64_t tag_;
  int fd_ = -1;
  bool welcomed_ = false;
  bool want_write_ = false;
  uint64_t next_seq_ = 1;
  uint64_t boot_id_ = 0;
  uint64_t connects_ = 0;
  absl::Time retry_at_ = absl::InfinitePast();
  absl::Duration backoff_ = absl::Milliseconds(100);
  std::string last_error_;
  link::FrameReader in_;
  std::string out_;
  size_t out_offset_ = 0;
  std::deque<InFlight> in_flight_;
  size_t in_flight_bytes_ = 0;
  v1::BatchResponse response_;  // reused for every RESULT (replaced after a large one)
  // Delivered batches' emptied callback vectors, for the batcher (at most
  // max_in_flight_batches: one per batch in flight).
  std::vector<std::vector<OpDone>> spare_done_;
  bool shrink_reader_ = false;   // a large frame was read: free in_'s buffer once empty
  // Buffers and messages kept for reuse are released past these sizes.
  static constexpr size_t kMaxRetainedBytes = 1 << 20;
  static constexpr int kMaxReusedOps = 4096;
};

}  // namespace beyondkv::shardlink

#endif  // BEYONDKV_GATEWAY_SHARDLINK_LINK_LANE_H_
