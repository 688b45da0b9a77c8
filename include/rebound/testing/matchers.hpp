// GoogleTest matchers for rebound results: a failing assertion prints the
// whole classified error (Error::describe()), so tests need no
// `<< r.error().message` tail.
//
//   ASSERT_THAT(wh, IsOk());                                  // Result<T> or Status
//   ASSERT_THAT(writer.write(rows), IsOk());                  // .status or .value inside
//   EXPECT_THAT(r, HasErrorClass(ErrorClass::transient));     // failed, with that class
//   EXPECT_THAT(r, HasErrorMessage(HasSubstr("column 3")));   // failed, message matches
//   EXPECT_THAT(r, HasErrorMessage("exact text"));            // failed, message equal
//   EXPECT_THAT(r, HasErrorCode("42P01"));                    // failed, back-end code
//
// `using namespace rebound::testing::result_matchers;` brings in these four
// and the gmock matchers they take (HasSubstr, Not, AnyOf, AllOf, ...).
//
// A failure reads, for example:
//   Value of: r
//   Expected: succeeded
//     Actual: an error, which failed with transient [http 503]: GET /x: HTTP 503
//
// Thread safety: matchers are immutable; use them from any thread.
#pragma once

#include <gmock/gmock.h>

#include <expected>
#include <ostream>
#include <string>
#include <type_traits>

#include "rebound/core/error.hpp"

namespace rebound {

// How gtest prints an Error and a Result<T>/Status in a failed assertion
// (found by argument-dependent lookup): the description instead of raw bytes.
inline void PrintTo(const Error& error, std::ostream* os) { *os << error.describe(); }

template <class T>
void PrintTo(const std::expected<T, Error>& result, std::ostream* os) {
  if (!result.has_value()) {
    *os << "an error";
  } else if constexpr (std::is_void_v<T>) {
    *os << "ok";
  } else {
    *os << "value " << ::testing::PrintToString(*result);
  }
}

namespace testing {
namespace detail {

// The result inside `arg`: itself, its `.status` (warehouse::WriteOutcome)
// or its `.value` (retry::RetryOutcome).
template <class T>
const auto& result_of(const T& arg) {
  if constexpr (requires { arg.has_value(); }) {
    return arg;
  } else if constexpr (requires { arg.status.has_value(); }) {
    return arg.status;
  } else {
    return arg.value;
  }
}

// Says how `result` ended; true when it failed (then the error is printed).
template <class R>
bool explain_failed(const R& result, ::testing::MatchResultListener* listener) {
  if (result.has_value()) {
    *listener << "which succeeded";
    return false;
  }
  *listener << "which failed with " << result.error().describe();
  return true;
}

}  // namespace detail

// Matches a Result<T>, Status or outcome that holds a value.
MATCHER(IsOk, negation ? "failed" : "succeeded") {
  return !detail::explain_failed(detail::result_of(arg), result_listener);
}

// Matches a failed result whose error has class `error_class`.
MATCHER_P(HasErrorClass, error_class,
          std::string(negation ? "is not an error of class " : "is an error of class ") +
              std::string(to_string(error_class))) {
  const auto& result = detail::result_of(arg);
  return detail::explain_failed(result, result_listener) &&
         result.error().error_class == error_class;
}

// Matches a failed result whose error message matches `message_matcher`: a
// gmock string matcher (HasSubstr, Not(HasSubstr(...)), StartsWith, ...) or a
// string that the message must equal.
MATCHER_P(HasErrorMessage, message_matcher,
          std::string(negation ? "is not an error whose message " : "is an error whose message ") +
              ::testing::DescribeMatcher<const std::string&>(message_matcher)) {
  const auto& result = detail::result_of(arg);
  return detail::explain_failed(result, result_listener) &&
         ::testing::MatcherCast<const std::string&>(message_matcher)
             .Matches(result.error().message);
}

// Matches a failed result whose back-end code (SQLSTATE, HTTP status, ...)
// matches `code_matcher` (a string matcher or a string it must equal).
MATCHER_P(HasErrorCode, code_matcher,
          std::string(negation ? "is not an error whose code " : "is an error whose code ") +
              ::testing::DescribeMatcher<const std::string&>(code_matcher)) {
  const auto& result = detail::result_of(arg);
  return detail::explain_failed(result, result_listener) &&
         ::testing::MatcherCast<const std::string&>(code_matcher).Matches(result.error().code);
}

// The matchers above and the gmock matchers they take, for one
// `using namespace rebound::testing::result_matchers;` in a test file.
namespace result_matchers {
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::EndsWith;
using testing::HasErrorClass;
using testing::HasErrorCode;
using testing::HasErrorMessage;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using ::testing::StartsWith;
}  // namespace result_matchers

}  // namespace testing
}  // namespace rebound
