// One I/O thread of the RESP gateway: an epoll loop that accepts client connections, parses
// their commands, dispatches them, batches the resulting shard ops, and writes replies in
// request order.
//
// Batching (architecture §3): ops produced during one loop iteration, from any connection of
// this loop, are grouped per shard (shardlink::Batcher) and sent at the end of the iteration.
// With the shard link (the default transport), each loop has its own lane per shard in this
// epoll loop: several batches may be in flight per lane, FIFO, and results come back to this
// thread directly. With gRPC (--shard-transport grpc), one Execute call per shard is in
// flight per loop and results are posted back from gRPC's threads. Either way a connection's
// commands reach each shard in the order it sent them, and batches grow with load.
// Replies completed during an iteration are written at its end, one write per connection.
//
// Thread contract: everything runs on the loop's thread except Stop() and Post(), which any
// thread may call (gRPC completion threads post results back this way).
#ifndef BEYONDKV_GATEWAY_IO_LOOP_H_
#define BEYONDKV_GATEWAY_IO_LOOP_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/idle_poll.h"
#include "common/socket_batch.h"
#include "common/wakeable_epoll.h"
#include "gateway/command_stats.h"
#include "gateway/command_table.h"
#include "gateway/connection.h"
#include "gateway/gateway_config.h"
#include "gateway/scan_cursors.h"
#include "gateway/shardlink/shard_client.h"
#include "gateway/shardlink/batch.h"
#include "gateway/shardlink/link_lane.h"
#include "proto/shard.pb.h"

namespace beyondkv::gateway {

class IoLoop;

// State shared by every loop of a gateway process.
struct GatewayShared {
  GatewayConfig config;
  std::vector<std::unique_ptr<shardlink::ShardClient>> shards;  // index = shard id
  std::atomic<uint64_t> open_connections{0};
  std::atomic<uint64_t> next_client_id{1};
  std::atomic<uint64_t> total_connections{0};
  std::atomic<uint64_t> total_commands{0};
  CommandStats command_stats{AllCommands().size()};  // index = position in AllCommands()
  int64_t started_ms = 0;
  ScanCursors scan_cursors;
  std::vector<IoLoop*> loops;  // every I/O loop, set before they start
};

class IoLoop {
 public:
  // `listen_fd` is a non-blocking listening socket shared by all loops (EPOLLEXCLUSIVE).
  IoLoop(GatewayShared* shared, int listen_fd);
  ~IoLoop();

  // Runs until Stop(); then closes every connection of this loop.
  void Run();
  void Stop();

  // Runs `fn` on the loop's thread soon.
  void Post(std::function<void()> fn);

  // Appends an op for `shard` to this loop's next batch and returns it to be filled (see
  // shardlink::Batcher::Add); `done` runs on this thread with its result. Loop thread only.
  v1::Op* AddOp(uint32_t shard, shardlink::OpDone done);

  // MULTI/EXEC (commands/txn_cmds.cc): while a transaction's commands are dispatched, every
  // op added is stamped with its id and the shards it goes to are noted. Loop thread only.
  uint64_t BeginTransaction();                  // returns the new transaction's id (> 0)
  std::vector<uint32_t> EndTransaction();       // the shards its ops went to
  uint64_t current_transaction() const { return txn_; }
  void NoteTransactionShard(uint32_t shard);

  // A command's pending op: what its result needs (the reply slot, the connection, the
  // command's callback). Pooled per loop, so an op costs no allocation. Loop thread only.
  struct OpSlot {
    std::shared_ptr<Connection> conn;
    std::shared_ptr<PendingReply> reply;
    std::function<void(v1::OpResult&, CommandContext&)> cb;
  };
  OpSlot* AcquireSlot();
  // Runs the slot's callback with `result`, settles the command and frees the slot.
  void CompleteSlot(OpSlot* slot, v1::OpResult& result);

  // Appends a push frame to `conn`'s output and writes it; past kMaxWatchOutputBytes of
  // unwritten output, writes `error_if_full` (a RESP error text) and closes the connection.
  // Loop thread only.
  void WritePush(const std::shared_ptr<Connection>& conn, const std::string& frame,
                 const std::string& error_if_full);
  static constexpr size_t kMaxWatchOutputBytes = 16u << 20;

  // A reply of `conn` became complete: it is written at the end of this loop iteration.
  // Loop thread only.
  void OnReplyReady(const std::shared_ptr<Connection>& conn);

  GatewayShared& shared() { return *shared_; }

  // CLIENT LIST lines ("id=... addr=... ...\n") of this loop's connections. Loop thread only.
  std::string ListClients() const;

  // Closes this loop's connections that match (CLIENT KILL); returns how many. The connection
  // with id `caller` is not closed here but counted if it matches (its command closes it
  // after replying). Loop thread only.
  struct KillFilter {
    uint64_t id = 0;     // 0 = any
    // Unset = any; set, only that exact address ("" matches nobody: CLIENT KILL "" closed
    // every client when empty meant any).
    std::optional<std::string> addr;
    std::optional<std::string> laddr;
    uint64_t skip = 0;   // never match this id (SKIPME yes)
  };
  int KillClients(const KillFilter& filter);

 private:
  uint64_t txn_ = 0;            // the transaction being dispatched, 0 = none
  uint64_t next_txn_ = 0;
  std::vector<uint32_t> txn_shards_;
  using OpDone = shardlink::OpDone;

  // Closes every batch past the batcher's limits (before a command).
  void CloseFullBatches() { batcher_.CloseFull(); }

  void Accept();
  void OnReadable(const std::shared_ptr<Connection>& conn);
  // Reads every connection in readable_ with one SocketBatch submission per
  // SocketBatch::capacity() connections, then parses and dispatches what each received
  // (a connection that filled its chunk is read on with OnReadable).
  void ReadBatched();
  // Parses `n` bytes received from `conn` and dispatches the commands they complete.
  void ConsumeInput(const std::shared_ptr<Connection>& conn, const char* data, size_t n);
  // Whether a readable event of `conn` is to be read now (not closing, paused or failed).
  static bool WantsRead(const Connection& conn) {
    return !conn.closed && !conn.closing && !conn.read_paused && !conn.has_protocol_error;
  }
  void Dispatch(const std::shared_ptr<Connection>& conn, std::vector<std::string>& argv);
  // Dispatches the connection's parsed commands within its output budget
  // (gateway/output_budget.h), then pauses or resumes reading it accordingly.
  void DispatchParsed(const std::shared_ptr<Connection>& conn);
  // Gives the paused connections whose output drained (resume_) their next commands.
  void ResumePaused();
  void Flush(const std::shared_ptr<Connection>& conn);
  // Flush in three steps, so that FlushReady can write many connections in one submission:
  // move the completed replies into the output buffer (returns whether the connection is to
  // close once that is written: QUIT), write (false: the connection closed), then arm
  // EPOLLOUT, close or resume reading as the outcome says.
  bool TakeReplies(Connection& conn);
  bool WriteOut(const std::shared_ptr<Connection>& conn);
  void AfterWrite(const std::shared_ptr<Connection>& conn, bool close_now);
  // Closes a connection whose unwritten output is over --client-output-buffer-limit-bytes
  // (0 = no limit); true if it did.
  bool CloseIfOverOutputLimit(const std::shared_ptr<Connection>& conn);
  // Reply slots are reused: a written reply nothing else refers to goes back to a pool (with
  // its buffer, up to PendingReply::kKeptOutBytes: at most 1 MiB per loop), and Dispatch
  // takes from it before allocating.
  static constexpr size_t kMaxPooledReplies = 256;
  std::shared_ptr<PendingReply> NewReply();
  void RecycleReply(std::shared_ptr<PendingReply> reply);
  void Close(const std::shared_ptr<Connection>& conn);
  void UpdateInterest(const std::shared_ptr<Connection>& conn);
  // Sends the batches the batcher holds. With `write` false the link's frames are only
  // queued: FlushReady() writes them, in the submission that writes the replies.
  void SendBatches(bool write = true);
  // Writes the replies completed during this iteration (one write per connection) and the
  // link frames SendBatches(false) queued: all in one submission with a SocketBatch, the
  // frames first (the shards start on them while the replies go out).
  void FlushReady();
  // Reconnects lanes that are down once their backoff passed; returns the epoll timeout.
  int MaintainLanes();
  void RunPosted();
  void CloseIdle(int64_t now_ms);

  GatewayShared* shared_;
  int listen_fd_;
  WakeableEpoll epoll_;  // before lanes_ and connections: they unregister from it
  std::atomic<bool> stop_{false};
  std::unordered_map<int, std::shared_ptr<Connection>> conns_;
  shardlink::Batcher batcher_;
  std::vector<std::unique_ptr<shardlink::LinkLane>> lanes_;  // link transport: one per shard
  std::vector<bool> grpc_in_flight_;                         // gRPC transport: per shard
  IdlePoll idle_poll_;  // polling before epoll_wait (GatewayConfig::idle_poll_us)
  std::vector<std::shared_ptr<Connection>> ready_;  // connections with replies to write
  std::vector<std::shared_ptr<Connection>> resume_;  // paused connections that may go on
  std::vector<std::unique_ptr<OpSlot>> free_slots_;
  std::vector<std::shared_ptr<PendingReply>> reply_pool_;
  std::string read_buffer_;
  // Batched socket I/O (GatewayConfig::socket_io; null: a read() and write() per connection).
  std::unique_ptr<SocketBatch> socket_batch_;
  std::unique_ptr<char[]> read_slab_;  // one receive chunk per op of a batch
  std::vector<std::shared_ptr<Connection>> readable_;  // this iteration's, for ReadBatched
  std::vector<std::shared_ptr<Connection>> flushing_;  // FlushReady's, taken from ready_
  std::vector<char> flush_close_now_;                  // TakeReplies' answer per flushing_
  std::vector<size_t> batch_conns_;  // op i of the SocketBatch is for connection [i]
  std::vector<shardlink::LinkLane*> lanes_to_write_;  // FlushReady's lanes with queued frames
  std::vector<Command> parsed_scratch_;  // OnReadable's commands of one read (kept: no allocation)

  absl::Mutex posted_mu_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(posted_mu_);
};

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_IO_LOOP_H_
