#include "tools/kv-bench/zipf_sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace beyondkv::kvbench {
namespace {

// Pearson's chi-square statistic of `samples` draws against the exact Zipf pmf.
double ChiSquare(int64_t n, double exponent, int samples, uint64_t seed) {
  ZipfSampler sampler(n, exponent);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> observed(n + 1, 0);
  for (int i = 0; i < samples; ++i) {
    const int64_t k = sampler.Sample(rng);
    EXPECT_GE(k, 1);
    EXPECT_LE(k, n);
    ++observed[k];
  }
  double norm = 0;
  for (int64_t k = 1; k <= n; ++k) norm += std::pow(static_cast<double>(k), -exponent);
  double chi2 = 0;
  for (int64_t k = 1; k <= n; ++k) {
    const double expected = samples * std::pow(static_cast<double>(k), -exponent) / norm;
    chi2 += (observed[k] - expected) * (observed[k] - expected) / expected;
  }
  return chi2;
}

// 100 bins, 99 degrees of freedom: P(chi2 > 149.4) = 0.001. The seeds are fixed, so a pass
// is deterministic; the bound only says the fit is what a correct sampler gives.
constexpr double kChiSquare99DofP001 = 149.4;

TEST(ZipfSamplerTest, MatchesPmfForExponentOne) {
  EXPECT_LT(ChiSquare(100, 1.0, 1000000, 1), kChiSquare99DofP001);
}

TEST(ZipfSamplerTest, MatchesPmfForYcsbExponent) {
  EXPECT_LT(ChiSquare(100, 0.99, 1000000, 2), kChiSquare99DofP001);
}

TEST(ZipfSamplerTest, MatchesPmfForSmallAndLargeExponents) {
  EXPECT_LT(ChiSquare(100, 0.5, 1000000, 3), kChiSquare99DofP001);
  EXPECT_LT(ChiSquare(100, 1.5, 1000000, 4), kChiSquare99DofP001);
}

TEST(ZipfSamplerTest, SingleElementAlwaysRankOne) {
  ZipfSampler sampler(1, 0.99);
  std::mt19937_64 rng(5);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(sampler.Sample(rng), 1);
}

TEST(ZipfSamplerTest, LargeKeySpaceHotKeyShare) {
  // For n = 1e6 and exponent 0.99, rank 1 has probability 1 / H(n, 0.99) ~= 0.0683.
  const int64_t n = 1000000;
  double norm = 0;
  for (int64_t k = 1; k <= n; ++k) norm += std::pow(static_cast<double>(k), -0.99);
  ZipfSampler sampler(n, 0.99);
  std::mt19937_64 rng(6);
  int64_t ones = 0, max_seen = 0;
  const int samples = 2000000;
  for (int i = 0; i < samples; ++i) {
    const int64_t k = sampler.Sample(rng);
    ones += k == 1;
    max_seen = std::max(max_seen, k);
  }
  EXPECT_NEAR(static_cast<double>(ones) / samples, 1 / norm, 0.002);
  EXPECT_LE(max_seen, n);
  EXPECT_GT(max_seen, n / 2);  // The tail is reached.
}

}  // namespace
}  // namespace beyondkv::kvbench
