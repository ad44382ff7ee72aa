#include "common/bit_ops.h"

#include <gtest/gtest.h>

namespace beyondkv::bitops {
namespace {

TEST(BitOpsTest, Smoke) {
  std::string v = "foobar";
  EXPECT_EQ(*BitCount(&v, {}), 26);
}

}  // namespace
}  // namespace beyondkv::bitops
