// beyondkv::Client: the C++ client for services on the same host that call the shards' gRPC
// API directly (proto/shard.proto), without a gateway hop (ARCHITECTURE.md §3).
//
//   absl::StatusOr<std::unique_ptr<beyondkv::Client>> client =
//       beyondkv::Client::Open("/var/lib/beyond-kv/run");
//   absl::StatusOr<uint64_t> revision = (*client)->Set("user:1", "ada");
//   absl::StatusOr<beyondkv::Entry> entry = (*client)->Get("user:1");
//
// Routing. A key goes to the shard the gateways send it to (gateway/shardlink/router.h:
// jump_hash(xxh3(hash tag or key), S)), so this client and redis-cli see the same data.
//
// Batching. Each shard has one queue (sdk/cpp/shard_lane.h) with at most one Execute call in
// flight: calls from any threads that arrive while a call to that shard is in flight leave
// together in the next BatchRequest (at most ClientOptions::max_batch_items items), so many
// threads cost few round trips. One method's ops for a shard always travel in one batch and
// are applied atomically by the shard.
//
// Causality (ARCHITECTURE.md §6). Every batch carries the highest revision this process has
// received (shardlink::ObservedRevision(), shared by every Client of the process) as
// observed_revision, and every answer's high_revision and every watch event handed out raise
// it. So once a call has returned revision R (a write, a Get, a watch event), any later write,
// on any shard, gets a revision above R, and a Watch(prefixes, since = R) misses no later
// write. Idle shards get a PING carrying the observed revision (at most one per ms per shard)
// so that their clocks and watch watermarks keep up with a busy one. (Being per process, the
// observed revision also moves the clocks of another beyond-kv the same process talks to:
// harmless, it only spends revision space; ARCHITECTURE.md §6.)
//
// Units: times and durations are milliseconds (`_ms`); expire_at_ms is absolute Unix time.
// Revisions are `(tick << 6) | shard` (engine/revision_clock.h), unique across shards and below
// 2^53; 0 means "absent" in if_revision.
//
// Errors (absl::Status codes; messages are for people, never compare them):
//   NotFound            Get: the key is absent or expired.
//   FailedPrecondition  Set with if_revision: the key's revision is not the one given (the
//                       compare-and-set conflict; nothing was written).
//   InvalidArgument     bad input (namespace > 15, ttl_ms < 0, ...); Incr on a value that is
//                       not a decimal int64.
//   OutOfRange          Incr: the result would overflow int64.
//   Unavailable         the shard is down or restarting ("shard <i> unavailable: ..."). Fails
//                       fast: no call waits for a shard to come back. A write may or may not
//                       have been applied; nothing is retried.
//   DeadlineExceeded    no answer within ClientOptions::timeout_ms (same caveat for writes).
//   ResourceExhausted   the shard's disk is full (nothing of that batch was kept).
//   Internal            I/O error or corrupt record on the shard.
// A multi-shard call (MGet, MSet, Scan) fails with the first failing shard's status; the other
// shards' parts of an MSet may have been applied.
//
// Thread-safety: a Client is thread-safe: any number of threads may call any method at once.
// Destroying it waits for calls in flight to the shards to end (at most timeout_ms); no method
// may be running or start meanwhile. A WatchStream (watch_stream.h) may outlive its Client.
#ifndef BEYONDKV_SDK_CPP_KV_CLIENT_H_
#define BEYONDKV_SDK_CPP_KV_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sdk/cpp/watch_stream.h"

namespace beyondkv {

namespace sdk {
class ClientCore;
}  // namespace sdk

struct ClientOptions {
  // The keyspace (Redis's SELECT index), 0-15. A Client serves one namespace; open another
  // Client for another.
  uint32_t ns = 0;
  // Bound on each call, from when it is made until its answer (queueing included). > 0.
  int64_t timeout_ms = 5000;
  // The number of shards S. 0: read it from the MANIFEST of the data directory that holds
  // `socket_dir` (<data-dir>/run, the layout beyond-kv creates). Give it explicitly for
  // shards started another way (kv-shard --socket ...), and exactly: a wrong S sends keys to
  // the wrong shards.
  uint32_t shard_count = 0;
  // Items (keys) per BatchRequest at most; a single call with more goes alone.
  size_t max_batch_items = 1024;
  // Items waiting per shard behind the call in flight; past it callers wait for room (within
  // their timeout_ms). Bounds the client's memory under overload.
  size_t max_queued_items = 64 * 1024;
};

// A key's value as read.
struct Entry {
  std::string value;
  uint64_t revision = 0;     // the revision of the write that produced this value
  int64_t expire_at_ms = 0;  // absolute Unix ms; 0 = no expiry
};

struct SetOptions {
  // > 0: the key expires ttl_ms after the call (expire_at_ms = now + ttl_ms on this host's
  // clock); 0: no expiry (an existing expiry is dropped, as Redis SET does).
  int64_t ttl_ms = 0;
  // Compare-and-set: write only if the key's current revision equals this (0: only if the key
  // is absent or expired); otherwise FailedPrecondition and nothing is written.
  std::optional<uint64_t> if_revision;
};

// What the client sent, since it was opened (all shards).
struct ClientStats {
  uint64_t batches_sent = 0;  // Execute calls (BatchRequests)
  uint64_t ops_sent = 0;      // ops in them: ops_sent / batches_sent is the coalescing factor
};

// One page of Scan.
struct ScanPage {
  std::vector<std::string> keys;  // in byte order, each key at most once
  bool more = false;              // keys may remain after keys.back()
  std::string resume_after;       // pass as start_after for the next page (when more)
};

class Client {
 public:
  // Connects (lazily) to the S shards whose gRPC sockets are <socket_dir>/shard-<i>.sock.
  // Reads the MANIFEST (see ClientOptions::shard_count) but opens no connection: a shard that
  // is down shows up as Unavailable on the calls that need it. Errors: InvalidArgument (bad
  // options, socket paths over 107 bytes), NotFound (no such directory), FailedPrecondition
  // (the shard count cannot be learned).
  static absl::StatusOr<std::unique_ptr<Client>> Open(const std::string& socket_dir,
                                                      ClientOptions options = {});
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  uint32_t shard_count() const;
  uint32_t ns() const;
  ClientStats stats() const;

  // The key's value, revision and expiry; NotFound when absent or expired.
  absl::StatusOr<Entry> Get(std::string_view key);

  // key := value. Returns the write's revision. With options.if_revision: FailedPrecondition
  // on a conflict (see SetOptions).
  absl::StatusOr<uint64_t> Set(std::string_view key, std::string_view value,
                               const SetOptions& options = {});

  // Deletes key; returns whether it existed.
  absl::StatusOr<bool> Delete(std::string_view key);

  // value := int64(value or 0) + delta, atomically on the key's shard, keeping its expiry.
  // Returns the new value. InvalidArgument when the value is not a decimal int64, OutOfRange
  // on overflow.
  absl::StatusOr<int64_t> Incr(std::string_view key, int64_t delta = 1);

  // The values of `keys`, in the order given (std::nullopt: absent or expired; a key may
  // appear more than once). One MGET op per shard, all shards at once; each shard's part is a
  // consistent read of that shard.
  absl::StatusOr<std::vector<std::optional<std::string>>> MGet(
      const std::vector<std::string>& keys);

  // Writes every (key, value) pair, without expiry. One MPUT op per shard, all shards at
  // once: atomic within a shard, not across shards (a reader may see one shard's part before
  // another's). A key given twice takes its last value. Returns the highest revision written.
  absl::StatusOr<uint64_t> MSet(const std::vector<std::pair<std::string, std::string>>& kvs);

  // One page of the keys that start with `prefix`, strictly after `start_after` ("" = from
  // the first), in byte order, at most `limit` (> 0) of them, merged from every shard. Paging
  // with resume_after returns every key present for the whole scan exactly once; keys
  // written or deleted meanwhile may or may not appear. Each page costs one SCAN op per shard
  // (all at once).
  absl::StatusOr<ScanPage> Scan(std::string_view prefix, std::string_view start_after = "",
                                uint32_t limit = 1000);
  // Every key with `prefix`, in byte order: Scan page after page until done. Holds them all
  // in memory; use Scan for large key spaces.
  absl::StatusOr<std::vector<std::string>> ScanAll(std::string_view prefix);

  // Follows the mutations of keys under any of `prefixes` ("" = every key) on every shard,
  // merged in revision order (gateway/shardlink/watch_session.h; what RESP3 `PWATCH prefix
  // ... [SINCE since]` delivers). With `since`: first every matching change with a revision
  // above it still in the log, then kReady, then live changes; without: kReady, then live
  // changes. Returns before the shards have registered the watch: without since, changes made
  // before kReady arrives may be missed (wait for kReady, or pass the revision to start
  // after as since). Errors come from the stream (WatchStream::Next): FailedPrecondition when since is
  // below a shard's replay floor, Unavailable when a shard is down.
  absl::StatusOr<std::unique_ptr<WatchStream>> Watch(std::vector<std::string> prefixes,
                                                     std::optional<uint64_t> since = {});

 private:
  explicit Client(std::shared_ptr<sdk::ClientCore> core);

  std::shared_ptr<sdk::ClientCore> core_;
};

}  // namespace beyondkv

#endif  // BEYONDKV_SDK_CPP_KV_CLIENT_H_
