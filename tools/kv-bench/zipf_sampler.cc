#include "tools/kv-bench/zipf_sampler.h"

#include <cassert>
#include <cmath>

namespace beyondkv::kvbench {
namespace {

// log(1 + x) / x, accurate near 0.
double Helper1(double x) {
  return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}

// (exp(x) - 1) / x, accurate near 0.
double Helper2(double x) {
  return std::abs(x) > 1e-8 ? std::expm1(x) / x
                            : 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x));
}

}  // namespace

ZipfSampler::ZipfSampler(int64_t n, double exponent) : n_(n), exponent_(exponent) {
  assert(n >= 1);
  assert(exponent > 0);
  h_integral_x1_ = HIntegral(1.5) - 1;
  h_integral_n_ = HIntegral(static_cast<double>(n) + 0.5);
  s_ = 2 - HIntegralInverse(HIntegral(2.5) - H(2));
}

int64_t ZipfSampler::TrySample(double u01) const {
  // u is uniform in (h_integral_x1_, h_integral_n_].
  const double u = h_integral_n_ + u01 * (h_integral_x1_ - h_integral_n_);
  const double x = HIntegralInverse(u);
  int64_t k = static_cast<int64_t>(x + 0.5);
  if (k < 1) {
    k = 1;
  } else if (k > n_) {
    k = n_;
  }
  // The first test accepts most candidates without evaluating HIntegral.
  if (static_cast<double>(k) - x <= s_ ||
      u >= HIntegral(static_cast<double>(k) + 0.5) - H(static_cast<double>(k))) {
    return k;
  }
  return 0;
}

// h(x) = x^-exponent.
double ZipfSampler::H(double x) const { return std::exp(-exponent_ * std::log(x)); }

// H(x) = (x^(1 - exponent) - 1) / (1 - exponent), or log(x) when exponent == 1.
double ZipfSampler::HIntegral(double x) const {
  const double log_x = std::log(x);
  return Helper2((1 - exponent_) * log_x) * log_x;
}

double ZipfSampler::HIntegralInverse(double x) const {
  double t = x * (1 - exponent_);
  if (t < -1) t = -1;  // Rounding can push t just below -1 where log1p is undefined.
  return std::exp(Helper1(t) * x);
}

}  // namespace beyondkv::kvbench
