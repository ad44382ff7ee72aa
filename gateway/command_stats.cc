#include "gateway/command_stats.h"

#include <algorithm>
#include <cmath>

namespace beyondkv::gateway {

CommandStats::CommandStats(size_t commands)
    : size_(commands), counters_(std::make_unique<Counters[]>(commands)) {}

size_t CommandStats::BucketOf(uint64_t usec) {
  if (usec <= 1) return 0;
  // The smallest i with 2^(i/4) >= usec: 4 * log2(usec), rounded up.
  const double i = std::ceil(4.0 * std::log2(static_cast<double>(usec)) - 1e-9);
  return i >= kBuckets - 1 ? kBuckets - 1 : static_cast<size_t>(i);
}

double CommandStats::UpperBound(size_t bucket) { return std::exp2(bucket / 4.0); }

void CommandStats::Record(size_t index, uint64_t usec, bool failed) {
  if (index >= size_) return;
  Counters& c = counters_[index];
  c.calls.fetch_add(1, std::memory_order_relaxed);
  c.usec.fetch_add(usec, std::memory_order_relaxed);
  if (failed) c.failed.fetch_add(1, std::memory_order_relaxed);
  c.buckets[BucketOf(usec)].fetch_add(1, std::memory_order_relaxed);
}

void CommandStats::Rejected(size_t index) {
  if (index < size_) counters_[index].rejected.fetch_add(1, std::memory_order_relaxed);
}

CommandStats::Snapshot CommandStats::Get(size_t index) const {
  Snapshot s;
  if (index >= size_) return s;
  const Counters& c = counters_[index];
  s.calls = c.calls.load(std::memory_order_relaxed);
  s.usec = c.usec.load(std::memory_order_relaxed);
  s.failed = c.failed.load(std::memory_order_relaxed);
  s.rejected = c.rejected.load(std::memory_order_relaxed);
  for (size_t b = 0; b < kBuckets; ++b) s.buckets[b] = c.buckets[b].load(std::memory_order_relaxed);
  return s;
}

double CommandStats::Percentile(const Snapshot& s, double fraction) {
  uint64_t total = 0;
  for (uint64_t n : s.buckets) total += n;
  if (total == 0) return 0;
  // The rank of the quantile, 1-based, at least 1.
  const double rank = std::max(1.0, std::ceil(fraction * static_cast<double>(total)));
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    seen += s.buckets[b];
    if (static_cast<double>(seen) >= rank) return UpperBound(b);
  }
  return UpperBound(kBuckets - 1);
}

}  // namespace beyondkv::gateway
