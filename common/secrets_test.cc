#include "common/secrets.h"

#include <string>

#include "gtest/gtest.h"

namespace beyondkv {
namespace {

TEST(SecretsTest, EqualOnlyWhenEveryByteAndTheLengthMatch) {
  EXPECT_TRUE(SecretEquals("s3cret", "s3cret"));
  EXPECT_TRUE(SecretEquals("", ""));
  EXPECT_FALSE(SecretEquals("s3cret", "s3creT"));
  EXPECT_FALSE(SecretEquals("s3cre", "s3cret"));   // a prefix is not enough
  EXPECT_FALSE(SecretEquals("s3cret!", "s3cret"));
  EXPECT_FALSE(SecretEquals(std::string("a\0b", 3), "a"));  // binary-safe
  EXPECT_TRUE(SecretEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
}

}  // namespace
}  // namespace beyondkv
