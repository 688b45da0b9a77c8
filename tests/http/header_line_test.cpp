// Header lines: response lines from servers and --header text from users.
// Regression tests for what the header-line fuzzer guards.
#include "rebound/http/header_line.hpp"

#include <gtest/gtest.h>

#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::http {
namespace {

TEST(HeaderLine, ParsesNameAndTrimmedValue) {
  auto h = parse_header_line("Retry-After:   120 \r\n");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->name, "Retry-After");
  EXPECT_EQ(h->value, "120");
  EXPECT_FALSE(parse_header_line("HTTP/1.1 200 OK\r\n"));
  EXPECT_FALSE(parse_header_line("\r\n"));
}

TEST(HeaderLine, IgnoresMalformedLinesInsteadOfHalfParsingThem) {
  EXPECT_FALSE(parse_header_line("no colon here\r\n"));
  EXPECT_FALSE(parse_header_line("Bad Name: v\r\n"));
  EXPECT_FALSE(parse_header_line(": empty name\r\n"));
  EXPECT_FALSE(parse_header_line(std::string_view("X: a\0b", 6)));
  EXPECT_FALSE(parse_header_line("X: a\rSet-Cookie: b\r\n"));
}

TEST(HeaderOption, AcceptsNameColonValue) {
  auto h = parse_header_option("X-Api-Key:  abc ");
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->first, "X-Api-Key");
  EXPECT_EQ(h->second, "abc");
}

TEST(HeaderOption, ErrorsNeverEchoTheArgument) {
  // A malformed --header was echoed raw, token included (defect 7).
  for (const char* bad :
       {"Authorization Bearer s3cr3t-token", "Bad Name s3cr3t: x", "s3cr3t-token"}) {
    auto h = parse_header_option(bad);
    ASSERT_FALSE(h) << bad;
    EXPECT_THAT(h, HasErrorMessage(Not(HasSubstr("s3cr3t"))));
  }
  auto injected = parse_header_option("X-A: ok\r\nX-B: s3cr3t");
  ASSERT_FALSE(injected);
  EXPECT_THAT(injected, HasErrorMessage(Not(HasSubstr("s3cr3t"))));
}

}  // namespace
}  // namespace rebound::http
