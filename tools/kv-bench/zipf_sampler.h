// kv-bench: draws ranks 1..n with P(k) proportional to k^-exponent (a Zipf distribution) in
// O(1) time and memory, by rejection-inversion: W. Hörmann and G. Derflinger, "Rejection-
// inversion to generate variates from monotone discrete distributions", ACM TOMACS 6(3), 1996.
// The formulation follows Apache Commons RNG's RejectionInversionZipfSampler (numerically
// stable for exponents near 1). Expected draws per sample are below 1.1 for any n.
//
// Immutable after construction; threads may share one sampler, each with its own generator.
#ifndef BEYONDKV_TOOLS_KV_BENCH_ZIPF_SAMPLER_H_
#define BEYONDKV_TOOLS_KV_BENCH_ZIPF_SAMPLER_H_

#include <cstdint>
#include <random>

namespace beyondkv::kvbench {

class ZipfSampler {
 public:
  // n >= 1 elements; exponent > 0 (0.99 is the YCSB default).
  ZipfSampler(int64_t n, double exponent);

  // Returns a rank in [1, n]; rank 1 is the most frequent.
  template <typename Urbg>
  int64_t Sample(Urbg& rng) const {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    while (true) {
      const int64_t k = TrySample(uniform(rng));
      if (k > 0) return k;
    }
  }

  int64_t n() const { return n_; }
  double exponent() const { return exponent_; }

 private:
  // One round of rejection-inversion with uniform variate u in [0, 1): the rank, or 0 when
  // the candidate is rejected.
  int64_t TrySample(double u) const;

  double H(double x) const;
  double HIntegral(double x) const;
  double HIntegralInverse(double x) const;

  int64_t n_;
  double exponent_;
  double h_integral_x1_;
  double h_integral_n_;
  double s_;
};

}  // namespace beyondkv::kvbench

#endif  // BEYONDKV_TOOLS_KV_BENCH_ZIPF_SAMPLER_H_
