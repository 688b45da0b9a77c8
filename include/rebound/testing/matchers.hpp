// GoogleTest matchers for rebound results: a failing assertion prints the
// whole classified error (Error::describe()), so tests need no
// `<< r.error().message` tail.
//
//   ASSERT_THAT(wh, IsOk());                                  // Result<T> or Status
//   ASSERT_THAT(writer.write(rows), IsOk());                  // anything with .status
//   EXPECT_THAT(r, HasErrorClass(ErrorClass::transient));     // failed, with that class
//
// Thread safety: matchers are immutable; use them from any thread.
#pragma once

#include <gmock/gmock.h>

#include <ostream>

#include "rebound/core/error.hpp"

namespace rebound::testing {
namespace detail {

// The result inside `arg`: itself, or its `.status` (warehouse::WriteOutcome).
template <class T>
const auto& result_of(const T& arg) {
  if constexpr (requires { arg.status.has_value(); }) {
    return arg.status;
  } else {
    return arg;
  }
}

}  // namespace detail

// Matches a Result<T>, Status or outcome that holds a value.
MATCHER(IsOk, negation ? "failed" : "succeeded") {
  const auto& result = detail::result_of(arg);
  if (result.has_value()) return true;
  *result_listener << "failed: " << result.error().describe();
  return false;
}

// Matches a failed result whose error has class `error_class`.
MATCHER_P(HasErrorClass, error_class,
          std::string(negation ? "is not an error of class " : "is an error of class ") +
              std::string(to_string(error_class))) {
  const auto& result = detail::result_of(arg);
  if (result.has_value()) {
    *result_listener << "succeeded";
    return false;
  }
  *result_listener << "error: " << result.error().describe();
  return result.error().error_class == error_class;
}

}  // namespace rebound::testing
