// beyondkv::WatchStream: one subscription opened by Client::Watch (kv_client.h).
//
// Behind it, one gRPC Watch stream per shard feeds a shardlink::WatchSession, the gateways'
// merger: events are released in revision order, each only once every shard's watermark has
// passed it, so the sequence is gap-free and ordered across shards and equals what RESP3
// PWATCH delivers for the same prefixes and since. A consumer that resumes with
// since = the last revision it received misses nothing and sees nothing twice.
//
// Flow control: events wait in the stream until Next() takes them, bounded at
// kMaxBufferedBytes; a consumer that falls further behind gets ResourceExhausted (resume
// with since = last_revision()). Writers are never slowed by watchers.
//
// Thread-safety: Next() from one thread at a time (the consumer); Cancel() and last_revision()
// from any thread, also while Next() blocks. The gRPC threads only queue work for the
// consumer, which runs the merge inside Next().
#ifndef BEYONDKV_SDK_CPP_WATCH_STREAM_H_
#define BEYONDKV_SDK_CPP_WATCH_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace beyondkv {

namespace sdk {
struct WatchState;
}  // namespace sdk

struct WatchEvent {
  enum class Kind {
    kSet,     // key now holds value (expire_at_ms: its absolute expiry in Unix ms, 0 = none)
    kDelete,  // key was deleted, expired or flushed
    kFlush,   // the namespace was flushed (a replayed flush: the keys are not known)
    kReady,   // once: the replay (with since) is done; live changes follow
  };
  Kind kind = Kind::kSet;
  std::string key;
  std::string value;
  uint64_t revision = 0;  // the mutation's revision (kReady: the merged watermark)
  int64_t expire_at_ms = 0;
};

class WatchStream {
 public:
  static constexpr size_t kMaxBufferedBytes = 64 << 20;

  ~WatchStream();  // Cancel()s

  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // Waits up to timeout_ms (>= 0) for the next event. Returns the event; std::nullopt when
  // none came in time; or, once the subscription has ended, its reason, on this and every
  // later call: Cancelled (Cancel() was called), FailedPrecondition (since is below a shard's
  // replay floor; the message names the oldest replayable revision), ResourceExhausted (the
  // consumer or the stream fell too far behind: resume with since = last_revision()),
  // Unavailable (a shard went down or ended its stream).
  absl::StatusOr<std::optional<WatchEvent>> Next(int64_t timeout_ms);

  // Ends the subscription: the shard streams are cancelled and a Next() blocked in another
  // thread returns Cancelled at once. Idempotent.
  void Cancel();

  // The revision of the last event Next() returned (0 if none): where to resume.
  uint64_t last_revision() const;

 private:
  friend class Client;
  explicit WatchStream(std::shared_ptr<sdk::WatchState> state);

  std::shared_ptr<sdk::WatchState> state_;
};

}  // namespace beyondkv

#endif  // BEYONDKV_SDK_CPP_WATCH_STREAM_H_
