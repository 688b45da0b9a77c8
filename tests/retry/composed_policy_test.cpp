// "Quota outer, serialization inner" in one loop: each class keeps its own
// schedule and limit under one deadline.
#include <gtest/gtest.h>

#include <vector>

#include "rebound/retry/retry_loop.hpp"
#include "rebound/testing/fake_clock.hpp"

namespace rebound {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

Error of(ErrorClass c) { return Error::make(c, std::string(to_string(c))); }

TEST(ComposedPolicy, EachClassUsesItsOwnSchedule) {
  FakeClock clock;
  RetryPolicy p = policies::compose(policies::quota(), policies::serialization());
  for (ClassRule& rule : p.rules) rule.backoff = BackoffKind::exponential;
  std::vector<Error> script = {
      of(ErrorClass::serialization_conflict), of(ErrorClass::quota_exceeded),
      of(ErrorClass::serialization_conflict), of(ErrorClass::quota_exceeded)};
  std::size_t i = 0;
  auto out = retry(
      p, [&]() -> Result<int> { return i < script.size() ? fail(script[i++]) : Result<int>{1}; },
      {.clock = &clock, .sleeper = &clock});
  ASSERT_TRUE(out);
  // serialization: 1 s, 2 s; quota: 5 s, 10 s — the schedules do not share state.
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{1s, 5s, 2s, 10s}));
}

TEST(ComposedPolicy, NeverExceedsPerClassAttemptLimits) {
  // Property over many seeded random failure sequences: the number of failed
  // attempts of each class never exceeds its rule's limit, whatever the mix.
  RetryPolicy p = policies::compose(policies::quota(0.001), policies::serialization(0.001));
  for (ClassRule& rule : p.rules) {
    // serialization has no count limit by default (deadline only): give it one.
    if (rule.max_attempts == 0) rule.max_attempts = 10;
  }
  p.deadline = 24h;  // limits, not the deadline, must stop the loop
  Rng rng{2026};
  for (int trial = 0; trial < 500; ++trial) {
    FakeClock clock;
    const double p_quota = rng.uniform01();
    int calls = 0;
    auto out =
        retry(p,
              [&]() -> Result<int> {
                ++calls;
                return fail(of(rng.uniform01() < p_quota ? ErrorClass::quota_exceeded
                                                         : ErrorClass::serialization_conflict));
              },
              {.clock = &clock, .sleeper = &clock, .seed = static_cast<std::uint64_t>(trial)});
    ASSERT_FALSE(out);
    ASSERT_EQ(out.report.gave_up, GiveUpReason::class_limit);
    ASSERT_LE(out.report.failures_of(ErrorClass::serialization_conflict), 10);
    ASSERT_LE(out.report.failures_of(ErrorClass::quota_exceeded), 6);
    ASSERT_LE(calls, 10 + 6 - 1);  // one class hits its limit before the other can
  }
}

TEST(ComposedPolicy, SharesOneDeadline) {
  FakeClock clock;
  RetryPolicy p = policies::compose(policies::quota(), policies::serialization());
  for (ClassRule& rule : p.rules) {
    rule.max_attempts = 0;
    rule.backoff = BackoffKind::exponential;
  }
  p.deadline = 20s;
  bool quota_turn = false;
  auto out = retry(p,
                   [&]() -> Result<int> {
                     quota_turn = !quota_turn;
                     return fail(of(quota_turn ? ErrorClass::quota_exceeded
                                               : ErrorClass::serialization_conflict));
                   },
                   {.clock = &clock, .sleeper = &clock});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.report.gave_up, GiveUpReason::deadline);
  // quota 5, ser 1, quota 10 -> 16 s; ser 2 -> 18 s; quota 20 would pass 20 s.
  EXPECT_EQ(clock.sleeps(), (std::vector<Duration>{5s, 1s, 10s, 2s}));
}

TEST(ComposedPolicy, ComposeKeepsTheInnerRuleForASharedClass) {
  RetryPolicy outer = policies::transient();  // transient, too_many_connections, rate_limited
  RetryPolicy inner = policies::quota();      // quota_exceeded, rate_limited
  RetryPolicy p = policies::compose(outer, inner);
  ASSERT_NE(p.rule_for(ErrorClass::rate_limited), nullptr);
  EXPECT_EQ(p.rule_for(ErrorClass::rate_limited)->initial, 5s);
  EXPECT_EQ(p.rule_for(ErrorClass::transient)->initial, 100ms);
  EXPECT_TRUE(make_policy(p).has_value());
  EXPECT_EQ(p.deadline, 600s);
}

}  // namespace
}  // namespace rebound
