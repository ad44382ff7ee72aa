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

}  // namespace
}  // namespace beyondkv::engine
