#include "rebound/retry/retry_loop.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

Error conflict() {
  return Error::make(ErrorClass::serialization_conflict, "could not serialize access", "postgresql",
                     "40001");
}

// A callable that fails with the scripted errors, then succeeds with 42.
struct Script {
  std::vector<Error> failures;
  int calls = 0;
  Result<int> operator()() {
    if (calls < static_cast<int>(failures.size())) return fail(failures[calls++]);
    ++calls;
    return 42;
  }
};

RetryPolicy exponential_policy() {
  return RetryPolicy{.rules = {ClassRule{.classes = {ErrorClass::serialization_conflict},
                                         .initial = 100ms,
                                         .maximum = 1s,
                                         .multiplier = 2,
                                         .backoff = BackoffKind::exponential,
                                         .max_attempts = 10}},
                     .deadline = 60s};
}

TEST(RetryLoop, SuccessOnFirstAttemptNeverSleeps) {
  FakeClock clock;
  auto out = retry(exponential_policy(), [] { return Result<int>{7}; },
                   {.clock = &clock, .sleeper = &clock});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out.value, 7);
  EXPECT_EQ(out.report.attempts, 1);
  EXPECT_TRUE(clock.sleeps().empty());
  EXPECT_EQ(out.report.gave_up, GiveUpReason::none);
}

TEST(RetryLoop, RetriesConflictsOnTheExactSchedule) {
  FakeClock clock;
  Script script{.failures = {conflict(), conflict(), conflict()}};
  auto out = retry(exponential_policy(), std::ref(script), {.clock = &clock, .sleeper = &clock});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out.value, 42);
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{100ms, 200ms, 400ms}));
  EXPECT_EQ(out.report.attempts, 4);
  EXPECT_EQ(out.report.failures_of(ErrorClass::serialization_conflict), 3);
  EXPECT_EQ(out.report.slept, 700ms);
}

TEST(RetryLoop, SameSeedSameJitteredSleeps) {
  RetryPolicy p = exponential_policy();
  p.rules[0].backoff = BackoffKind::decorrelated_jitter;
  auto run = [&](std::uint64_t seed) {
    FakeClock clock;
    Script script{.failures = std::vector<Error>(5, conflict())};
    auto out = retry(p, std::ref(script), {.clock = &clock, .sleeper = &clock, .seed = seed});
    EXPECT_TRUE(out);
    return clock.sleeps();
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(RetryLoop, NonRetriableSurfacesAtOnceWithItsOriginalMessage) {
  for (ErrorClass c : {ErrorClass::non_retriable, ErrorClass::permanent}) {
    FakeClock clock;
    const Error original = Error::make(
        c, "UPDATE or DELETE statement over table t would affect rows in the streaming buffer",
        "bigquery", "invalidQuery");
    Script script{.failures = {original}};
    RetryPolicy p = policies::compose(policies::quota(), policies::serialization());
    auto out =
        retry(p, std::ref(script), {.operation = "merging", .clock = &clock, .sleeper = &clock});
    ASSERT_FALSE(out);
    EXPECT_EQ(script.calls, 1);
    EXPECT_THAT(out, HasErrorMessage(original.message));
    EXPECT_EQ(out.error().error_class, c);
    EXPECT_EQ(out.report.gave_up, GiveUpReason::not_retriable);
    EXPECT_TRUE(clock.sleeps().empty());
  }
}

TEST(RetryLoop, ClassesThePolicyDoesNotNameAreNotRetried) {
  FakeClock clock;
  Script script{.failures = {Error::make(ErrorClass::quota_exceeded, "quota")}};
  auto out =
      retry(policies::serialization(), std::ref(script), {.clock = &clock, .sleeper = &clock});
  ASSERT_FALSE(out);
  EXPECT_EQ(script.calls, 1);
}

TEST(RetryLoop, GivesUpAtTheClassLimitAndSaysWhy) {
  FakeClock clock;
  RetryPolicy p = exponential_policy();
  p.rules[0].max_attempts = 3;
  Script script{.failures = std::vector<Error>(10, conflict())};
  auto out = retry(p, std::ref(script),
                   {.operation = "merging into stats.box", .clock = &clock, .sleeper = &clock});
  ASSERT_FALSE(out);
  EXPECT_EQ(script.calls, 3);
  EXPECT_EQ(out.report.gave_up, GiveUpReason::class_limit);
  EXPECT_EQ(out.error().error_class, ErrorClass::serialization_conflict);
  EXPECT_EQ(out.error().code, "40001");
  EXPECT_THAT(
      out, HasErrorMessage(
               "retry limit for serialization_conflict (3 failures) reached after 3 attempts "
               "(serialization_conflict x3) merging into stats.box: could not serialize access"));
}

TEST(RetryLoop, OverallAttemptCapStopsTheLoop) {
  FakeClock clock;
  RetryPolicy p = exponential_policy();
  p.max_attempts = 2;
  Script script{.failures = std::vector<Error>(10, conflict())};
  auto out = retry(p, std::ref(script), {.clock = &clock, .sleeper = &clock});
  ASSERT_FALSE(out);
  EXPECT_EQ(script.calls, 2);
  EXPECT_EQ(out.report.gave_up, GiveUpReason::attempt_limit);
}

TEST(RetryLoop, DeadlineIsHonouredOnTheInjectedClock) {
  FakeClock clock;
  RetryPolicy p = exponential_policy();
  p.rules[0].max_attempts = 0;  // deadline only
  p.deadline = 2s;
  int calls = 0;
  auto out = retry(p,
                   [&]() -> Result<int> {
                     ++calls;
                     clock.advance(150ms);  // each attempt takes time too
                     return fail(conflict());
                   },
                   {.clock = &clock, .sleeper = &clock});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.report.gave_up, GiveUpReason::deadline);
  // work 150, sleep 100, work 150, sleep 200, work 150, sleep 400, work 150 -> t = 1300;
  // the next sleep (800 ms) would end at 2100 > 2000: 4 attempts and 3 sleeps.
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{100ms, 200ms, 400ms}));
  EXPECT_LT(out.report.elapsed, p.deadline);
  EXPECT_THAT(out, HasErrorMessage(HasSubstr("retry deadline (2000 ms) reached after 4 attempts")));
}

TEST(RetryLoop, RetryAfterHintOverridesTheScheduleWithJitterAbove) {
  FakeClock clock;
  Error limited = Error::make(ErrorClass::rate_limited, "slow down", "http", "429");
  limited.retry_after = 7s;
  Script script{.failures = {limited}};
  auto out = retry(policies::quota(), std::ref(script), {.clock = &clock, .sleeper = &clock});
  ASSERT_TRUE(out);
  ASSERT_EQ(clock.sleeps().size(), 1u);   // not the 5-15 s quota schedule:
  EXPECT_GE(clock.sleeps()[0], 7s);       // never sooner than the server asked,
  EXPECT_LT(clock.sleeps()[0], 10500ms);  // spread over [7 s, 10.5 s) (pushback.jitter 0.5)
}

TEST(RetryLoop, RetryAfterIsClampedToThePushbackMaximum) {
  FakeClock clock;
  Error limited = Error::make(ErrorClass::rate_limited, "slow down", "http", "429");
  limited.retry_after = std::chrono::hours{2};
  Script script{.failures = {limited}};
  auto out = retry(policies::quota(), std::ref(script), {.clock = &clock, .sleeper = &clock});
  ASSERT_TRUE(out);
  ASSERT_EQ(clock.sleeps().size(), 1u);
  EXPECT_GE(clock.sleeps()[0], 300s);  // 2 h clamped to 300 s, then x[1, 1.5)
  EXPECT_LT(clock.sleeps()[0], 450s);
}

TEST(RetryLoop, RetryAfterBeyondTheDeadlineGivesUpInsteadOfSleeping) {
  FakeClock clock;
  Error limited = Error::make(ErrorClass::rate_limited, "slow down", "http", "429");
  limited.retry_after = std::chrono::hours{2};
  Script script{.failures = {limited}};
  RetryPolicy p = policies::quota();
  p.pushback.max = std::chrono::hours{24};
  auto out = retry(p, std::ref(script), {.clock = &clock, .sleeper = &clock});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.report.gave_up, GiveUpReason::deadline);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(RetryLoop, AttemptTimeoutIsClippedToTheTimeLeft) {
  FakeClock clock;
  RetryPolicy p = exponential_policy();
  p.deadline = 1s;
  p.attempt_timeout = 600ms;
  std::vector<std::optional<Duration>> budgets;
  auto out = retry(p,
                   [&](const Attempt& a) -> Result<int> {
                     budgets.push_back(a.time_left);
                     clock.advance(*a.time_left);  // the attempt uses its whole budget
                     return fail(conflict());
                   },
                   {.clock = &clock, .sleeper = &clock});
  ASSERT_FALSE(out);
  ASSERT_GE(budgets.size(), 2u);
  EXPECT_EQ(budgets[0], 600ms);
  EXPECT_EQ(budgets[1], 300ms);  // 1000 - 600 - 100 (sleep)
}

TEST(RetryLoop, OnRetryHookSeesEveryRetry) {
  FakeClock clock;
  RetryPolicy p = exponential_policy();
  std::vector<RetryEvent> seen;
  std::vector<std::string> messages;
  p.on_retry = [&](const RetryEvent& e) {
    seen.push_back(e);
    messages.push_back(e.error->message);
  };
  Script script{.failures = {conflict(), conflict()}};
  auto out = retry(p, std::ref(script), {.operation = "op", .clock = &clock, .sleeper = &clock});
  ASSERT_TRUE(out);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].attempt, 1);
  EXPECT_EQ(seen[1].attempt, 2);
  EXPECT_EQ(seen[1].delay, 200ms);
  EXPECT_EQ(seen[0].error_class, ErrorClass::serialization_conflict);
  EXPECT_EQ(seen[0].operation, "op");
  EXPECT_EQ(messages[0], "could not serialize access");
}

TEST(RetryLoop, StatusCallablesWork) {
  FakeClock clock;
  int calls = 0;
  auto out = retry(exponential_policy(),
                   [&]() -> Status {
                     if (++calls < 2) return fail(conflict());
                     return {};
                   },
                   {.clock = &clock, .sleeper = &clock});
  EXPECT_TRUE(out);
  EXPECT_EQ(calls, 2);
}

TEST(RetryLoop, ThrowingCallablesRetryAndRethrowTheOriginalException) {
  FakeClock clock;
  int calls = 0;
  RetryReport report;
  EXPECT_EQ(retry_throwing(
                exponential_policy(),
                [&] {
                  if (++calls < 3) throw Exception(conflict());
                  return 5;
                },
                {.clock = &clock, .sleeper = &clock}, classify_exception, &report),
            5);
  EXPECT_EQ(report.attempts, 3);

  calls = 0;
  EXPECT_THROW(retry_throwing(exponential_policy(),
                              [&]() -> int {
                                ++calls;
                                throw std::invalid_argument("bad row");
                              },
                              {.clock = &clock, .sleeper = &clock}),
               std::invalid_argument);
  EXPECT_EQ(calls, 1);  // unknown exceptions are permanent: never retried
}

TEST(RetryLoop, ThrowingVoidCallablesWork) {
  FakeClock clock;
  int calls = 0;
  retry_throwing(exponential_policy(),
                 [&] {
                   if (++calls < 2) throw Exception(conflict());
                 },
                 {.clock = &clock, .sleeper = &clock});
  EXPECT_EQ(calls, 2);
}

TEST(RetryLoop, NestedLoopsHaveMultiplyingSemantics) {
  // Documented behaviour: an inner serialization loop inside an outer loop
  // that retries the same class restarts its limit each outer attempt.
  FakeClock clock;
  RetryPolicy inner = exponential_policy();
  inner.rules[0].max_attempts = 3;
  RetryPolicy outer = exponential_policy();
  outer.rules[0].max_attempts = 2;
  int calls = 0;
  auto out = retry(outer,
                   [&]() -> Result<int> {
                     return retry(inner,
                                  [&]() -> Result<int> {
                                    ++calls;
                                    return fail(conflict());
                                  },
                                  {.clock = &clock, .sleeper = &clock})
                         .value;
                   },
                   {.clock = &clock, .sleeper = &clock});
  ASSERT_FALSE(out);
  EXPECT_EQ(calls, 6);  // 2 x 3
}

}  // namespace
}  // namespace rebound
