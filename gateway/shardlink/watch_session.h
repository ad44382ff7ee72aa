// One WATCH or PWATCH subscription of a RESP3 client (architecture §6, wire-protocol.md).
//
// It opens a Watch stream to every shard involved (the keys' shards, or every shard for a
// prefix), buffers each shard's events, and releases them in revision order only once every
// shard's watermark has passed them, so the merged stream is gap-free and ordered across
// shards; a client that reconnects with SINCE = the last revision it saw misses nothing and
// sees nothing twice. `ready` is pushed once every shard has finished its replay.
//
// A shard's watermark moves with its own mutations and, idle, only with its 100 ms tick and
// wall time (a busy shard's revisions run ahead of wall time). So when events wait for
// shards whose watermark is below them, the session asks each such shard for a watermark
// (a PING batch whose observed_revision is the highest revision waiting: the shard's clock
// moves past it and the watermark it sends after that batch releases the events), with at
// most one request in flight per shard. The cost of a watch is then per event, not per tick.
//
// Thread contract: created, fed and cancelled on one owner thread (the RESP connection's
// IoLoop, or an HTTP handler's thread); the gRPC stream callbacks only hand events to that
// thread through the `post` function given at construction.
#ifndef BEYONDKV_GATEWAY_SHARDLINK_WATCH_SESSION_H_
#define BEYONDKV_GATEWAY_SHARDLINK_WATCH_SESSION_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gateway/shardlink/shard_client.h"
#include "proto/shard.pb.h"

namespace beyondkv::shardlink {

class WatchSession : public std::enable_shared_from_this<WatchSession> {
 public:
  // Receives each released event (SET, DEL, FLUSH) in revision order, then READY once.
  using Sink = std::function<void(const v1::WatchEvent& event)>;
  // Called once if the subscription fails; the status's message is the reason for the
  // client: FAILED_PRECONDITION (SINCE below a shard's replay floor: "... replay floor <r>"),
  // RESOURCE_EXHAUSTED (the shard cut this watcher off for falling too far behind),
  // UNAVAILABLE ("shard <i> unavailable: ..."; the shard is down or its stream ended).
  using Failure = std::function<void(const absl::Status& status)>;

  // Runs a function on the owner thread soon; callable from any thread.
  using Post = std::function<void(std::function<void()>)>;
  // Like Post, and also says roughly how many bytes of memory the function holds (the
  // event it carries: key, value and metadata sizes), so that an owner whose thread may
  // block can bound what waits for it.
  using WeighedPost = std::function<void(size_t bytes, std::function<void()>)>;

  WatchSession(Post post, std::vector<uint32_t> shards, Sink sink, Failure failure);
  WatchSession(WeighedPost post, std::vector<uint32_t> shards, Sink sink, Failure failure);
  ~WatchSession();

  // Opens one stream per shard given to the constructor, with requests[i] to clients[i].
  // Loop thread only.
  void Start(const std::vector<ShardClient*>& clients,
             const std::vector<v1::WatchRequest>& requests);

  // Stops the streams; no event is delivered afterwards. Loop thread only.
  void Cancel();

  // The highest revision released so far (0 if none).
  uint64_t last_revision() const { return last_revision_; }

 private:
  class Stream;
  struct ShardState {
    uint32_t shard = 0;
    std::deque<v1::WatchEvent> pending;  // SET/DEL/FLUSH not yet released
    uint64_t watermark = 0;
    bool ready = false;
    uint64_t ready_revision = 0;  // the shard's watermark at its READY: its replay ends there
    ShardClient* client = nullptr;
    uint64_t asked = 0;   // the highest revision this shard was asked a watermark for
    bool asking = false;  // a request is in flight
  };

  void OnEvent(size_t index, v1::WatchEvent event);
  void OnStreamEnd(size_t index, const absl::Status& error);
  void Release();
  // Asks every shard whose watermark is below `revision` (and that was not asked for it
  // already, nor has a request in flight) for a watermark at or above it.
  void AskForWatermarks(uint64_t revision);
  void OnAsked(size_t index);
  static constexpr int64_t kAskDeadlineMs = 5000;

  WeighedPost post_;
  Sink sink_;
  Failure failure_;
  std::vector<ShardState> states_;
  std::vector<std::shared_ptr<Stream>> streams_;  // each also owns itself until its OnDone
  bool cancelled_ = false;
  bool ready_sent_ = false;
  uint64_t last_revision_ = 0;
  // Bytes of events in the shards' `pending` lists. Past kMaxPendingBytes (one shard far
  // ahead of another's watermark) the subscription fails with ResourceExhausted, naming the
  // revision to resume from, rather than buffer without bound.
  size_t pending_bytes_ = 0;
  static constexpr size_t kMaxPendingBytes = 64 << 20;
};

}  // namespace beyondkv::shardlink

#endif  // BEYONDKV_GATEWAY_SHARDLINK_WATCH_SESSION_H_
