#include "engine/cache/zipf_trace.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

TEST(ZipfTraceTest, FrequenciesFollowTheZipfLaw) {
  constexpr uint32_t kN = 100;
  constexpr double kExponent = 0.99;
  constexpr uint64_t kCount = 400000;
  std::vector<uint32_t> trace = ZipfTrace(kN, kExponent, kCount, /*seed=*/3);
  std::vector<uint64_t> counts(kN);
  for (uint32_t id : trace) {
    ASSERT_LT(id, kN);
    ++counts[id];
  }
  double harmonic = 0;
  for (uint32_t k = 1; k <= kN; ++k) harmonic += std::pow(k, -kExponent);
  for (uint32_t k : {1u, 2u, 3u, 10u, 50u, 100u}) {
    const double expected = kCount * std::pow(k, -kExponent) / harmonic;
    // Five standard deviations of a binomial count.
    EXPECT_NEAR(counts[k - 1], expected, 5 * std::sqrt(expected)) << "rank " << k;
  }
}

TEST(ZipfTraceTest, SameSeedSameTrace) {
  EXPECT_EQ(ZipfTrace(1000000, 0.99, 1000, 7), ZipfTrace(1000000, 0.99, 1000, 7));
  EXPECT_NE(ZipfTrace(1000000, 0.99, 1000, 7), ZipfTrace(1000000, 0.99, 1000, 8));
}

TEST(ZipfTraceTest, OneKeyAndExponentOneAreFine) {
  for (uint32_t id : ZipfTrace(1, 0.99, 100, 1)) EXPECT_EQ(id, 0u);
  for (uint32_t id : ZipfTrace(10, 1.0, 1000, 1)) EXPECT_LT(id, 10u);
}

TEST(ZipfTraceTest, KeysHaveAFixedLength) {
  EXPECT_EQ(TraceKey(0), "key:000000000000");
  EXPECT_EQ(TraceKey(4294967295u).size(), kTraceKeyBytes);
}

}  // namespace
}  // namespace beyondkv::engine
