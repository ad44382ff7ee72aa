#include "engine/cache/s3fifo_cache.h"

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace beyondkv::engine {

// Reads what the public API does not show: which queue holds a key and its access counter.
class S3FifoCachePeer {
 public:
  // `key`'s access counter, or -1 if `key` is not cached.
  static int Frequency(const S3FifoCache& cache, std::string_view key) {
    const auto* entry = cache.index_.Find(key, cache_internal::HashKey(key));
    return entry == nullptr ? -1 : entry->freq;
  }
  static bool InMain(const S3FifoCache& cache, std::string_view key) {
    const auto* entry = cache.index_.Find(key, cache_internal::HashKey(key));
    return entry != nullptr && entry->queue == S3FifoCache::kMain;
  }
};

namespace {

using Peer = S3FifoCachePeer;

// Every entry of these tests costs kCharge, so the budgets below count entries.
constexpr uint64_t kCharge = 200;

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%02d", i);
  return buf;
}

// A value that makes `key`'s entry cost `charge`, starting with the key so that values differ.
std::string ValueFor(std::string_view key, uint64_t charge = kCharge) {
  std::string value(charge - key.size() - cache_internal::kEntryOverheadBytes, '.');
  value.replace(0, key.size(), key);
  return value;
}

bool Put(S3FifoCache& cache, const std::string& key, uint64_t revision = 1) {
  return cache.Insert(key, revision, ValueFor(key));
}

TEST(S3FifoCacheTest, GetReturnsWhatInsertCachedAndCountsHitsAndMisses) {
  S3FifoCache cache(10 * kCharge);
  EXPECT_EQ(cache.Get("k00", 1), nullptr);
  ASSERT_TRUE(Put(cache, "k00"));
  const std::string* value = cache.Get("k00", 1);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, ValueFor("k00"));
  EXPECT_NE(cache.Get("k00", 1), nullptr);
  EXPECT_EQ(cache.Get("k01", 1), nullptr);
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.bytes(), kCharge);
  EXPECT_EQ(cache.budget_bytes(), 10 * kCharge);
  EXPECT_EQ(cache.small_budget_bytes(), kCharge);
}

TEST(S3FifoCacheTest, ReplacingAValueReusesItsBufferUnlessItWouldBeMostlySlack) {
  S3FifoCache cache(100000);  // S: 10,000 bytes
  ASSERT_TRUE(cache.Insert("k", 1, std::string(1000, 'a')));
  const char* buffer = cache.Get("k", 1)->data();
  ASSERT_TRUE(cache.Insert("k", S3FifoCache::Hash("k"), 2, std::string(900, 'b')));
  const std::string* value = cache.Get("k", 2);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, std::string(900, 'b'));
  EXPECT_EQ(value->data(), buffer);  // no allocation
  ASSERT_TRUE(cache.Insert("k", 3, "tiny"));
  value = cache.Get("k", 3);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, "tiny");
  EXPECT_LT(value->capacity(), 100u);  // the 1000-byte buffer is freed, not kept uncharged
  EXPECT_EQ(cache.bytes(), 1 + 4 + cache_internal::kEntryOverheadBytes);
}

TEST(S3FifoCacheTest, FindAndHitSplitAGetAndHandlesLiveUntilAnEntryIsFreed) {
  S3FifoCache cache(10 * kCharge);
  ASSERT_TRUE(cache.Insert("a", 1, ValueFor("a", kCharge)));
  ASSERT_TRUE(cache.Insert("b", 1, ValueFor("b", kCharge)));
  const uint64_t version = cache.version();
  // Find counts nothing and sees only the revision asked for.
  EXPECT_EQ(cache.Find("a", S3FifoCache::Hash("a"), 2), nullptr);
  EXPECT_EQ(cache.Find("zz", S3FifoCache::Hash("zz"), 1), nullptr);
  S3FifoCache::Handle a = cache.Find("a", S3FifoCache::Hash("a"), 1);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(cache.hits() + cache.misses(), 0u);
  EXPECT_EQ(Peer::Frequency(cache, "a"), 0);
  // Hit is Get's hit.
  const std::string* value = cache.Hit(a, 1);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, ValueFor("a", kCharge));
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(Peer::Frequency(cache, "a"), 1);
  // Replacing a's value keeps the entry (and the handle); Hit sees the new revision.
  ASSERT_TRUE(cache.Insert("a", 2, ValueFor("a2", kCharge)));
  EXPECT_EQ(cache.version(), version);
  EXPECT_EQ(cache.Hit(a, 1), nullptr);
  EXPECT_EQ(cache.hits(), 1u);
  ASSERT_NE(cache.Hit(a, 2), nullptr);
  EXPECT_EQ(*cache.Hit(a, 2), ValueFor("a2", kCharge));
  // Freeing any entry changes the version: by Erase, by a stale Get, by eviction.
  cache.Erase("b");
  EXPECT_NE(cache.version(), version);
  const uint64_t after_erase = cache.version();
  EXPECT_EQ(cache.Get("a", 1), nullptr);  // stale: dropped
  EXPECT_NE(cache.version(), after_erase);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(cache, Key(i)));  // full: 10 entries
  ASSERT_EQ(cache.entries(), 10u);
  const uint64_t before_eviction = cache.version();
  ASSERT_TRUE(Put(cache, Key(10)));
  EXPECT_EQ(cache.entries(), 10u);
  EXPECT_NE(cache.version(), before_eviction);
}

TEST(S3FifoCacheTest, KeysAreArbitraryBytes) {
  S3FifoCache cache(10 * kCharge);
  const std::string with_nul("a\0b", 3);
  ASSERT_TRUE(cache.Insert(with_nul, 1, "x"));
  EXPECT_EQ(cache.Get(std::string("a\0c", 3), 1), nullptr);
  ASSERT_NE(cache.Get(with_nul, 1), nullptr);
  EXPECT_EQ(*cache.Get(with_nul, 1), "x");
  EXPECT_TRUE(cache.Insert("", 1, "empty key"));
  EXPECT_EQ(*cache.Get("", 1), "empty key");
}

TEST(S3FifoCacheTest, StaleRevisionIsAMissAndDropsTheEntry) {
  S3FifoCache cache(10 * kCharge);
  ASSERT_TRUE(Put(cache, "k00", /*revision=*/7));
  EXPECT_EQ(cache.Get("k00", 8), nullptr);
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_EQ(cache.Get("k00", 7), nullptr);  // dropped, not kept for the old revision
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.hits(), 0u);
}

TEST(S3FifoCacheTest, InsertReplacesValueAndRevisionOfACachedKeyKeepingItsCounter) {
  S3FifoCache cache(10 * kCharge);
  ASSERT_TRUE(Put(cache, "k00", 1));
  cache.Get("k00", 1);
  ASSERT_TRUE(cache.Insert("k00", 2, "short"));
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.bytes(), cache_internal::EntryCharge(3, 5));
  EXPECT_EQ(Peer::Frequency(cache, "k00"), 1);
  EXPECT_EQ(cache.Get("k00", 1), nullptr);  // stale now: dropped
  ASSERT_TRUE(cache.Insert("k00", 2, "short"));
  EXPECT_EQ(*cache.Get("k00", 2), "short");
}

// A write is not a read: a key written again keeps its place in its FIFO (and its counter),
// so the oldest entry is still the first evicted.
TEST(S3FifoCacheTest, AKeyWrittenAgainKeepsItsPlaceUnlessItsValueNeedsRoom) {
  S3FifoCache cache(20 * kCharge);  // S: 2 entries' worth
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put(cache, Key(i)));
  ASSERT_TRUE(Put(cache, Key(0), 2));  // same size: replaced in place, still the oldest
  EXPECT_EQ(*cache.Get(Key(0), 2), ValueFor(Key(0)));
  EXPECT_EQ(Peer::Frequency(cache, Key(0)), 1);
  cache.Get(Key(1), 1);
  cache.Get(Key(1), 1);
  ASSERT_TRUE(Put(cache, Key(20)));  // evicts S's tail: k00 (read only once)
  EXPECT_EQ(Peer::Frequency(cache, Key(0)), -1);
  ASSERT_TRUE(Put(cache, Key(21)));  // k01 (read twice) to M; k02 evicted
  EXPECT_TRUE(Peer::InMain(cache, Key(1)));
  EXPECT_EQ(Peer::Frequency(cache, Key(2)), -1);
  EXPECT_EQ(Peer::Frequency(cache, Key(3)), 0);
  // A larger value that needs room: the key re-enters its queue's front, never evicting
  // itself.
  ASSERT_TRUE(cache.Insert(Key(3), 2, ValueFor(Key(3), 2 * kCharge)));
  EXPECT_EQ(*cache.Get(Key(3), 2), ValueFor(Key(3), 2 * kCharge));
  EXPECT_LE(cache.bytes(), cache.budget_bytes());
  EXPECT_EQ(Peer::Frequency(cache, Key(4)), -1);  // the oldest of S made the room
  EXPECT_EQ(Peer::Frequency(cache, Key(5)), 0);
}

TEST(S3FifoCacheTest, OneHitWondersLeaveThroughSmallWithoutTouchingMain) {
  S3FifoCache cache(10 * kCharge);  // S: 1 entry's worth, M: 9
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(cache, Key(i)));
  // Before the cache is first full, S takes everything (paper, Algorithm 1, INSERT).
  EXPECT_EQ(cache.small_entries(), 10u);
  for (int i = 0; i < 5; ++i) {
    cache.Get(Key(i), 1);
    cache.Get(Key(i), 1);
  }
  ASSERT_TRUE(Put(cache, Key(10)));  // k00..k04 move to M, k05 is evicted to G
  EXPECT_EQ(cache.main_entries(), 5u);
  EXPECT_EQ(cache.small_entries(), 5u);

  for (int i = 0; i < 1000; ++i) {
    const std::string key = "x" + std::to_string(1000 + i);
    ASSERT_TRUE(Put(cache, key));
    ASSERT_EQ(cache.main_entries(), 5u) << key;
    ASSERT_LE(cache.bytes(), cache.budget_bytes());
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Peer::InMain(cache, Key(i)));
    EXPECT_NE(cache.Get(Key(i), 1), nullptr);
  }
  EXPECT_EQ(cache.small_entries(), 5u);
  // G holds as many keys as M's budget holds entries.
  EXPECT_EQ(cache.ghost_entries(), 9u);
}

TEST(S3FifoCacheTest, AKeyMovesToMainAfterTwoHitsInSmallNotOne) {
  S3FifoCache cache(10 * kCharge);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(cache, Key(i)));
  cache.Get(Key(0), 1);
  cache.Get(Key(1), 1);
  cache.Get(Key(1), 1);
  // Paper, Algorithm 1, EVICTS: "if t.freq > 1 then insert t to M", else to G.
  ASSERT_TRUE(Put(cache, Key(10)));
  EXPECT_EQ(Peer::Frequency(cache, Key(0)), -1);
  EXPECT_EQ(cache.ghost_entries(), 1u);
  ASSERT_TRUE(Put(cache, Key(11)));
  EXPECT_TRUE(Peer::InMain(cache, Key(1)));
  EXPECT_EQ(Peer::Frequency(cache, Key(1)), 0);  // cleared by the move (paper, sec. 4.1)
  EXPECT_EQ(Peer::Frequency(cache, Key(2)), -1);
}

TEST(S3FifoCacheTest, GhostHitEntersMain) {
  S3FifoCache cache(10 * kCharge);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(Put(cache, Key(i)));  // k00, k01 evicted to G
  EXPECT_EQ(cache.ghost_entries(), 2u);
  EXPECT_EQ(cache.main_entries(), 0u);
  ASSERT_TRUE(Put(cache, Key(0)));
  EXPECT_TRUE(Peer::InMain(cache, Key(0)));
  EXPECT_EQ(cache.main_entries(), 1u);
  // k01 stays in G; making room pushed k02 out of S into G.
  EXPECT_EQ(cache.ghost_entries(), 2u);
  ASSERT_TRUE(Put(cache, Key(50)));  // never seen: S
  EXPECT_FALSE(Peer::InMain(cache, Key(50)));
  EXPECT_EQ(cache.main_entries(), 1u);
}

TEST(S3FifoCacheTest, FrequencyIsCappedAtThree) {
  S3FifoCache cache(10 * kCharge);
  ASSERT_TRUE(Put(cache, Key(0)));
  EXPECT_EQ(Peer::Frequency(cache, Key(0)), 0);
  for (int i = 0; i < 10; ++i) ASSERT_NE(cache.Get(Key(0), 1), nullptr);
  EXPECT_EQ(Peer::Frequency(cache, Key(0)), 3);
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(Put(cache, Key(i)));  // k00 moves to M
  ASSERT_TRUE(Peer::InMain(cache, Key(0)));
  EXPECT_EQ(Peer::Frequency(cache, Key(0)), 0);
  for (int i = 0; i < 10; ++i) ASSERT_NE(cache.Get(Key(0), 1), nullptr);
  EXPECT_EQ(Peer::Frequency(cache, Key(0)), 3);
  EXPECT_EQ(cache.hits(), 20u);
}

TEST(S3FifoCacheTest, MainReinsertsAnEntryWithHitsAndDecrementsItsCounter) {
  // S gets 3.5 entries' worth, M 6.5: S is below its share when it holds 3 entries.
  S3FifoCache cache(10 * kCharge, 0.35);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(cache, Key(i)));
  for (int i = 0; i < 6; ++i) {
    cache.Get(Key(i), 1);
    cache.Get(Key(i), 1);
  }
  ASSERT_TRUE(Put(cache, Key(10)));  // k00..k05 move to M (k00 at its tail), k06 goes to G
  ASSERT_EQ(cache.main_entries(), 6u);
  for (int i = 0; i < 5; ++i) cache.Get(Key(0), 1);
  ASSERT_EQ(Peer::Frequency(cache, Key(0)), 3);
  ASSERT_TRUE(Put(cache, Key(6)));  // ghost hit: into M; k07 leaves S for G
  ASSERT_TRUE(Peer::InMain(cache, Key(6)));
  ASSERT_EQ(cache.small_entries(), 3u);

  // S is below its share, so room comes from M: its tail k00 was used, so it is reinserted
  // with one count less (lazy promotion) and the next, unused one, k01, is evicted.
  ASSERT_TRUE(Put(cache, Key(12)));
  EXPECT_TRUE(Peer::InMain(cache, Key(0)));
  EXPECT_EQ(Peer::Frequency(cache, Key(0)), 2);
  EXPECT_EQ(Peer::Frequency(cache, Key(1)), -1);
  EXPECT_EQ(cache.main_entries(), 6u);
  EXPECT_EQ(cache.ghost_entries(), 1u);  // k07 only: evictions from M do not feed G
}

TEST(S3FifoCacheTest, RefusesEntriesLargerThanTheSmallQueue) {
  S3FifoCache cache(10 * kCharge);  // S: exactly kCharge
  EXPECT_FALSE(cache.Insert("k00", 1, ValueFor("k00", kCharge + 1)));
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  ASSERT_TRUE(cache.Insert("k00", 1, ValueFor("k00", kCharge)));
  // Replacing a cached value by one too large drops the old one: it is stale.
  EXPECT_FALSE(cache.Insert("k00", 2, ValueFor("k00", kCharge + 1)));
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.Get("k00", 1), nullptr);

  S3FifoCache no_small(10 * kCharge, 0.0);
  EXPECT_FALSE(no_small.Insert("k00", 1, ""));
}

TEST(S3FifoCacheTest, EraseDropsTheEntryAndForgetsTheGhost) {
  S3FifoCache cache(10 * kCharge);
  for (int i = 0; i < 11; ++i) ASSERT_TRUE(Put(cache, Key(i)));  // k00 evicted to G
  cache.Erase(Key(5));
  EXPECT_EQ(cache.entries(), 9u);
  EXPECT_EQ(cache.bytes(), 9 * kCharge);
  EXPECT_EQ(cache.Get(Key(5), 1), nullptr);
  cache.Erase("never cached");
  EXPECT_EQ(cache.entries(), 9u);

  ASSERT_EQ(cache.ghost_entries(), 1u);
  cache.Erase(Key(0));
  EXPECT_EQ(cache.ghost_entries(), 0u);
  ASSERT_TRUE(Put(cache, Key(0)));
  EXPECT_FALSE(Peer::InMain(cache, Key(0)));
}

TEST(S3FifoCacheTest, BudgetIsNeverExceededAndNoStaleValueIsServed) {
  S3FifoCache cache(5000);
  std::map<std::string, std::pair<uint64_t, std::string>> latest;  // key -> revision, value
  std::mt19937_64 rng(1);
  uint64_t revision = 0;
  for (int op = 0; op < 20000; ++op) {
    const std::string key = Key(static_cast<int>(rng() % 60));
    const int kind = static_cast<int>(rng() % 10);
    if (kind < 4) {
      std::string value(rng() % 360, static_cast<char>('a' + rng() % 26));
      ++revision;
      const bool cached = cache.Insert(key, revision, value);
      EXPECT_EQ(cached, cache_internal::EntryCharge(key.size(), value.size()) <= 500);
      latest[key] = {revision, value};
    } else if (kind < 8) {
      auto it = latest.find(key);
      const uint64_t want = it == latest.end() ? 0 : it->second.first;
      if (const std::string* got = cache.Get(key, want)) {
        ASSERT_NE(it, latest.end());
        EXPECT_EQ(*got, it->second.second);
      }
    } else if (kind < 9) {
      // An older revision: never served.
      EXPECT_EQ(cache.Get(key, revision + 1), nullptr);
    } else {
      cache.Erase(key);
      latest.erase(key);
    }
    ASSERT_LE(cache.bytes(), cache.budget_bytes());
    ASSERT_EQ(cache.small_entries() + cache.main_entries(), cache.entries());
  }
  EXPECT_GT(cache.hits(), 0u);
  EXPECT_GT(cache.main_entries(), 0u);
}

}  // namespace
}  // namespace beyondkv::engine
