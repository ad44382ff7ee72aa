#include "engine/cache/lru_cache.h"

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

constexpr uint64_t kCharge = 200;  // of every entry below, so budgets count entries

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%02d", i);
  return buf;
}

std::string ValueFor(std::string_view key, uint64_t charge = kCharge) {
  std::string value(charge - key.size() - cache_internal::kEntryOverheadBytes, '.');
  value.replace(0, key.size(), key);
  return value;
}

bool Put(LruCache& cache, const std::string& key, uint64_t revision = 1) {
  return cache.Insert(key, revision, ValueFor(key));
}

TEST(LruCacheTest, GetReturnsWhatInsertCachedAndCountsHitsAndMisses) {
  LruCache cache(3 * kCharge);
  EXPECT_EQ(cache.Get("k00", 1), nullptr);
  ASSERT_TRUE(Put(cache, "k00"));
  ASSERT_NE(cache.Get("k00", 1), nullptr);
  EXPECT_EQ(*cache.Get("k00", 1), ValueFor("k00"));
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.bytes(), kCharge);
  EXPECT_EQ(cache.budget_bytes(), 3 * kCharge);
}

TEST(LruCacheTest, EvictsTheLeastRecentlyUsed) {
  LruCache cache(3 * kCharge);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Put(cache, Key(i)));
  ASSERT_NE(cache.Get(Key(0), 1), nullptr);  // k01 is now the least recently used
  ASSERT_TRUE(Put(cache, Key(3)));
  EXPECT_EQ(cache.entries(), 3u);
  EXPECT_EQ(cache.Get(Key(1), 1), nullptr);
  EXPECT_NE(cache.Get(Key(0), 1), nullptr);
  EXPECT_NE(cache.Get(Key(2), 1), nullptr);
  EXPECT_NE(cache.Get(Key(3), 1), nullptr);
}

TEST(LruCacheTest, StaleRevisionIsAMissAndDropsTheEntry) {
  LruCache cache(3 * kCharge);
  ASSERT_TRUE(Put(cache, "k00", 7));
  EXPECT_EQ(cache.Get("k00", 6), nullptr);
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.Get("k00", 7), nullptr);
  EXPECT_EQ(cache.misses(), 2u);
}

TEST(LruCacheTest, InsertReplacesACachedKey) {
  LruCache cache(3 * kCharge);
  ASSERT_TRUE(Put(cache, "k00", 1));
  ASSERT_TRUE(cache.Insert("k00", 2, "v2"));
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.bytes(), cache_internal::EntryCharge(3, 2));
  EXPECT_EQ(*cache.Get("k00", 2), "v2");
}

TEST(LruCacheTest, RefusesEntriesLargerThanTheBudget) {
  LruCache cache(kCharge);
  EXPECT_FALSE(cache.Insert("k00", 1, ValueFor("k00", kCharge + 1)));
  EXPECT_EQ(cache.entries(), 0u);
  ASSERT_TRUE(cache.Insert("k00", 1, ValueFor("k00", kCharge)));
  EXPECT_FALSE(cache.Insert("k00", 2, ValueFor("k00", kCharge + 1)));
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(LruCacheTest, EraseDropsTheEntry) {
  LruCache cache(3 * kCharge);
  ASSERT_TRUE(Put(cache, "k00"));
  ASSERT_TRUE(Put(cache, "k01"));
  cache.Erase("k00");
  cache.Erase("never cached");
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.bytes(), kCharge);
  EXPECT_EQ(cache.Get("k00", 1), nullptr);
  EXPECT_NE(cache.Get("k01", 1), nullptr);
}

TEST(LruCacheTest, BudgetIsNeverExceededAndNoStaleValueIsServed) {
  LruCache cache(5000);
  std::map<std::string, std::pair<uint64_t, std::string>> latest;
  std::mt19937_64 rng(2);
  uint64_t revision = 0;
  for (int op = 0; op < 20000; ++op) {
    const std::string key = Key(static_cast<int>(rng() % 60));
    const int kind = static_cast<int>(rng() % 10);
    if (kind < 4) {
      std::string value(rng() % 400, static_cast<char>('a' + rng() % 26));
      ++revision;
      ASSERT_TRUE(cache.Insert(key, revision, value));
      latest[key] = {revision, value};
    } else if (kind < 8) {
      auto it = latest.find(key);
      const uint64_t want = it == latest.end() ? 0 : it->second.first;
      if (const std::string* got = cache.Get(key, want)) {
        ASSERT_NE(it, latest.end());
        EXPECT_EQ(*got, it->second.second);
      }
    } else if (kind < 9) {
      EXPECT_EQ(cache.Get(key, revision + 1), nullptr);
    } else {
      cache.Erase(key);
      latest.erase(key);
    }
    ASSERT_LE(cache.bytes(), cache.budget_bytes());
  }
  EXPECT_GT(cache.hits(), 0u);
}

}  // namespace
}  // namespace beyondkv::engine
