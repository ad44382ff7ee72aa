#include "common/random_seed.h"

#include <set>

#include "gtest/gtest.h"

namespace beyondkv {
namespace {

TEST(RandomSeedTest, EachCallDrawsAFreshValue) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 64; ++i) seen.insert(NewRandomSeed());
  // 64 draws of 64 bits: a repeat means the source is not random (p ~ 2^-53).
  EXPECT_EQ(seen.size(), 64u);
}

TEST(RandomSeedTest, BothHalvesAreRandom) {
  uint64_t high_or = 0, low_or = 0;
  for (int i = 0; i < 16; ++i) {
    const uint64_t seed = NewRandomSeed();
    high_or |= seed >> 32;
    low_or |= seed & 0xffffffffu;
  }
  EXPECT_NE(high_or, 0u);
  EXPECT_NE(low_or, 0u);
}

TEST(RandomSeedTest, ProcessSeedIsStable) {
  const uint64_t first = ProcessRandomSeed();
  EXPECT_EQ(ProcessRandomSeed(), first);
  EXPECT_NE(first, NewRandomSeed());
}

}  // namespace
}  // namespace beyondkv
