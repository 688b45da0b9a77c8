// The header list and the one header-line parser: response lines from
// servers and --header text from users, under one set of rules.
// Regression tests for what the header-line fuzzer guards.
#include "rebound/core/headers.hpp"

#include <gtest/gtest.h>

#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound {
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

TEST(HeaderLine, SameRulesForServerLinesAndUserOptions) {
  // One parser: what a server line and a --header accept agree.
  for (const char* text : {"X-A: v", "X-A:v", "X-A:\t v \t", "X-A:"}) {
    auto line = parse_header_line(text);
    auto option = parse_header_option(text);
    ASSERT_TRUE(line) << text;
    ASSERT_TRUE(option) << text;
    EXPECT_EQ(line->name, option->first) << text;
    EXPECT_EQ(line->value, option->second) << text;
  }
  for (const char* text : {"Bad Name: v", ": v", "X-A: a\rb"}) {
    EXPECT_FALSE(parse_header_line(text)) << text;
    EXPECT_FALSE(parse_header_option(text)) << text;
  }
}

TEST(Headers, FindHeaderIgnoresCaseAndTakesTheFirst) {
  const Headers h = {{"Content-Type", "a"}, {"content-type", "b"}};
  EXPECT_EQ(find_header(h, "CONTENT-TYPE"), "a");
  EXPECT_FALSE(find_header(h, "Content-Length"));
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
}  // namespace rebound
