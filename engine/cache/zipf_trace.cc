#include "engine/cache/zipf_trace.h"

#include <cmath>
#include <cstdio>

#include "glog/logging.h"

namespace beyondkv::engine {
namespace {

// log1p(x)/x, and (exp(x)-1)/x, accurate near 0 (Taylor series below 1e-8).
double Helper1(double x) {
  return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}
double Helper2(double x) {
  return std::abs(x) > 1e-8 ? std::expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x));
}

// Uniform in [0, 1) from the top 53 bits.
double Uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace

ZipfSampler::ZipfSampler(uint64_t n, double exponent) : n_(n), exponent_(exponent) {
  CHECK_GE(n, 1u);
  CHECK_GT(exponent, 0);
  h_integral_x1_ = HIntegral(1.5) - 1;
  h_integral_n_ = HIntegral(static_cast<double>(n) + 0.5);
  s_ = 2 - HIntegralInverse(HIntegral(2.5) - H(2));
}

double ZipfSampler::H(double x) const { return std::exp(-exponent_ * std::log(x)); }

double ZipfSampler::HIntegral(double x) const {
  const double log_x = std::log(x);
  return Helper2((1 - exponent_) * log_x) * log_x;
}

double ZipfSampler::HIntegralInverse(double x) const {
  double t = x * (1 - exponent_);
  if (t < -1) t = -1;  // rounding may push it just past the domain of log1p
  return std::exp(Helper1(t) * x);
}

uint64_t ZipfSampler::Sample(std::mt19937_64& rng) const {
  while (true) {
    const double u = h_integral_n_ + Uniform01(rng) * (h_integral_x1_ - h_integral_n_);
    const double x = HIntegralInverse(u);
    double k = std::floor(x + 0.5);
    if (k < 1) k = 1;
    if (k > static_cast<double>(n_)) k = static_cast<double>(n_);
    // Accept at once where the hat and the distribution are known to agree (k - x <= s), else
    // when u falls under the step of the true mass at k.
    if (k - x <= s_ || u >= HIntegral(k + 0.5) - H(k)) return static_cast<uint64_t>(k);
  }
}

std::vector<uint32_t> ZipfTrace(uint32_t n, double exponent, uint64_t count, uint64_t seed) {
  ZipfSampler sampler(n, exponent);
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> trace(count);
  for (uint32_t& id : trace) id = static_cast<uint32_t>(sampler.Sample(rng) - 1);
  return trace;
}

std::string TraceKey(uint32_t id) {
  char buf[kTraceKeyBytes + 1];
  std::snprintf(buf, sizeof(buf), "key:%012u", id);
  return std::string(buf, kTraceKeyBytes);
}

}  // namespace beyondkv::engine
