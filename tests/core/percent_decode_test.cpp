// percent_decode: the one %XX decoder (URL queries, emulator paths and forms,
// redaction's secret names).
#include "rebound/core/percent_decode.hpp"

#include <gtest/gtest.h>

#include <string>

#include "rebound/core/redact.hpp"

namespace rebound {
namespace {

TEST(PercentDecode, DecodesEscapesInEitherCase) {
  EXPECT_EQ(percent_decode("a%20b"), "a b");
  EXPECT_EQ(percent_decode("%2f%2F"), "//");
  EXPECT_EQ(percent_decode("europe%2Dwest1"), "europe-west1");
  EXPECT_EQ(percent_decode("%41%42%43"), "ABC");
}

TEST(PercentDecode, DecodesEveryByteIncludingNulAndHighBytes) {
  EXPECT_EQ(percent_decode("x%00y"), std::string("x\0y", 3));
  EXPECT_EQ(percent_decode("%C3%A9"), "\xC3\xA9");  // é in UTF-8
  EXPECT_EQ(percent_decode("%ff"), "\xff");
}

TEST(PercentDecode, PlusIsLiteralInUrisAndASpaceInForms) {
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", PlusSign::space), "a b");
  EXPECT_EQ(percent_decode("a%2Bb", PlusSign::space), "a+b") << "an escaped plus stays a plus";
}

TEST(PercentDecode, KeepsMalformedEscapesLiterally) {
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("%zz%4g"), "%zz%4g");
  EXPECT_EQ(percent_decode("%%41"), "%A");
  EXPECT_EQ(percent_decode("ab%4"), "ab%4");
}

TEST(PercentDecode, EscapeAtTheVeryEndIsDecoded) { EXPECT_EQ(percent_decode("end%21"), "end!"); }

TEST(PercentDecode, EmptyAndPlainTextPassThrough) {
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("plain-text_1.2~"), "plain-text_1.2~");
}

TEST(PercentDecode, DecodedDigitsAreNotDecodedTwice) { EXPECT_EQ(percent_decode("%2541"), "%41"); }

// Redaction reads secret names through the same decoder.
TEST(PercentDecode, RedactionSeesEscapedSecretNames) {
  EXPECT_EQ(redact_url("http://h/x?client%5Fsecret=s&page=2"),
            "http://h/x?client%5Fsecret=***&page=2");
  EXPECT_EQ(redact_url("http://h/x?%74oken=t"), "http://h/x?%74oken=***");
}

}  // namespace
}  // namespace rebound
