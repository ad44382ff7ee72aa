#include "engine/key_index.h"

#include <string>

#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

IndexEntry EntryAt(uint64_t offset, uint64_t revision) {
  IndexEntry e;
  e.segment = 1;
  e.record_offset = offset;
  e.record_size = 50;
  e.revision = revision;
  return e;
}

TEST(KeyIndexTest, UpsertInsertsThenReplacesAndReturnsTheOldEntry) {
  KeyIndex index;
  EXPECT_EQ(index.Upsert("k", EntryAt(40, 1)), std::nullopt);
  std::optional<IndexEntry> old = index.Upsert("k", EntryAt(90, 2));
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->record_offset, 40u);
  ASSERT_NE(index.Find("k"), nullptr);
  EXPECT_EQ(index.Find("k")->revision, 2u);
  EXPECT_EQ(index.size(), 1u);
}

TEST(KeyIndexTest, EraseRemovesAndReportsWhatWasThere) {
  KeyIndex index;
  index.Upsert("a", EntryAt(40, 1));
  EXPECT_EQ(index.Erase("missing"), std::nullopt);
  std::optional<IndexEntry> old = index.Erase("a");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->revision, 1u);
  EXPECT_EQ(index.Find("a"), nullptr);
  EXPECT_EQ(index.size(), 0u);
}

TEST(KeyIndexTest, KeysAreBinarySafe) {
  KeyIndex index;
  const std::string with_nul("a\0b", 3);
  index.Upsert(with_nul, EntryAt(40, 1));
  index.Upsert("a", EntryAt(90, 2));
  EXPECT_EQ(index.Find(with_nul)->revision, 1u);
  EXPECT_EQ(index.Find("a")->revision, 2u);
  EXPECT_EQ(index.Find(std::string_view("a\0", 2)), nullptr);
  index.Upsert("", EntryAt(140, 3));  // the empty key is a valid Redis key
  EXPECT_EQ(index.Find("")->revision, 3u);
}

TEST(KeyIndexTest, LiveAtTreatsZeroAsNoExpiry) {
  IndexEntry e;
  EXPECT_TRUE(e.LiveAt(1'000'000));
  e.expire_at_ms = 1000;
  EXPECT_TRUE(e.LiveAt(999));
  EXPECT_FALSE(e.LiveAt(1000));
}

TEST(KeyIndexTest, TotalsFollowEveryMutation) {
  KeyIndex index;
  IndexEntry a = EntryAt(40, 1);  // segment 1, 50 bytes
  a.expire_at_ms = 5000;
  index.Upsert("a", a);
  IndexEntry b = EntryAt(90, 2);
  b.segment = 2;
  b.record_size = 70;
  index.Upsert("a-key-longer-than-fifteen-bytes", b);
  EXPECT_EQ(index.expires(), 1u);
  EXPECT_EQ(index.live_bytes(), 120u);
  EXPECT_EQ(index.SegmentLiveBytes(1), 50u);
  EXPECT_EQ(index.SegmentLiveBytes(2), 70u);
  const uint64_t memory = index.EstimatedMemoryBytes();
  EXPECT_GE(memory, 2 * sizeof(KeyIndex::value_type) + 32);

  index.Upsert("a", EntryAt(140, 3));  // moves to segment 1's other record, no expiry
  EXPECT_EQ(index.expires(), 0u);
  EXPECT_EQ(index.SegmentLiveBytes(1), 50u);
  index.Erase("a-key-longer-than-fifteen-bytes");
  EXPECT_EQ(index.SegmentLiveBytes(2), 0u);
  EXPECT_EQ(index.live_bytes(), 50u);
  EXPECT_LT(index.EstimatedMemoryBytes(), memory);

  index.Upsert("b", b);
  index.Clear();
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.live_bytes(), 0u);
  EXPECT_EQ(index.SegmentLiveBytes(1), 0u);
}

TEST(KeyIndexTest, OrderedWalkAndEraseByIterator) {
  KeyIndex index;
  for (const char* key : {"b", "a", "d", "c"}) index.Upsert(key, EntryAt(40, 1));
  EXPECT_EQ(index.LowerBound("b")->first, "b");
  EXPECT_EQ(index.UpperBound("b")->first, "c");
  EXPECT_EQ(index.LowerBound("e"), index.end());
  auto it = index.Erase(index.LowerBound("b"));
  EXPECT_EQ(it->first, "c");
  std::string walked;
  for (auto i = index.begin(); i != index.end(); ++i) walked += i->first;
  EXPECT_EQ(walked, "acd");
  EXPECT_EQ(index.live_bytes(), 150u);
}

// Point lookups (the hash map) and the ordered set agree through inserts, replacements and
// erases, interleaved with lookups.
TEST(KeyIndexTest, LookupsAndOrderFollowEveryMutation) {
  KeyIndex index;
  for (int i = 0; i < 2000; i += 2) index.Upsert("key:" + std::to_string(100000 + i), EntryAt(10, i + 1));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 2000; ++i) {
      const std::string key = "key:" + std::to_string(100000 + i);
      const IndexEntry* found = index.Find(key);
      if (i % 2 == 0) {
        ASSERT_NE(found, nullptr) << key;
        EXPECT_EQ(found->revision, static_cast<uint64_t>(i + 1)) << key;
      } else {
        EXPECT_EQ(found, nullptr) << key;
      }
    }
  }
  // Inserting every odd key moves entries between nodes; lookups must see where they went.
  for (int i = 1; i < 2000; i += 2) {
    index.Upsert("key:" + std::to_string(100000 + i), EntryAt(10, i + 1));
    const IndexEntry* neighbour = index.Find("key:" + std::to_string(100000 + i - 1));
    ASSERT_NE(neighbour, nullptr);
    EXPECT_EQ(neighbour->revision, static_cast<uint64_t>(i));
  }
  for (int i = 0; i < 2000; i += 3) index.Erase("key:" + std::to_string(100000 + i));
  for (int i = 0; i < 2000; ++i) {
    const IndexEntry* found = index.Find("key:" + std::to_string(100000 + i));
    if (i % 3 == 0) {
      EXPECT_EQ(found, nullptr);
    } else {
      ASSERT_NE(found, nullptr);
      EXPECT_EQ(found->revision, static_cast<uint64_t>(i + 1));
    }
  }
  EXPECT_NE(index.Find("key:100001"), nullptr);
  // The ordered walk holds exactly the keys left, sorted.
  std::string previous;
  size_t walked = 0;
  for (auto it = index.begin(); it != index.end(); ++it, ++walked) {
    EXPECT_LT(previous, it->first);
    EXPECT_EQ(index.Find(it->first), &it->second);
    previous = it->first;
  }
  EXPECT_EQ(walked, index.size());
  EXPECT_EQ(index.size(), 2000u - 667u);
}


TEST(KeyIndexTest, PrefetchStagesChangeNothingAndFindTakesTheHash) {
  KeyIndex index;
  const std::string long_key(40, 'x');  // stored outside std::string's inline buffer
  index.Upsert(long_key, EntryAt(10, 1));
  index.Upsert("short", EntryAt(20, 2));
  for (const std::string& key : {long_key, std::string("short"), std::string("absent")}) {
    const size_t hash = index.Hash(key);
    EXPECT_EQ(hash, index.Hash(key));
    index.PrefetchProbe(hash);
    index.PrefetchSlot(hash);
    index.PrefetchNode(hash);
    index.PrefetchKeyBytes(hash);
    EXPECT_EQ(index.Find(key, hash), index.Find(key));
  }
  EXPECT_EQ(index.Find(long_key)->revision, 1u);
  EXPECT_EQ(index.Find("short")->revision, 2u);
  EXPECT_EQ(index.Find("absent"), nullptr);
  EXPECT_EQ(index.size(), 2u);
}

TEST(KeyIndexTest, HashesAreSeededPerIndex) {
  // Keys that collide in one index need not collide in another: the seeds differ.
  KeyIndex a;
  KeyIndex b;
  int same = 0;
  for (int i = 0; i < 64; ++i) same += a.Hash(std::to_string(i)) == b.Hash(std::to_string(i));
  EXPECT_LT(same, 64);
}

TEST(KeyIndexTest, VersionChangesWhenKeysComeOrGoNotWhenAnEntryIsReplaced) {
  KeyIndex index;
  uint64_t v = index.version();
  index.Upsert("a", EntryAt(10, 1));
  EXPECT_NE(index.version(), v);
  v = index.version();
  const IndexEntry* a = index.Find("a");
  index.Upsert("a", EntryAt(20, 2));  // in place: the pointer reads the new entry
  EXPECT_EQ(index.version(), v);
  EXPECT_EQ(a, index.Find("a"));
  EXPECT_EQ(a->revision, 2u);
  index.Upsert("b", EntryAt(30, 3));
  EXPECT_NE(index.version(), v);
  v = index.version();
  EXPECT_EQ(index.Erase("absent"), std::nullopt);
  EXPECT_EQ(index.version(), v);
  index.Erase("b");
  EXPECT_NE(index.version(), v);
  v = index.version();
  index.Erase(index.begin());
  EXPECT_NE(index.version(), v);
  v = index.version();
  index.Clear();
  EXPECT_NE(index.version(), v);
  // A move leaves both indexes past any version either had.
  KeyIndex other;
  other.Upsert("c", EntryAt(40, 4));
  const uint64_t mine = index.version(), theirs = other.version();
  index = std::move(other);
  EXPECT_GT(index.version(), std::max(mine, theirs));
  EXPECT_GT(other.version(), std::max(mine, theirs));
  const uint64_t before = index.version();
  KeyIndex moved(std::move(index));
  EXPECT_NE(index.version(), before);  // NOLINT(bugprone-use-after-move)
}

TEST(KeyIndexTest, UpsertWithTheHashAndReplaceAgreeWithUpsert) {
  KeyIndex index;
  IndexEntry a = EntryAt(40, 1);
  a.expire_at_ms = 5000;
  EXPECT_EQ(index.Upsert("a", index.Hash("a"), a), std::nullopt);
  EXPECT_EQ(index.Upsert("a-key-longer-than-fifteen-bytes",
                         index.Hash("a-key-longer-than-fifteen-bytes"), EntryAt(90, 2)),
            std::nullopt);
  const uint64_t version = index.version();
  const IndexEntry* at = index.Find("a");
  IndexEntry b = EntryAt(140, 3);
  b.segment = 2;
  b.record_size = 70;
  const IndexEntry old = index.Replace(at, "a", b);
  EXPECT_EQ(old, a);
  EXPECT_EQ(index.Find("a"), at);  // in place
  EXPECT_EQ(*at, b);
  EXPECT_EQ(index.version(), version);
  // The totals follow as with Upsert.
  EXPECT_EQ(index.expires(), 0u);
  EXPECT_EQ(index.live_bytes(), 120u);
  EXPECT_EQ(index.SegmentLiveBytes(1), 50u);
  EXPECT_EQ(index.SegmentLiveBytes(2), 70u);
  EXPECT_EQ(index.size(), 2u);
}

TEST(KeyIndexTest, TheHashSeedChangesOnlyWhenTheIndexIsMoved) {
  KeyIndex index;
  const uint64_t seed = index.hash_seed();
  const size_t hash = index.Hash("k");
  index.Upsert("k", EntryAt(1, 1));
  index.Erase("k");
  index.Clear();
  EXPECT_EQ(index.hash_seed(), seed);
  EXPECT_EQ(index.Hash("k"), hash);
  KeyIndex other;
  index = std::move(other);
  EXPECT_NE(index.hash_seed(), seed);
  KeyIndex moved(std::move(index));
  EXPECT_NE(index.hash_seed(), moved.hash_seed());  // NOLINT(bugprone-use-after-move)
}

TEST(KeyIndexTest, MovesCarryEntriesAndLeaveTheSourceEmpty) {
  KeyIndex a;
  for (int i = 0; i < 100; ++i) a.Upsert("key:" + std::to_string(100000 + i), EntryAt(i, i + 1));
  KeyIndex b(std::move(a));
  EXPECT_EQ(b.size(), 100u);
  EXPECT_EQ(b.Find("key:100042")->revision, 43u);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty and usable
  EXPECT_EQ(a.begin(), a.end());
  a.Upsert("again", EntryAt(1, 7));
  EXPECT_EQ(a.Find("again")->revision, 7u);

  KeyIndex c;
  c.Upsert("replaced", EntryAt(1, 1));
  c = std::move(b);  // c's own entry is freed (ASan would report a leak otherwise)
  EXPECT_EQ(c.Find("replaced"), nullptr);
  EXPECT_EQ(c.size(), 100u);
  EXPECT_EQ(c.live_bytes(), 100u * 50u);
  size_t walked = 0;
  for (auto it = c.begin(); it != c.end(); ++it) ++walked;
  EXPECT_EQ(walked, 100u);
}

}  // namespace
}  // namespace beyondkv::engine
