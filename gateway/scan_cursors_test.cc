#include "gateway/scan_cursors.h"

#include <gtest/gtest.h>

namespace beyondkv::gateway {
namespace {

TEST(ScanCursorsTest, SavedCursorLeadsBackToItsKey) {
  ScanCursors cursors;
  uint64_t c = cursors.Save(3, "user:42");
  EXPECT_NE(c, 0u);
  EXPECT_EQ(cursors.Lookup(c, 3), "user:42");
  EXPECT_EQ(cursors.Lookup(c, 4), std::nullopt);  // another namespace
}

TEST(ScanCursorsTest, StaleAndForgedCursorsAreRefused) {
  ScanCursors cursors;
  uint64_t first = cursors.Save(0, "a");
  for (int i = 0; i < (1 << ScanCursors::kSlotBits); ++i) cursors.Save(0, "b");
  EXPECT_EQ(cursors.Lookup(first, 0), std::nullopt);  // its slot was reused
  EXPECT_EQ(cursors.Lookup(12345, 0), std::nullopt);
  EXPECT_EQ(cursors.Lookup(~0ull, 0), std::nullopt);
  uint64_t latest = cursors.Save(0, "c");
  EXPECT_EQ(cursors.Lookup(latest, 0), "c");
  EXPECT_EQ(cursors.Lookup(latest ^ (1ull << 20), 0), std::nullopt);
}

}  // namespace
}  // namespace beyondkv::gateway
