// kv-bench: one load-generating thread. It owns a set of connections and one epoll loop.
//
// Open loop: requests arrive as a Poisson process at the worker's rate (exponential gaps),
// whatever the server does. Each goes to the queue of the connection with the fewest
// outstanding requests (ties round-robin), as a client's connection pool would hand it out. A
// connection sends from its queue while fewer than `pipeline` requests are in flight, and
// matches replies to requests in order. Latency runs from a request's scheduled time, so time a
// request waits in the queue because the server is slow counts (the coordinated-omission correction
// of wrk2 and HdrHistogram). Closed loop: every connection keeps `pipeline` requests in flight;
// latency runs from the send time.
//
// Not thread-safe: construct it anywhere, then call Load/Run from one thread.
#ifndef BEYONDKV_TOOLS_KV_BENCH_BENCH_WORKER_H_
#define BEYONDKV_TOOLS_KV_BENCH_BENCH_WORKER_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "tools/kv-bench/connection.h"
#include "tools/kv-bench/histogram.h"
#include "tools/kv-bench/workload.h"

namespace beyondkv::kvbench {

// What happened to the requests of one command whose scheduled time fell in the measured
// window.
struct CommandStats {
  // Scheduled time (closed loop: send time) to reply, in ns. Requests still unanswered when
  // the run ends are recorded at their age then: a lower bound.
  Histogram latency_ns;
  int64_t scheduled = 0;      // requests scheduled in the window
  int64_t error_replies = 0;  // of those, answered with an error reply
  int64_t failed = 0;         // of those, lost with a failed connection
  int64_t unfinished = 0;     // of those, unanswered when the run ended
  // Replies (to any request) received inside the window: the achieved throughput.
  int64_t replies_in_window = 0;

  void Merge(const CommandStats& other);
};

struct WorkerStats {
  std::array<CommandStats, kNumCommands> commands;
  int64_t connection_failures = 0;
  std::string first_error;  // first error reply or connection failure, for the report

  void Merge(const WorkerStats& other);
};

// Absolute CLOCK_MONOTONIC times (ns) shared by all workers of a run.
struct Schedule {
  int64_t start_ns = 0;          // the first request is scheduled at or after this
  int64_t measure_begin_ns = 0;  // requests scheduled in [begin, end) are measured
  int64_t measure_end_ns = 0;    // nothing is scheduled at or after this
  int64_t drain_end_ns = 0;      // stop waiting for outstanding replies at this time
};

struct WorkerOptions {
  int pipeline = 1;  // most requests in flight per connection; >= 1
  bool closed_loop = false;
  double rate_per_sec = 0;  // open loop: this worker's share of the total rate
  WorkloadOptions workload;
  uint64_t seed = 1;
};

class BenchWorker {
 public:
  // Takes the (connected) connections; none may be null.
  BenchWorker(std::vector<std::unique_ptr<Connection>> connections, const WorkerOptions& options);
  ~BenchWorker();
  BenchWorker(const BenchWorker&) = delete;
  BenchWorker& operator=(const BenchWorker&) = delete;

  // Stores keys [first, end) with SET/MSET requests of up to batch_keys keys, split over the
  // connections, each with up to `pipeline` requests in flight. Every request counts as in the
  // window. Returns when all are answered or every connection failed.
  WorkerStats Load(int64_t first, int64_t end, int batch_keys);

  // Runs the measured phase: sleeps until schedule.start_ns, sends until measure_end_ns and
  // returns when every request is answered, or at drain_end_ns at the latest.
  WorkerStats Run(const Schedule& schedule);

 private:
  enum class Phase { kLoad, kOpen, kClosed };
  struct InFlight {
    int64_t start_ns;  // scheduled time (open loop) or send time
    Command command;
  };
  struct Slot {
    std::unique_ptr<Connection> conn;
    std::deque<InFlight> queued;     // open loop: scheduled, not yet sent
    std::deque<InFlight> in_flight;  // sent, in order, awaiting replies
    bool dead = false;
    bool dirty = false;        // in dirty_: may have something to send
    bool write_armed = false;  // EPOLLOUT requested
    bool bad_reply = false;    // a reply arrived with nothing in flight
    int64_t load_next = 0;     // load phase: next key index to store
    int64_t load_end = 0;
  };

  bool InWindow(int64_t t) const { return t >= window_begin_ns_ && t < window_end_ns_; }
  void MarkDirty(Slot* slot);
  // Fills and flushes every dirty slot per the phase.
  void SendDirty(int64_t now_ns);
  void Fill(Slot* slot, int64_t now_ns);
  // Waits up to timeout_ns (< 0: no limit) and handles readiness.
  void Poll(int64_t timeout_ns);
  void OnReply(Slot* slot, bool is_error, int64_t received_ns);
  void FailSlot(Slot* slot, const std::string& reason);
  // The live connection with the fewest queued + in-flight requests; null if none is live.
  Slot* LeastLoadedSlot();
  // Whether some live connection has room for another request now.
  bool AnySlotCanSend() const;
  void RecordUnfinished(int64_t now_ns);

  WorkerOptions options_;
  RequestGenerator generator_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> dirty_;
  int epoll_fd_ = -1;
  Phase phase_ = Phase::kLoad;
  int64_t window_begin_ns_ = 0;
  int64_t window_end_ns_ = 0;
  int64_t closed_send_until_ns_ = 0;  // closed loop: send only before this
  int load_batch_keys_ = 1;
  int live_ = 0;             // connections not failed
  int64_t outstanding_ = 0;  // queued + in flight over all slots
  size_t next_slot_ = 0;     // where LeastLoadedSlot starts looking (round robin)
  WorkerStats stats_;
};

}  // namespace beyondkv::kvbench

#endif  // BEYONDKV_TOOLS_KV_BENCH_BENCH_WORKER_H_
