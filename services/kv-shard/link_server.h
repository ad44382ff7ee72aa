// The shard's end of the shard link (architecture §3, proto/LINK.md): a unix socket whose
// connections ("lanes", one per gateway I/O thread) carry framed batches. Everything here
// runs on the shard's engine thread, inside its own event loop: accepting, reading frames,
// parsing batches, and writing results. No other thread and no queue stand between a lane and
// the engine.
//
// Rules, per lane:
//   - the first frame must be HELLO; the shard answers WELCOME (version, shard id and count,
//     boot id) or WELCOME with an error and closes;
//   - batches are answered in the order received (FIFO), each RESULT with its BATCH's seq;
//   - fairness: at most kMaxFramesPerRound batches of one lane join one engine batch, so a
//     lane with a deep backlog does not starve the others, and background work (reclaim,
//     replay slices) runs between engine batches as before;
//   - bounded bytes: a lane whose unwritten results pass max_output_bytes is not read until
//     it drains below half (the gateway then stops sending: its own bound);
//   - a malformed frame closes the lane; batches of a closed lane still apply (they were
//     received) but their results are dropped.
//
// Thread contract: engine thread only, including construction and destruction.
#ifndef BEYONDKV_SERVICES_KV_SHARD_LINK_SERVER_H_
#define BEYONDKV_SERVICES_KV_SHARD_LINK_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "proto/link_frame.h"
#include "proto/shard.pb.h"
#include "services/kv-shard/shard_call.h"

namespace beyondkv::shard {

struct LinkServerOptions {
  uint32_t shard_id = 0;
  uint32_t shard_count = 1;
  uint64_t boot_id = 0;
  size_t max_output_bytes = 64u << 20;  // per lane, unwritten results
};

class LinkServer {
 public:
  // Batches of one lane taken into one engine batch at most (fairness across lanes).
  static constexpr int kMaxFramesPerRound = 32;

  // Binds and listens on `socket_path` (a stale socket file is replaced). Errors:
  // Unavailable when the socket cannot be bound.
  static absl::StatusOr<int> Listen(const std::string& socket_path);

  // Serves connections accepted on `listen_fd` (from Listen; taken over, closed in the
  // destructor), registering every descriptor with `epoll_fd` under tags for which
  // OwnsTag() is true.
  LinkServer(const LinkServerOptions& options, int listen_fd, int epoll_fd);
  ~LinkServer();
  LinkServer(const LinkServer&) = delete;
  LinkServer& operator=(const LinkServer&) = delete;

  bool OwnsTag(uint64_t tag) const { return tag >= kTagBase; }
  // Handles an epoll event for one of this server's descriptors: accepts, reads, writes.
  void OnEvent(uint64_t tag, uint32_t events);

  // Appends, as calls for the engine, up to kMaxFramesPerRound received batches per lane.
  // Their `done` encodes the RESULT frame into the lane's output (written by Flush()).
  void TakeCalls(std::vector<ShardCall>* calls);
  // Whether complete batches wait in the input of a lane that is not paused (the loop must
  // not sleep then; a paused lane wakes it with EPOLLOUT once its output drains).
  bool HasBufferedBatches() const;

  // Writes the results queued by completed calls, once per lane with output.
  void Flush();

  // Closes every lane (shutdown); their gateways see EOF and fail what is in flight.
  void CloseAll();

  size_t lanes() const { return lanes_.size(); }

 private:
  struct Lane;
  struct Pending;
  static constexpr uint64_t kTagBase = 1ull << 40;
  static constexpr uint64_t kListenTag = kTagBase;

  void Accept();
  void Read(Lane* lane);
  void Write(Lane* lane);
  // Parses frames from the lane's input: HELLO is answered here, batches become Pending.
  void Drain(Lane* lane, std::vector<ShardCall>* calls, int max_batches);
  void Complete(Pending* pending);
  void Close(Lane* lane, const char* why);
  void UpdateInterest(Lane* lane);
  Pending* NewPending();

  LinkServerOptions options_;
  int listen_fd_;
  int epoll_fd_;
  uint64_t next_lane_id_ = 1;
  absl::flat_hash_map<uint64_t, std::shared_ptr<Lane>> lanes_;  // by tag
  std::vector<std::shared_ptr<Lane>> dirty_;  // lanes with output to write
  std::vector<std::unique_ptr<Pending>> free_;  // reusable request/response pairs
  int buffered_lanes_ = 0;         // lanes with a complete batch not taken yet
};

}  // namespace beyondkv::shard

#endif  // BEYONDKV_SERVICES_KV_SHARD_LINK_SERVER_H_
