#include "engine/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace beyondkv::engine::crc32c {
namespace {

using ExtendFn = uint32_t (*)(uint32_t, const char*, size_t);

struct Impl {
  const char* name;
  ExtendFn extend;
};

class Crc32cTest : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    if (GetParam().extend == internal::ExtendHardware && !internal::HardwareAvailable()) {
      GTEST_SKIP() << "CPU lacks SSE4.2";
    }
  }
  uint32_t Crc(std::string_view s) { return GetParam().extend(0, s.data(), s.size()); }
};

// Vectors from RFC 3720 (iSCSI), appendix B.4, and the common "123456789" check value.
TEST_P(Crc32cTest, MatchesKnownVectors) {
  EXPECT_EQ(Crc(""), 0u);
  EXPECT_EQ(Crc("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Crc(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc(descending), 0x113FDB5Cu);
}

TEST_P(Crc32cTest, ExtendEqualsOneShotAtEverySplit) {
  std::string data;
  for (int i = 0; i < 100; ++i) data.push_back(static_cast<char>(i * 37 + 11));
  const uint32_t whole = Crc(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    uint32_t c = GetParam().extend(0, data.data(), split);
    c = GetParam().extend(c, data.data() + split, data.size() - split);
    EXPECT_EQ(c, whole) << "split at " << split;
  }
}

INSTANTIATE_TEST_SUITE_P(Implementations, Crc32cTest,
                         ::testing::Values(Impl{"Software", internal::ExtendSoftware},
                                           Impl{"Hardware", internal::ExtendHardware}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Crc32cDispatchTest, PublicFunctionAgreesWithSoftwareOnUnalignedInput) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  for (size_t start = 0; start < 9; ++start) {
    std::string_view s(data.data() + start, data.size() - start);
    EXPECT_EQ(Value(s), internal::ExtendSoftware(0, s.data(), s.size()));
  }
}

}  // namespace
}  // namespace beyondkv::engine::crc32c
