// AdaptiveRateLimiter: the AWS adaptive-mode CUBIC send rate, on a fake clock.
#include "rebound/retry/adaptive_rate.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "rebound/retry/retry_loop.hpp"
#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

const Error kThrottled = Error::make(ErrorClass::rate_limited, "HTTP 429", "http", "429");
const Error kUnavailable = Error::make(ErrorClass::transient, "HTTP 503", "http", "503");

std::shared_ptr<AdaptiveRateLimiter> limiter(FakeClock& clock, AdaptiveRateOptions o = {}) {
  o.clock = &clock;
  return AdaptiveRateLimiter::make(std::move(o), "api.test:443").value();
}

// `n` successful responses, one every `gap`.
void steady(FakeClock& clock, AdaptiveRateLimiter& l, int n, Duration gap) {
  for (int i = 0; i < n; ++i) {
    clock.advance(gap);
    l.record(nullptr);
  }
}

TEST(AdaptiveRate, DefaultsAreTheAwsSdkConstants) {
  const AdaptiveRateOptions o;
  EXPECT_DOUBLE_EQ(o.beta, 0.7);
  EXPECT_DOUBLE_EQ(o.scale_constant, 0.4);
  EXPECT_DOUBLE_EQ(o.smoothing, 0.8);
  EXPECT_DOUBLE_EQ(o.min_rate, 0.5);
}

TEST(AdaptiveRate, IsOffUntilTheFirstThrottle) {
  FakeClock clock;
  auto l = limiter(clock);
  steady(clock, *l, 50, 10ms);
  l->record(&kUnavailable);  // a 503 is not a throttle
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(l->reserve().value(), Duration::zero());
  EXPECT_FALSE(l->enabled());
}

TEST(AdaptiveRate, MeasuredRateIsSmoothedPerHalfSecond) {
  FakeClock clock;
  auto l = limiter(clock);
  steady(clock, *l, 100, 100ms);  // 10 per second for 10 s
  EXPECT_NEAR(l->stats().measured, 10.0, 0.01);
}

TEST(AdaptiveRate, CubicHelpersMatchTheAwsFormula) {
  const double w = 20, beta = 0.7, c = 0.4;
  const double k = std::cbrt(w * (1 - beta) / c);
  EXPECT_DOUBLE_EQ(cubic::zero_point(w, beta, c), k);
  EXPECT_NEAR(cubic::success_rate(0, w, beta, c), beta * w, 1e-9);  // right after the cut
  EXPECT_NEAR(cubic::success_rate(k, w, beta, c), w, 1e-9);         // back at w_max after K
  EXPECT_NEAR(cubic::success_rate(k + 2, w, beta, c), w + c * 8, 1e-9);
}

// After a throttle the rate follows C (t - K)^3 + w_max, never above twice the
// measured rate and never below 0.5 requests/s: checked step by step against
// the formula written out here.
TEST(AdaptiveRate, RateFollowsTheCubicCurveAfterAThrottle) {
  FakeClock clock;
  auto l = limiter(clock);
  steady(clock, *l, 100, 50ms);  // 20 requests/s
  const double measured_at_throttle = l->stats().measured;
  clock.advance(50ms);
  const TimePoint throttled_at = clock.now();
  l->record(&kThrottled);
  AdaptiveRateStats s = l->stats();
  ASSERT_TRUE(s.enabled);
  const double w_max = s.w_max;
  EXPECT_NEAR(w_max, measured_at_throttle, 1.0);  // not enabled before: the measured rate
  EXPECT_NEAR(s.rate, std::max(0.5, std::min(0.7 * w_max, 2 * s.measured)), 1e-9);
  const double k = std::cbrt(w_max * (1 - 0.7) / 0.4);
  for (int i = 0; i < 100; ++i) {
    clock.advance(50ms);
    l->record(nullptr);
    s = l->stats();
    const double t = std::chrono::duration<double>(clock.now() - throttled_at).count();
    const double curve = 0.4 * std::pow(t - k, 3) + w_max;
    EXPECT_NEAR(s.rate, std::max(0.5, std::min(curve, 2 * s.measured)), 1e-6) << "t = " << t;
  }
}

TEST(AdaptiveRate, EachThrottleCutsTheRateByBetaDownToTheFloor) {
  FakeClock clock;
  auto l = limiter(clock);
  steady(clock, *l, 100, 10ms);  // 100 requests/s
  l->record(&kThrottled);
  double previous = l->stats().rate;
  for (int i = 0; i < 30; ++i) {
    clock.advance(1ms);
    l->record(&kThrottled);
    const AdaptiveRateStats s = l->stats();
    EXPECT_NEAR(s.rate, std::max(0.5, 0.7 * std::min(s.measured, previous)), 1e-9);
    previous = s.rate;
  }
  EXPECT_DOUBLE_EQ(l->stats().rate, 0.5);
  EXPECT_EQ(l->stats().throttles, 31u);
}

TEST(AdaptiveRate, WaitsAreReservationsBoundedByMaxWait) {
  FakeClock clock;
  auto l = limiter(clock, {.max_wait = 10s});
  steady(clock, *l, 10, 1s);  // about 1 request/s
  l->record(&kThrottled);
  const double rate = l->stats().rate;
  ASSERT_GT(rate, 0.5);
  ASSERT_LT(rate, 1.5);
  // The bucket starts (nearly) empty: each caller waits one more token's time.
  Duration previous = -1s;
  int granted = 0;
  for (;;) {
    auto wait = l->reserve();
    if (!wait) {
      EXPECT_EQ(wait.error().error_class, ErrorClass::rate_limited);
      EXPECT_EQ(wait.error().code, "client_send_rate");
      ASSERT_TRUE(wait.error().retry_after);
      EXPECT_GT(*wait.error().retry_after, 10s);
      EXPECT_THAT(wait, HasErrorMessage(HasSubstr("api.test:443")));
      break;
    }
    EXPECT_GT(*wait, previous);
    EXPECT_LE(*wait, 10s);
    previous = *wait;
    ++granted;
  }
  EXPECT_NEAR(granted, rate * 10, 1.5);  // ten seconds' worth of tokens, then refusals
  EXPECT_EQ(l->stats().refused, 1u);
}

TEST(AdaptiveRate, FailFastNeverWaits) {
  FakeClock clock;
  auto l = limiter(clock, {.max_wait = 0s});
  steady(clock, *l, 20, 100ms);
  l->record(&kThrottled);
  clock.advance(10s);  // the bucket fills to its capacity
  int sent = 0;
  while (l->reserve()) ++sent;
  EXPECT_GE(sent, 1);
  EXPECT_LE(sent, static_cast<int>(std::max(1.0, l->stats().rate)));
}

TEST(AdaptiveRate, AcquireSleepsOnTheInjectedSleeperAndAStopEndsTheWait) {
  FakeClock clock;
  auto l = limiter(clock, {.max_wait = 60s});
  steady(clock, *l, 10, 1s);
  l->record(&kThrottled);
  // Tokens left in the bucket go first; then a caller waits for its token
  // on the fake clock.
  for (int i = 0; i < 10 && clock.sleeps().empty(); ++i) ASSERT_TRUE(l->acquire(clock));
  ASSERT_EQ(clock.sleeps().size(), 1u);
  EXPECT_GT(clock.sleeps()[0], Duration::zero());
  std::stop_source stop;
  clock.stop_at(clock.now() + 1ms, stop);
  auto cancelled = l->acquire(clock, stop.get_token());
  ASSERT_FALSE(cancelled);
  EXPECT_EQ(cancelled.error().code, "cancelled");
  EXPECT_EQ(clock.sleeps().back(), 1ms);  // ended at the stop, not at the token
}

TEST(AdaptiveRate, A429StormSlowsARetryLoop) {
  FakeClock clock;
  RetryPolicy p = policies::transient();
  p.rate_limiter = limiter(clock, {.max_wait = 30s});
  int sent = 0;
  auto throttled = [&]() -> Result<int> {
    ++sent;
    clock.advance(1ms);
    return fail(kThrottled);
  };
  for (int i = 0; i < 20; ++i) {
    (void)retry(p, throttled, {.clock = &clock, .sleeper = &clock, .seed = 1});
  }
  EXPECT_LE(p.rate_limiter->stats().rate, 0.5 + 1e-9);  // cut to the floor
  const TimePoint start = clock.now();
  const int before = sent;
  for (int i = 0; i < 10; ++i) {
    (void)retry(p, throttled, {.clock = &clock, .sleeper = &clock, .seed = 1});
  }
  const double seconds = std::chrono::duration<double>(clock.now() - start).count();
  EXPECT_LE((sent - before) / seconds, 0.6);  // the loop now sends at about the floor rate
}

TEST(AdaptiveRate, InvalidOptionsNameTheField) {
  auto bad = [](AdaptiveRateOptions o) { return AdaptiveRateLimiter::make(std::move(o)); };
  EXPECT_THAT(bad({.beta = 1.0}), HasErrorMessage(HasSubstr("beta")));
  EXPECT_THAT(bad({.scale_constant = 0}), HasErrorMessage(HasSubstr("scale_constant")));
  EXPECT_THAT(bad({.smoothing = 0}), HasErrorMessage(HasSubstr("smoothing")));
  EXPECT_THAT(bad({.min_rate = -1}), HasErrorMessage(HasSubstr("min_rate")));
  EXPECT_THAT(bad({.max_wait = -1s}), HasErrorMessage(HasSubstr("max_wait")));
}

}  // namespace
}  // namespace rebound
