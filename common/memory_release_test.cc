#include "common/memory_release.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace beyondkv {
namespace {

TEST(MemoryRelease, TrimsOnlyAboveTheThreshold) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer replaces malloc: glibc's arena and malloc_trim are not in use";
#endif
  EXPECT_FALSE(MaybeReleaseFreeMemory(size_t{1} << 40));
  {
    // Many small blocks (they come from the arena, not from mmap), then freed.
    std::vector<std::unique_ptr<std::string>> blocks;
    for (int i = 0; i < 200000; ++i) blocks.push_back(std::make_unique<std::string>(100, 'x'));
  }
  EXPECT_GT(AllocatorFreeBytes(), size_t{8} << 20);
  EXPECT_TRUE(MaybeReleaseFreeMemory(size_t{8} << 20));
}

}  // namespace
}  // namespace beyondkv
