// kv-bench: a log-linear latency histogram with bounded relative error, in the manner of
// HdrHistogram (Gil Tene, http://hdrhistogram.org): values below 2^(kSubBucketBits+1) get a
// bucket each; above, every power-of-two range [2^e, 2^(e+1)) is cut into 2^kSubBucketBits
// equal buckets. A bucket's width is then at most 1/2^kSubBucketBits (0.78%) of any value in
// it, and the midpoint we report is within 0.39% of every value that fell into it.
//
// Values are non-negative int64 (kv-bench records nanoseconds); negative values count as 0.
// Memory is fixed (~58 KiB) whatever is recorded. Not thread-safe: each thread records into its
// own histogram, and the owner merges them afterwards.
#ifndef BEYONDKV_TOOLS_KV_BENCH_HISTOGRAM_H_
#define BEYONDKV_TOOLS_KV_BENCH_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace beyondkv::kvbench {

class Histogram {
 public:
  // 2^7 = 128 sub-buckets per power of two: relative bucket width <= 1/128.
  static constexpr int kSubBucketBits = 7;

  Histogram();

  // Counts `value` (clamped to >= 0) `times` times.
  void Record(int64_t value, int64_t times = 1);

  // Adds every count of `other` to this histogram.
  void Merge(const Histogram& other);

  int64_t count() const { return count_; }
  // Exact extremes of the recorded values; 0 when empty.
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  // Exact mean of the recorded values; 0 when empty.
  double Mean() const;

  // The value at `percentile` (0..100): the representative value of the bucket holding the
  // ceil(percentile/100 * count)-th smallest value (at least the first), clamped to
  // [min(), max()]. 100 gives max() exactly. Returns 0 when empty.
  int64_t ValueAtPercentile(double percentile) const;

  // The bucket `value` (>= 0) falls into, and that bucket's bounds and representative value.
  static int BucketIndex(int64_t value);
  static int64_t BucketLowest(int index);
  static int64_t BucketHighest(int index);
  static int64_t BucketMidpoint(int index);
  static int NumBuckets();

 private:
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  // Sum of recorded values, as double so a long run cannot overflow it.
  double sum_ = 0;
};

}  // namespace beyondkv::kvbench

#endif  // BEYONDKV_TOOLS_KV_BENCH_HISTOGRAM_H_
