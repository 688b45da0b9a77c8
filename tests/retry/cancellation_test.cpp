// Cancellation: a stop token ends the retry loop's sleep at once and is
// checked between attempts.
#include <gtest/gtest.h>

#include <latch>
#include <stop_token>
#include <thread>

#include "rebound/retry/retry_loop.hpp"
#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

RetryPolicy slow_policy() {
  return RetryPolicy{.rules = {ClassRule{.classes = {ErrorClass::transient},
                                         .initial = 10s,
                                         .maximum = 10s,
                                         .backoff = BackoffKind::constant,
                                         .max_attempts = 0}},
                     .deadline = 24h};
}

TEST(Cancellation, AStopDuringASleepEndsItWithinOneTick) {
  FakeClock clock;
  std::stop_source stop;
  const TimePoint t0 = clock.now();
  clock.stop_at(t0 + 3s, stop);  // "another thread" stops 3 s into the first 10 s sleep
  int calls = 0;
  auto out = retry(slow_policy(),
                   [&]() -> Result<int> {
                     ++calls;
                     return fail(Error::transient("HTTP 503"));
                   },
                   {.operation = "fetching /games",
                    .clock = &clock,
                    .sleeper = &clock,
                    .stop = stop.get_token()});
  ASSERT_FALSE(out);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(clock.now(), t0 + 3s);  // not t0 + 10 s: the sleep ended at the stop
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{3s}));
  EXPECT_EQ(out.report.slept, 3s);
  EXPECT_EQ(out.report.gave_up, GiveUpReason::cancelled);
  EXPECT_EQ(out.error().error_class, ErrorClass::non_retriable);
  EXPECT_EQ(out.error().code, "cancelled");
  EXPECT_THAT(out,
              HasErrorMessage(HasSubstr("retry cancelled after 1 attempt (transient x1) fetching "
                                        "/games: HTTP 503")));
}

TEST(Cancellation, AStopBeforeTheFirstAttemptSendsNothing) {
  FakeClock clock;
  std::stop_source stop;
  stop.request_stop();
  int calls = 0;
  auto out = retry(slow_policy(), [&]() -> Result<int> { return ++calls; },
                   {.clock = &clock, .sleeper = &clock, .stop = stop.get_token()});
  ASSERT_FALSE(out);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(out.report.attempts, 0);
  EXPECT_THAT(out, HasErrorMessage(HasSubstr("before the first attempt")));
}

TEST(Cancellation, AStopBetweenAttemptsIsSeenBeforeTheNextOne) {
  FakeClock clock;
  std::stop_source stop;
  int calls = 0;
  auto out = retry(slow_policy(),
                   [&]() -> Result<int> {
                     if (++calls == 2) stop.request_stop();  // the service shuts down mid-call
                     return fail(Error::transient("HTTP 503"));
                   },
                   {.clock = &clock, .sleeper = &clock, .stop = stop.get_token()});
  ASSERT_FALSE(out);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{10s}));  // no sleep after the stop
  EXPECT_EQ(out.report.gave_up, GiveUpReason::cancelled);
}

TEST(Cancellation, WithoutAStopTokenNothingChanges) {
  FakeClock clock;
  int calls = 0;
  auto out = retry(slow_policy(),
                   [&]() -> Result<int> {
                     if (++calls < 3) return fail(Error::transient("HTTP 503"));
                     return calls;
                   },
                   {.clock = &clock, .sleeper = &clock});
  ASSERT_TRUE(out);
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{10s, 10s}));
}

// The real sleeper: a loop that would sleep an hour returns as soon as the
// stop is requested. No timing assertion: the test only finishes if it does.
TEST(Cancellation, TheRealSleeperWakesAtOnce) {
  std::stop_source stop;
  std::latch failed_once{1};
  RetryOutcome<int> out{fail(Error::transient("not run")), {}};
  std::thread worker([&] {
    RetryPolicy p = slow_policy();
    p.rules[0].initial = p.rules[0].maximum = 1h;
    out = retry(p,
                [&]() -> Result<int> {
                  failed_once.count_down();
                  return fail(Error::transient("HTTP 503"));
                },
                {.stop = stop.get_token()});
  });
  failed_once.wait();
  stop.request_stop();
  worker.join();
  ASSERT_FALSE(out);
  EXPECT_EQ(out.report.gave_up, GiveUpReason::cancelled);
  EXPECT_LT(out.report.slept, 1h);
}

}  // namespace
}  // namespace rebound
