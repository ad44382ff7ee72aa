// Per-command call counts and latencies of the RESP gateway, reported by INFO commandstats
// (Redis's cmdstat_<name>:calls=,usec=,usec_per_call=,rejected_calls=,failed_calls=) and INFO
// latencystats (latency_percentiles_usec_<name>:p50=,p99=,p99.9=).
//
// A command's latency runs from its dispatch to its reply being complete (every shard op
// answered, WATCH's `ready` included), in microseconds. Histograms have 4 buckets per power
// of two, so a percentile is an upper bound at most 19% above the true value.
//
// Thread-safety: every method may be called from any thread (relaxed atomics); a snapshot
// read while commands run may mix slightly different instants.
#ifndef BEYONDKV_GATEWAY_COMMAND_STATS_H_
#define BEYONDKV_GATEWAY_COMMAND_STATS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace beyondkv::gateway {

class CommandStats {
 public:
  // Bucket i holds latencies up to 2^(i/4) µs; the last one everything above (~67 s).
  static constexpr size_t kBuckets = 105;

  struct Snapshot {
    uint64_t calls = 0;     // replies completed
    uint64_t usec = 0;      // their total latency
    uint64_t failed = 0;    // of which error replies
    uint64_t rejected = 0;  // refused before running: wrong arity, NOAUTH
    std::array<uint64_t, kBuckets> buckets{};
  };

  // `commands`: how many command indexes there are (AllCommands().size()).
  explicit CommandStats(size_t commands);

  void Record(size_t index, uint64_t usec, bool failed);
  void Rejected(size_t index);
  Snapshot Get(size_t index) const;

  // The upper bound, µs, of the bucket holding the `fraction` (0..1) quantile; 0 if no calls.
  static double Percentile(const Snapshot& s, double fraction);
  // The bucket of a latency, and a bucket's upper bound in µs.
  static size_t BucketOf(uint64_t usec);
  static double UpperBound(size_t bucket);

 private:
  struct Counters {
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> usec{0};
    std::atomic<uint64_t> failed{0};
    std::atomic<uint64_t> rejected{0};
    std::array<std::atomic<uint64_t>, kBuckets> buckets{};
  };
  size_t size_;
  std::unique_ptr<Counters[]> counters_;
};

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_COMMAND_STATS_H_
