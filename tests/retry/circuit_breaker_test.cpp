// CircuitBreaker: its state machine on a fake clock, in zero wall time.
#include "rebound/retry/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "rebound/retry/retry_loop.hpp"
#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

const Error kUnavailable = Error::make(ErrorClass::transient, "HTTP 503", "http", "503");
const Error kNotFound = Error::make(ErrorClass::permanent, "HTTP 404", "http", "404");

std::shared_ptr<CircuitBreaker> breaker(FakeClock& clock, CircuitBreakerOptions o = {}) {
  o.clock = &clock;
  o.seed = 7;
  return CircuitBreaker::make(std::move(o), "api.test:443").value();
}

void calls(CircuitBreaker& b, int n, const Error* failure) {
  for (int i = 0; i < n; ++i) {
    auto permit = b.acquire();
    ASSERT_THAT(permit, IsOk());
    b.record(*permit, failure);
  }
}

TEST(CircuitBreaker, DefaultsArePollyV8) {
  const CircuitBreakerOptions o;
  EXPECT_DOUBLE_EQ(o.failure_ratio, 0.1);
  EXPECT_EQ(o.sampling_duration, 30s);
  EXPECT_EQ(o.minimum_throughput, 100);
  EXPECT_EQ(o.break_duration, 5s);
}

TEST(CircuitBreaker, StaysClosedBelowTheMinimumThroughput) {
  FakeClock clock;
  auto b = breaker(clock);
  calls(*b, 99, &kUnavailable);  // every call failed, but only 99 of them
  EXPECT_EQ(b->state(), CircuitState::closed);
  calls(*b, 1, &kUnavailable);
  EXPECT_EQ(b->state(), CircuitState::open);
}

TEST(CircuitBreaker, OpensWhenTheFailureRatioIsReached) {
  FakeClock clock;
  auto b = breaker(clock);
  calls(*b, 91, nullptr);
  calls(*b, 9, &kUnavailable);  // 9 of 100: below 0.1
  EXPECT_EQ(b->state(), CircuitState::closed);
  calls(*b, 1, &kUnavailable);  // 10 of 101: still below
  EXPECT_EQ(b->state(), CircuitState::closed);
  calls(*b, 1, &kUnavailable);  // 11 of 102: at or above 0.1
  EXPECT_EQ(b->state(), CircuitState::open);
  EXPECT_EQ(b->stats().trips, 1u);
}

TEST(CircuitBreaker, OldFailuresSlideOutOfTheWindow) {
  FakeClock clock;
  auto b = breaker(clock);
  calls(*b, 60, &kUnavailable);
  clock.advance(31s);
  calls(*b, 40, &kUnavailable);  // 100 failures in all, but only 40 within 30 s
  EXPECT_EQ(b->state(), CircuitState::closed);
  EXPECT_EQ(b->stats().window_calls, 40);
}

TEST(CircuitBreaker, OpenFailsFastAndSaysWhenItWillProbe) {
  FakeClock clock;
  auto b = breaker(clock);
  calls(*b, 100, &kUnavailable);
  clock.advance(1s);
  auto refused = b->acquire();
  ASSERT_FALSE(refused);
  const Error& e = refused.error();
  EXPECT_EQ(e.error_class, ErrorClass::circuit_open);
  EXPECT_EQ(e.code, "circuit_open");
  EXPECT_FALSE(e.retriable());
  ASSERT_TRUE(e.retry_after);
  // First break: 5 s x [1, 1.25), one second of it gone.
  EXPECT_GE(*e.retry_after, 4s);
  EXPECT_LE(*e.retry_after, 5250ms);
  EXPECT_NE(e.message.find("api.test:443"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("100 of 100 calls failed"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("next probe in"), std::string::npos) << e.message;
  EXPECT_EQ(b->stats().rejected, 1u);
}

TEST(CircuitBreaker, HalfOpenLetsABoundedNumberOfProbesThroughAndASuccessCloses) {
  FakeClock clock;
  auto b = breaker(clock, {.half_open_probes = 2});
  calls(*b, 100, &kUnavailable);
  clock.advance(7s);  // past any first break (at most 6.25 s)
  auto p1 = b->acquire();
  auto p2 = b->acquire();
  auto p3 = b->acquire();
  ASSERT_TRUE(p1 && p2);
  EXPECT_TRUE(p1->probe && p2->probe);
  ASSERT_FALSE(p3);
  EXPECT_EQ(p3.error().error_class, ErrorClass::circuit_open);
  EXPECT_EQ(b->state(), CircuitState::half_open);
  b->on_success(*p1);
  EXPECT_EQ(b->state(), CircuitState::closed);
  EXPECT_EQ(b->stats().window_calls, 0);  // a closed breaker starts with an empty window
  b->on_failure(*p2, kUnavailable);       // the other probe's late outcome changes nothing
  EXPECT_EQ(b->state(), CircuitState::closed);
}

TEST(CircuitBreaker, AFailedProbeReopensForALongerJitteredBreakUpToTheMaximum) {
  FakeClock clock;
  auto b = breaker(clock, {.max_break_duration = 30s});
  calls(*b, 100, &kUnavailable);
  // Break n: min(30 s, 5 s * 2^(n-1)) x [1, 1.25).
  const std::vector<std::pair<Duration, Duration>> expected = {
      {10s, 12500ms}, {20s, 25s}, {30s, 37500ms}, {30s, 37500ms}};
  for (const auto& [low, high] : expected) {
    clock.advance(40s);
    auto probe = b->acquire();
    ASSERT_TRUE(probe);
    b->on_failure(*probe, kUnavailable);
    auto refused = b->acquire();
    ASSERT_FALSE(refused);
    EXPECT_GE(*refused.error().retry_after, low);
    EXPECT_LE(*refused.error().retry_after, high);
    EXPECT_THAT(refused, HasErrorMessage(HasSubstr("the probe failed")));
  }
}

TEST(CircuitBreaker, BreaksOfTwoBreakersDiffer) {
  FakeClock clock;
  auto made = CircuitBreakers::make({.clock = &clock, .seed = 11}).value();
  auto a = made->for_key("a:80");
  auto b = made->for_key("b:80");
  calls(*a, 100, &kUnavailable);
  calls(*b, 100, &kUnavailable);
  EXPECT_NE(*a->acquire().error().retry_after, *b->acquire().error().retry_after);
}

TEST(CircuitBreaker, ClassesThatAreNotCountedNeverTripIt) {
  FakeClock clock;
  auto b = breaker(clock);
  calls(*b, 500, &kNotFound);  // a 404 is not the server's fault
  EXPECT_EQ(b->state(), CircuitState::closed);
  auto only_permanent = breaker(clock, {.counted = {ErrorClass::permanent}});
  calls(*only_permanent, 100, &kNotFound);
  EXPECT_EQ(only_permanent->state(), CircuitState::open);
}

TEST(CircuitBreaker, AProbeAnsweredWithAnUncountedErrorCloses) {
  FakeClock clock;
  auto b = breaker(clock);
  calls(*b, 100, &kUnavailable);
  clock.advance(10s);
  auto probe = b->acquire();
  ASSERT_TRUE(probe);
  b->on_failure(*probe, kNotFound);  // the server answered
  EXPECT_EQ(b->state(), CircuitState::closed);
}

TEST(CircuitBreaker, KeyedBreakersAreIndependent) {
  FakeClock clock;
  auto breakers = CircuitBreakers::make({.clock = &clock}).value();
  EXPECT_EQ(breakers->for_key("a:80"), breakers->for_key("a:80"));
  calls(*breakers->for_key("a:80"), 100, &kUnavailable);
  EXPECT_EQ(breakers->for_key("a:80")->state(), CircuitState::open);
  EXPECT_EQ(breakers->for_key("b:80")->state(), CircuitState::closed);
  EXPECT_EQ(breakers->size(), 2u);
}

TEST(CircuitBreaker, InvalidOptionsNameTheField) {
  auto bad = [](CircuitBreakerOptions o) { return CircuitBreaker::make(std::move(o)); };
  EXPECT_THAT(bad({.failure_ratio = 0}), HasErrorMessage(HasSubstr("failure_ratio")));
  EXPECT_THAT(bad({.minimum_throughput = 0}), HasErrorMessage(HasSubstr("minimum_throughput")));
  EXPECT_THAT(bad({.break_duration = 0s}), HasErrorMessage(HasSubstr("break_duration")));
  EXPECT_THAT(bad({.max_break_duration = 1s}), HasErrorMessage(HasSubstr("max_break_duration")));
  EXPECT_THAT(bad({.half_open_probes = 0}), HasErrorMessage(HasSubstr("half_open_probes")));
  EXPECT_THAT(bad({.counted = {ErrorClass::circuit_open}}), HasErrorMessage(HasSubstr("counted")));
  EXPECT_FALSE(CircuitBreakers::make({.break_jitter = -1}));
}

TEST(CircuitBreaker, ARetryLoopStopsCallingOnceItOpens) {
  FakeClock clock;
  RetryPolicy p = policies::transient();
  p.circuit_breaker = breaker(clock, {.minimum_throughput = 5});
  int sent = 0;
  auto failing = [&]() -> Result<int> {
    ++sent;
    return fail(kUnavailable);
  };
  for (int i = 0; i < 10; ++i) {
    (void)retry(p, failing, {.clock = &clock, .sleeper = &clock, .seed = 1});
  }
  EXPECT_EQ(sent, 5);  // the fifth failure opened it; nothing more was sent
  auto out = retry(p, failing, {.clock = &clock, .sleeper = &clock, .seed = 1});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error_class, ErrorClass::circuit_open);
  EXPECT_EQ(out.report.gave_up, GiveUpReason::circuit_open);
  EXPECT_EQ(out.report.attempts, 0);
}

TEST(CircuitBreaker, CountsEveryCallFromManyThreads) {
  FakeClock clock;  // time stands still: every call lands in one bucket
  auto b = breaker(clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        auto permit = b->acquire();
        if (permit) b->on_success(*permit);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(b->state(), CircuitState::closed);
  EXPECT_EQ(b->stats().window_calls, 20000);
}

}  // namespace
}  // namespace rebound
