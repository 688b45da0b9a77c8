// Pushback: server hints clamped and spread; the schedule restarts after one.
#include "rebound/retry/pushback.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "rebound/retry/retry_loop.hpp"
#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

TEST(Pushback, DefaultsAreEnvoys) {
  const Pushback p;
  EXPECT_TRUE(p.honour);
  EXPECT_EQ(p.max, 300s);
  EXPECT_DOUBLE_EQ(p.jitter, 0.5);  // x [1, 1.5)
  EXPECT_TRUE(p.restart_backoff);
}

TEST(Pushback, AHintIsNeverShortenedAndSpreadOverHalfItsLength) {
  Rng rng{1};
  std::vector<Duration> delays;
  for (int i = 0; i < 1000; ++i) delays.push_back(pushback_delay({}, 30s, rng));
  const auto [lo, hi] = std::minmax_element(delays.begin(), delays.end());
  EXPECT_GE(*lo, 30s);
  EXPECT_LT(*hi, 45s);
  EXPECT_LT(*lo, 30500ms);  // the spread covers the whole window
  EXPECT_GT(*hi, 44500ms);
}

TEST(Pushback, LongHintsAreClampedToTheMaximum) {
  Rng rng{2};
  for (int i = 0; i < 100; ++i) {
    const Duration d = pushback_delay({}, std::chrono::hours{24 * 365}, rng);
    EXPECT_GE(d, 300s);
    EXPECT_LT(d, 450s);
  }
  EXPECT_EQ(pushback_delay({.max = 10s, .jitter = 0}, 1h, rng), 10s);
  EXPECT_EQ(pushback_delay({.jitter = 0}, -5s, rng), Duration::zero());
  // However large the configuration, the arithmetic saturates instead of overflowing.
  EXPECT_GT(pushback_delay({.max = Duration::max(), .jitter = 10}, Duration::max(), rng),
            Duration::zero());
}

TEST(Pushback, InvalidSettingsAreNamed) {
  EXPECT_TRUE(invalid_pushback({.max = 0s}));
  EXPECT_TRUE(invalid_pushback({.jitter = -0.1}));
  EXPECT_FALSE(invalid_pushback({}));
  RetryPolicy p = policies::transient();
  p.pushback.jitter = -1;
  auto made = make_policy(p);
  ASSERT_FALSE(made);
  EXPECT_THAT(made, HasErrorMessage(HasSubstr("pushback.jitter")));
}

TEST(Pushback, RateLimitResetIsSecondsOrAUnixTimestamp) {
  const auto now = std::chrono::sys_days{std::chrono::year{2026} / 12 / 1} + 12h;
  const auto unix_now = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  EXPECT_EQ(parse_ratelimit_reset("12", now), std::chrono::milliseconds{12s});
  EXPECT_EQ(parse_ratelimit_reset(" 0 ", now), std::chrono::milliseconds{0});
  EXPECT_EQ(parse_ratelimit_reset(std::to_string(unix_now.count() + 42), now),
            std::chrono::milliseconds{42s});
  EXPECT_EQ(parse_ratelimit_reset(std::to_string(unix_now.count() - 42), now),
            std::chrono::milliseconds{0});
  EXPECT_EQ(parse_ratelimit_reset("-1", now), std::nullopt);
  EXPECT_EQ(parse_ratelimit_reset("1.5", now), std::nullopt);
  EXPECT_EQ(parse_ratelimit_reset("", now), std::nullopt);
  EXPECT_EQ(parse_ratelimit_reset("soon", now), std::nullopt);
  EXPECT_EQ(parse_ratelimit_reset("99999999999999999999999", now), std::nullopt);
}

RetryPolicy exponential() {
  return RetryPolicy{.rules = {ClassRule{.classes = {ErrorClass::transient},
                                         .initial = 100ms,
                                         .maximum = 10s,
                                         .multiplier = 2,
                                         .backoff = BackoffKind::exponential,
                                         .max_attempts = 0}},
                     .deadline = 600s};
}

std::vector<Duration> sleeps_for(RetryPolicy p) {
  Error plain = Error::transient("HTTP 503");
  Error hinted = plain;
  hinted.retry_after = 1s;
  std::vector<Error> failures = {plain, plain, hinted, plain};
  std::size_t i = 0;
  FakeClock clock;
  auto out = retry(
      p,
      [&]() -> Result<int> { return i < failures.size() ? fail(failures[i++]) : Result<int>{1}; },
      {.clock = &clock, .sleeper = &clock, .seed = 3});
  EXPECT_TRUE(out);
  return clock.sleeps();
}

TEST(Pushback, TheScheduleRestartsAfterAnHonouredHint) {
  const std::vector<Duration> s = sleeps_for(exponential());
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0], 100ms);
  EXPECT_EQ(s[1], 200ms);
  EXPECT_GE(s[2], 1s);
  EXPECT_LT(s[2], 1500ms);
  EXPECT_EQ(s[3], 100ms);  // gRPC: the next backoff starts from the initial delay again
}

TEST(Pushback, WithoutRestartTheScheduleContinues) {
  RetryPolicy p = exponential();
  p.pushback.restart_backoff = false;
  const std::vector<Duration> s = sleeps_for(p);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[3], 800ms);
}

TEST(Pushback, IgnoredHintsKeepTheSchedule) {
  RetryPolicy p = exponential();
  p.pushback.honour = false;
  EXPECT_EQ(sleeps_for(p), (std::vector<Duration>{100ms, 200ms, 400ms, 800ms}));
}

}  // namespace
}  // namespace rebound
