// base64url: the one encoder/decoder (JWT signing in the BigQuery back end,
// JWT checks in the BigQuery emulator).
#include "rebound/core/base64url.hpp"

#include <gtest/gtest.h>

#include <string>

#include "rebound/testing/matchers.hpp"

namespace rebound {
namespace {

using rebound::testing::IsOk;

TEST(Base64url, EncodesRfc4648TestVectorsWithoutPadding) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foob"), "Zm9vYg");
  EXPECT_EQ(base64url("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url("foobar"), "Zm9vYmFy");
}

TEST(Base64url, UsesTheUrlSafeAlphabet) {
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url("\xfb\xef\xbe"), "----");
  EXPECT_EQ(base64url("\xff\xff\xff"), "____");
}

TEST(Base64url, DecodesWhatItEncodesForEveryByteAndLength) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  for (std::size_t n = 0; n <= all.size(); n += 1 + n / 8) {
    const std::string bytes = all.substr(0, n);
    auto decoded = base64url_decode(base64url(bytes));
    ASSERT_THAT(decoded, IsOk());
    EXPECT_EQ(*decoded, bytes) << "length " << n;
  }
}

TEST(Base64url, DecodingToleratesPaddingAndTheStandardAlphabet) {
  EXPECT_EQ(base64url_decode("Zm8=").value(), "fo");
  EXPECT_EQ(base64url_decode("Zg==").value(), "f");
  EXPECT_EQ(base64url_decode("+/8").value(), "\xfb\xff");
}

TEST(Base64url, RejectsCharactersOutsideTheAlphabetWithoutQuotingThem) {
  auto spaced = base64url_decode("a b");
  ASSERT_FALSE(spaced);
  EXPECT_EQ(spaced.error().error_class, ErrorClass::permanent);
  auto secret = base64url_decode("hunter2!secret");
  ASSERT_FALSE(secret);
  EXPECT_EQ(secret.error().message.find("hunter2"), std::string::npos) << secret.error().message;
  EXPECT_FALSE(base64url_decode("ab.cd")) << "a JWT's dot is not part of a segment";
}

}  // namespace
}  // namespace rebound
