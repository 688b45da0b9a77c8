// The result matchers (rebound/testing/matchers.hpp) pass and fail where they
// should, and a failure prints the whole classified error: a test that uses
// them loses nothing against the old `<< r.error().message` tails.
#include "rebound/testing/matchers.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <string>

namespace rebound::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

Result<int> value_42() { return 42; }
Status ok_status() { return {}; }
Result<int> http_503() {
  return fail(Error::make(ErrorClass::transient, "GET /x: HTTP 503 (3 attempts)", "http", "503"));
}
Status bad_column() { return fail(Error::permanent("line 2, column 3: not a number")); }

// What BatchWriter::write returns: the result sits in `.status`.
struct Outcome {
  Status status;
  int attempts = 0;
};
Outcome failed_outcome() {
  return {.status = fail(Error::transient("merge: server closed")), .attempts = 3};
}

// What retry() returns: the result sits in `.value`.
struct ValueOutcome {
  Result<int> value;
  int attempts = 0;
};
ValueOutcome gave_up() {
  return {.value = fail(Error::permanent("retry limit reached")), .attempts = 3};
}

TEST(IsOk, MatchesValuesAndOkStatusesAndOutcomes) {
  EXPECT_THAT(value_42(), IsOk());
  EXPECT_THAT(ok_status(), IsOk());
  EXPECT_THAT(Outcome{}, IsOk());
  EXPECT_THAT(http_503(), Not(IsOk()));
  EXPECT_THAT(failed_outcome(), Not(IsOk()));
  EXPECT_THAT(ValueOutcome{.value = 1}, IsOk());
  EXPECT_THAT(gave_up(), Not(IsOk()));
}

TEST(IsOk, AFailurePrintsTheWholeClassifiedError) {
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(http_503(), IsOk()),
                          "Expected: succeeded\n  Actual: an error, which failed with "
                          "transient [http 503]: GET /x: HTTP 503 (3 attempts)");
  EXPECT_FATAL_FAILURE(ASSERT_THAT(bad_column(), IsOk()),
                       "which failed with permanent [rebound]: line 2, column 3: not a number");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(failed_outcome(), IsOk()),
                          "which failed with transient [rebound]: merge: server closed");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(gave_up(), IsOk()),
                          "which failed with permanent [rebound]: retry limit reached");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(value_42(), Not(IsOk())),
                          "Expected: failed\n  Actual: value 42, which succeeded");
}

TEST(HasErrorClass, MatchesOnlyAFailureOfThatClass) {
  EXPECT_THAT(http_503(), HasErrorClass(ErrorClass::transient));
  EXPECT_THAT(failed_outcome(), HasErrorClass(ErrorClass::transient));
  EXPECT_THAT(http_503(), Not(HasErrorClass(ErrorClass::permanent)));
  EXPECT_THAT(value_42(), Not(HasErrorClass(ErrorClass::transient)));
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(http_503(), HasErrorClass(ErrorClass::permanent)),
                          "Expected: is an error of class permanent\n  Actual: an error, which "
                          "failed with transient [http 503]: GET /x: HTTP 503 (3 attempts)");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(ok_status(), HasErrorClass(ErrorClass::transient)),
                          "Actual: ok, which succeeded");
}

TEST(HasErrorMessage, TakesAStringMatcherOrTheExactText) {
  EXPECT_THAT(bad_column(), HasErrorMessage(HasSubstr("column 3")));
  EXPECT_THAT(bad_column(), HasErrorMessage("line 2, column 3: not a number"));
  EXPECT_THAT(bad_column(), HasErrorMessage(Not(HasSubstr("s3cr3t"))));
  EXPECT_THAT(failed_outcome(), HasErrorMessage(StartsWith("merge:")));
  EXPECT_THAT(gave_up(), HasErrorMessage("retry limit reached"));
  EXPECT_THAT(bad_column(), Not(HasErrorMessage("line 2")));
  // A success matches no message matcher, not even a negated one.
  EXPECT_THAT(value_42(), Not(HasErrorMessage(Not(HasSubstr("x")))));
}

TEST(HasErrorMessage, AFailureSaysWhatWasWantedAndPrintsTheError) {
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(bad_column(), HasErrorMessage(HasSubstr("column 4"))),
                          "Expected: is an error whose message has substring \"column 4\"\n"
                          "  Actual: an error, which failed with permanent [rebound]: line 2, "
                          "column 3: not a number");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(http_503(), HasErrorMessage(Not(HasSubstr("HTTP 503")))),
                          "message has no substring \"HTTP 503\"");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(bad_column(), HasErrorMessage("line 2")),
                          "Expected: is an error whose message is equal to \"line 2\"");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(value_42(), HasErrorMessage(HasSubstr("x"))),
                          "Actual: value 42, which succeeded");
}

TEST(HasErrorCode, MatchesTheBackEndCode) {
  EXPECT_THAT(http_503(), HasErrorCode("503"));
  EXPECT_THAT(bad_column(), HasErrorCode(""));
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(http_503(), HasErrorCode("429")),
                          "Expected: is an error whose code is equal to \"429\"\n  Actual: an "
                          "error, which failed with transient [http 503]");
}

TEST(PrintTo, AnErrorPrintsAsItsDescription) {
  EXPECT_EQ(::testing::PrintToString(http_503().error()),
            "transient [http 503]: GET /x: HTTP 503 (3 attempts)");
  EXPECT_EQ(::testing::PrintToString(http_503()), "an error");
  EXPECT_EQ(::testing::PrintToString(value_42()), "value 42");
  EXPECT_EQ(::testing::PrintToString(ok_status()), "ok");
}

}  // namespace
}  // namespace rebound::testing
