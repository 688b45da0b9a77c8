#include "rebound/retry/policy.hpp"

#include <gtest/gtest.h>

#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound {
namespace {

using namespace std::chrono_literals;

TEST(RetryPolicy, PresetsMirrorTheReferencePresets) {
  const RetryPolicy s = policies::serialization();
  ASSERT_EQ(s.rules.size(), 1u);
  EXPECT_EQ(s.rules[0].initial, 1s);
  EXPECT_EQ(s.rules[0].maximum, 60s);
  EXPECT_EQ(s.rules[0].multiplier, 2.0);
  EXPECT_EQ(s.deadline, 300s);
  EXPECT_NE(s.rule_for(ErrorClass::serialization_conflict), nullptr);
  EXPECT_EQ(s.rule_for(ErrorClass::quota_exceeded), nullptr);

  const RetryPolicy q = policies::quota();
  EXPECT_GT(q.rules[0].initial, s.rules[0].initial);
  EXPECT_GT(q.deadline, s.deadline);
  EXPECT_TRUE(make_policy(s).has_value());
  EXPECT_TRUE(make_policy(q).has_value());
  EXPECT_TRUE(make_policy(policies::transient()).has_value());
}

TEST(RetryPolicy, PresetsScaleForTestsAndDemos) {
  const RetryPolicy s = policies::serialization(0.001);
  EXPECT_EQ(s.rules[0].initial, 1ms);
  EXPECT_EQ(s.rules[0].maximum, 60ms);
  EXPECT_EQ(s.deadline, 300ms);
}

TEST(RetryPolicy, ScaledMultipliesEveryDurationWithOneRoundingRule) {
  RetryPolicy p = policies::transient();
  p.attempt_timeout = 2s;
  const RetryPolicy half = policies::scaled(p, 0.5);
  EXPECT_EQ(half.rules[0].initial, 50ms);
  EXPECT_EQ(half.rules[0].maximum, 2500ms);
  EXPECT_EQ(half.deadline, 30s);
  EXPECT_EQ(half.attempt_timeout, 1s);
  EXPECT_EQ(half.max_attempts, p.max_attempts);  // limits are not durations
  // Nearest nanosecond: 100 ms / 3 = 33 333 333.33 ns -> 33 333 333 ns.
  EXPECT_EQ(policies::scaled(p, 1.0 / 3).rules[0].initial, Duration{33'333'333});
  // A positive delay never scales below 1 µs; a bad factor changes nothing.
  EXPECT_EQ(policies::scaled(p, 1e-12).rules[0].initial, 1us);
  EXPECT_EQ(policies::scaled(p, 0).rules[0].initial, 100ms);
  EXPECT_EQ(policies::scaled(p, -1).deadline, 60s);
}

TEST(RetryPolicy, ValidationNamesTheOffendingField) {
  auto expect_invalid = [](RetryPolicy p, std::string_view needle) {
    auto r = make_policy(std::move(p));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error_class, ErrorClass::permanent);
    EXPECT_THAT(r, HasErrorMessage(HasSubstr(needle)));
  };
  RetryPolicy p = policies::serialization();
  p.deadline = 0s;
  expect_invalid(p, "deadline");
  p = policies::serialization();
  p.rules[0].maximum = 1ms;
  expect_invalid(p, "maximum");
  p = policies::serialization();
  p.rules[0].multiplier = 0.5;
  expect_invalid(p, "multiplier");
  p = policies::serialization();
  p.rules[0].classes.push_back(ErrorClass::non_retriable);
  expect_invalid(p, "non_retriable errors can never be retried");
  p = policies::serialization();
  p.rules.push_back(p.rules[0]);
  expect_invalid(p, "named by two rules");
  p = policies::serialization();
  p.rules[0].classes.clear();
  expect_invalid(p, "names no error class");
}

}  // namespace
}  // namespace rebound
