#include "tools/kv-bench/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace beyondkv::kvbench {
namespace {

constexpr int64_t kSubBuckets = int64_t{1} << Histogram::kSubBucketBits;  // 128
// Values below this get one bucket each (the first two "octaves" merged, as in HDR).
constexpr int64_t kLinearLimit = kSubBuckets * 2;  // 256

int BitWidth(uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

}  // namespace

Histogram::Histogram() : counts_(NumBuckets(), 0) {}

int Histogram::NumBuckets() { return BucketIndex(std::numeric_limits<int64_t>::max()) + 1; }

int Histogram::BucketIndex(int64_t value) {
  if (value < kLinearLimit) return static_cast<int>(std::max<int64_t>(value, 0));
  // value >> shift lands in [kSubBuckets, 2 * kSubBuckets).
  const int shift = BitWidth(static_cast<uint64_t>(value)) - (kSubBucketBits + 1);
  return static_cast<int>(kLinearLimit + (shift - 1) * kSubBuckets + (value >> shift) -
                          kSubBuckets);
}

int64_t Histogram::BucketLowest(int index) {
  if (index < kLinearLimit) return index;
  const int64_t above = index - kLinearLimit;
  const int shift = static_cast<int>(above / kSubBuckets) + 1;
  return (kSubBuckets + above % kSubBuckets) << shift;
}

int64_t Histogram::BucketHighest(int index) {
  if (index < kLinearLimit) return index;
  const int shift = static_cast<int>((index - kLinearLimit) / kSubBuckets) + 1;
  // Written to stay in range for the last bucket, whose highest value is INT64_MAX.
  return BucketLowest(index) + ((int64_t{1} << shift) - 1);
}

int64_t Histogram::BucketMidpoint(int index) {
  const int64_t low = BucketLowest(index);
  return low + (BucketHighest(index) - low) / 2;
}

void Histogram::Record(int64_t value, int64_t times) {
  if (times <= 0) return;
  value = std::max<int64_t>(value, 0);
  counts_[BucketIndex(value)] += times;
  if (count_ == 0 || value < min_) min_ = value;
  if (value > max_) max_ = value;
  count_ += times;
  sum_ += static_cast<double>(value) * static_cast<double>(times);
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

double Histogram::Mean() const { return count_ == 0 ? 0 : sum_ / static_cast<double>(count_); }

int64_t Histogram::ValueAtPercentile(double percentile) const {
  if (count_ == 0) return 0;
  if (percentile >= 100) return max_;
  const double wanted = std::ceil(std::max(percentile, 0.0) / 100.0 * static_cast<double>(count_));
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(wanted));
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::clamp(BucketMidpoint(static_cast<int>(i)), min_, max_);
    }
  }
  return max_;
}

}  // namespace beyondkv::kvbench
