// Synthetic request traces for the cache benchmarks (miss_ratio, cache_bench): keys drawn from a
// Zipf distribution, deterministic for a given seed on any platform (the generator and the
// uniform draw are written out here, not taken from <random>'s distributions, whose output the
// standard leaves to each library).
#ifndef BEYONDKV_ENGINE_CACHE_ZIPF_TRACE_H_
#define BEYONDKV_ENGINE_CACHE_ZIPF_TRACE_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace beyondkv::engine {

// Draws ranks k in [1, n] with P(k) proportional to k^-exponent (exponent > 0), by
// rejection-inversion: W. Hörmann and G. Derflinger, "Rejection-inversion to generate variates
// from monotone discrete distributions", ACM TOMACS 6(3), 1996. O(1) memory and expected O(1)
// time per draw, for any n.
class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double exponent);

  uint64_t Sample(std::mt19937_64& rng) const;

 private:
  double H(double x) const;         // the density bound h(x) = x^-exponent
  double HIntegral(double x) const;  // an antiderivative of h
  double HIntegralInverse(double x) const;

  uint64_t n_;
  double exponent_;
  double h_integral_x1_;
  double h_integral_n_;
  double s_;
};

// `count` key ids in [0, n): id = rank - 1, so id 0 is the most popular.
std::vector<uint32_t> ZipfTrace(uint32_t n, double exponent, uint64_t count, uint64_t seed);

// The key of id `id`: "key:" and 12 decimal digits, 16 bytes for every id.
std::string TraceKey(uint32_t id);
inline constexpr size_t kTraceKeyBytes = 16;

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_CACHE_ZIPF_TRACE_H_
