#include "gateway/http/list_pages.h"

#include <gtest/gtest.h>

namespace beyondkv::gateway::http {
namespace {

using Keys = std::vector<std::string>;

TEST(ListCursorTest, RoundTripsAnyKeyAndRefusesForgeries) {
  for (std::string key : {std::string(""), std::string("a"), std::string("\0\xff/?", 4)}) {
    absl::StatusOr<std::optional<std::string>> back = DecodeListCursor(EncodeListCursor(key));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(**back, key);
  }
  EXPECT_EQ(*DecodeListCursor(""), std::nullopt);
  EXPECT_EQ(*DecodeListCursor("0"), std::nullopt);
  for (const char* bad : {"1", "abc", "1.a+b", "2.YQ", "1.Y"}) {
    EXPECT_FALSE(DecodeListCursor(bad).ok()) << bad;
  }
}

TEST(MergeShardPagesTest, MergesInOrderAndStopsAtTheLimit) {
  MergedPage m = MergeShardPages({{{"b", "d", "f"}, false, "f"}, {{"a", "c", "e"}, false, "e"}}, 4);
  EXPECT_EQ(m.keys, (Keys{"a", "b", "c", "d"}));
  EXPECT_EQ(m.resume_after, "d");
}

TEST(MergeShardPagesTest, LastPageHasNoCursor) {
  MergedPage m = MergeShardPages({{{"b"}, false, "b"}, {{"a", "c"}, false, "c"}}, 3);
  EXPECT_EQ(m.keys, (Keys{"a", "b", "c"}));
  EXPECT_EQ(m.resume_after, std::nullopt);
}

TEST(MergeShardPagesTest, StopsWhereAShardWithMoreStoppedLooking) {
  // Shard 0 examined keys up to "c" and has more; shard 1's "d" and "e" may come after keys
  // of shard 0 not yet seen, so they wait for the next page.
  MergedPage m = MergeShardPages({{{"a"}, true, "c"}, {{"b", "d", "e"}, false, "e"}}, 10);
  EXPECT_EQ(m.keys, (Keys{"a", "b"}));
  EXPECT_EQ(m.resume_after, "b");

  // Nothing below the bound: an empty page that still moves the cursor forward.
  m = MergeShardPages({{{}, true, "m"}, {{"x"}, false, "x"}}, 10);
  EXPECT_TRUE(m.keys.empty());
  EXPECT_EQ(m.resume_after, "m");

  // Everything seen is below the bound and returned: resume at the bound.
  m = MergeShardPages({{{"a"}, true, "m"}, {{"b"}, false, "b"}}, 10);
  EXPECT_EQ(m.keys, (Keys{"a", "b"}));
  EXPECT_EQ(m.resume_after, "m");
}

}  // namespace
}  // namespace beyondkv::gateway::http
