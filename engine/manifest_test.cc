#include "engine/manifest.h"

#include "engine/test_util.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

// The example of engine/FORMAT.md.
TEST(ManifestTest, EncodingMatchesGoldenText) {
  EXPECT_EQ(EncodeManifest({1, 3, 8}),
            "beyond-kv shard manifest\n"
            "format_version 1\n"
            "shard_id 3\n"
            "shard_count 8\n"
            "crc32c fbf68cfb\n");
}

TEST(ManifestTest, RoundTrips) {
  absl::StatusOr<Manifest> m = DecodeManifest(EncodeManifest({1, 200, 256}));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->format_version, 1u);
  EXPECT_EQ(m->shard_id, 200u);
  EXPECT_EQ(m->shard_count, 256u);
}

TEST(ManifestTest, AnyEditedByteIsDataLoss) {
  const std::string text = EncodeManifest({1, 3, 8});
  for (size_t i = 0; i < text.size(); ++i) {
    std::string damaged = text;
    damaged[i] = damaged[i] == '7' ? '6' : '7';
    EXPECT_TRUE(absl::IsDataLoss(DecodeManifest(damaged).status())) << "byte " << i;
  }
  EXPECT_TRUE(absl::IsDataLoss(DecodeManifest("").status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeManifest(text.substr(0, text.size() - 1)).status()));
}

TEST(ManifestTest, ReadsWhatItWroteAndReportsAbsence) {
  testing::TempDir dir;
  absl::StatusOr<std::optional<Manifest>> none = ReadManifest(Env::Default(), dir.path());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(WriteManifest(Env::Default(), dir.path(), {1, 2, 4}).ok());
  absl::StatusOr<std::optional<Manifest>> read = ReadManifest(Env::Default(), dir.path());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->shard_id, 2u);
  EXPECT_EQ((*read)->shard_count, 4u);
}

}  // namespace
}  // namespace beyondkv::engine
