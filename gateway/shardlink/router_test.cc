#include "gateway/shardlink/router.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace beyondkv::shardlink {
namespace {

TEST(RouterTest, HashTagFollowsRedisClusterRules) {
  EXPECT_EQ(HashTag("{user1}.name"), "user1");
  EXPECT_EQ(HashTag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(HashTag("foo{}{bar}"), "foo{}{bar}");  // empty tag: whole key
  EXPECT_EQ(HashTag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(HashTag("plain"), "plain");
  EXPECT_EQ(HashTag("open{only"), "open{only");
}

TEST(RouterTest, KeysWithTheSameTagShareAShard) {
  for (uint32_t shards = 1; shards <= 16; ++shards) {
    EXPECT_EQ(ShardForKey("{order:42}:items", shards), ShardForKey("{order:42}:total", shards));
  }
}

// Pins the mapping: a change here would misroute every existing data directory.
TEST(RouterTest, MappingIsStable) {
  std::vector<uint32_t> got;
  for (const char* key : {"a", "b", "greeting", "key:000000000001", ""}) {
    got.push_back(ShardForKey(key, 8));
  }
  std::vector<uint32_t> again;
  for (const char* key : {"a", "b", "greeting", "key:000000000001", ""}) {
    again.push_back(ShardForKey(key, 8));
  }
  EXPECT_EQ(got, again);
  EXPECT_EQ(JumpConsistentHash(0, 1), 0u);
  for (uint64_t k = 0; k < 1000; ++k) EXPECT_LT(JumpConsistentHash(k, 7), 7u);
}

// Routing is part of the storage format: these values, taken from the implementation that
// wrote existing data directories, must never change.
TEST(RouterTest, GoldenValues) {
  const std::vector<std::pair<std::string, std::vector<uint32_t>>> keys = {
      {"a", {1, 1, 1, 14}},
      {"greeting", {1, 1, 7, 47}},
      {"key:000000000001", {1, 1, 3, 33}},
      {"{user1}.name", {1, 1, 5, 62}},
      {"", {0, 0, 0, 52}},
  };
  for (const auto& [key, shards] : keys) {
    EXPECT_EQ(ShardForKey(key, 2), shards[0]) << key;
    EXPECT_EQ(ShardForKey(key, 3), shards[1]) << key;
    EXPECT_EQ(ShardForKey(key, 8), shards[2]) << key;
    EXPECT_EQ(ShardForKey(key, 64), shards[3]) << key;
  }
  const std::vector<std::pair<uint64_t, std::vector<uint32_t>>> hashes = {
      {0, {0, 0, 0, 0}},
      {1, {0, 0, 6, 549}},
      {0xdeadbeef, {1, 2, 5, 285}},
      {~uint64_t{0}, {1, 2, 9, 313}},
  };
  for (const auto& [hash, buckets] : hashes) {
    EXPECT_EQ(JumpConsistentHash(hash, 2), buckets[0]) << hash;
    EXPECT_EQ(JumpConsistentHash(hash, 3), buckets[1]) << hash;
    EXPECT_EQ(JumpConsistentHash(hash, 10), buckets[2]) << hash;
    EXPECT_EQ(JumpConsistentHash(hash, 1000), buckets[3]) << hash;
  }
}

// The paper's loop, verbatim, as the reference for the shortcut taken for 2 buckets.
uint32_t PaperJumpHash(uint64_t key, int32_t num_buckets) {
  int64_t b = -1, j = 0;
  while (j < num_buckets) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = (b + 1) * (double(1LL << 31) / double((key >> 33) + 1));
  }
  return static_cast<uint32_t>(b);
}

TEST(RouterTest, TwoBucketsAsTheLoopDoes) {
  std::mt19937_64 rng(20261206);
  for (int i = 0; i < 1000000; ++i) {
    const uint64_t key = rng();
    ASSERT_EQ(JumpConsistentHash(key, 2), PaperJumpHash(key, 2)) << key;
  }
  // Around the boundary of the first step: (k >> 33) + 1 near 2^30, k = key * C + 1.
  const uint64_t inverse = [] {  // of C modulo 2^64 (Newton's iteration)
    uint64_t x = 2862933555777941757ULL;
    for (int i = 0; i < 6; ++i) x *= 2 - 2862933555777941757ULL * x;
    return x;
  }();
  for (uint64_t top : {(uint64_t{1} << 30) - 2, (uint64_t{1} << 30) - 1, uint64_t{1} << 30,
                       (uint64_t{1} << 30) + 1, (uint64_t{1} << 31) - 1}) {
    for (uint64_t low : {uint64_t{0}, uint64_t{1}, (uint64_t{1} << 33) - 1}) {
      const uint64_t k = (top << 33) | low;
      const uint64_t key = (k - 1) * inverse;
      ASSERT_EQ(key * 2862933555777941757ULL + 1, k);
      EXPECT_EQ(JumpConsistentHash(key, 2), PaperJumpHash(key, 2)) << key;
    }
  }
  for (uint32_t n : {1u, 3u, 5u, 16u, 100u}) {
    for (int i = 0; i < 10000; ++i) {
      const uint64_t key = rng();
      ASSERT_EQ(JumpConsistentHash(key, n), PaperJumpHash(key, static_cast<int32_t>(n)));
    }
  }
}

TEST(RouterTest, SpreadsKeysEvenlyAndMovesFewOnGrowth) {
  constexpr int kKeys = 100000;
  std::vector<int> counts(4);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    std::string key = "key:" + std::to_string(i);
    uint32_t s4 = ShardForKey(key, 4);
    ++counts[s4];
    if (ShardForKey(key, 5) != s4) ++moved;
  }
  for (int c : counts) EXPECT_NEAR(c, kKeys / 4, kKeys / 40);
  // Jump hash moves about 1/5 of the keys from 4 to 5 buckets, and only to the new one.
  EXPECT_NEAR(moved, kKeys / 5, kKeys / 40);
}

}  // namespace
}  // namespace beyondkv::shardlink
