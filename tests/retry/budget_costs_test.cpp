// RetryBudget's per-class costs: a timeout costs more than a 503 (AWS SDKs).
#include <gtest/gtest.h>

#include "rebound/retry/budget.hpp"
#include "rebound/retry/classify.hpp"
#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound {
namespace {

const Error kUnavailable = Error::make(ErrorClass::transient, "HTTP 503", "http", "503");
const Error kCurlTimeout = Error::make(ErrorClass::transient, "timed out", "curl", "28");
const Error kThrottled = Error::make(ErrorClass::rate_limited, "HTTP 429", "http", "429");

int retries_until_denied(RetryBudget& b, const Error& e) {
  int n = 0;
  while (b.try_spend(e)) ++n;
  return n;
}

TEST(BudgetCosts, TimeoutsAreRecognisedAcrossSources) {
  EXPECT_TRUE(classify::is_timeout(kCurlTimeout));
  EXPECT_TRUE(classify::is_timeout(Error::make(ErrorClass::transient, "", "http", "504")));
  EXPECT_TRUE(classify::is_timeout(Error::make(ErrorClass::transient, "", "http", "408")));
  EXPECT_TRUE(classify::is_timeout(Error::make(ErrorClass::transient, "", "postgresql", "57014")));
  EXPECT_TRUE(classify::is_timeout(Error::make(ErrorClass::transient, "", "sim", "timeout")));
  EXPECT_FALSE(classify::is_timeout(kUnavailable));
  EXPECT_FALSE(classify::is_timeout(Error::make(ErrorClass::transient, "", "curl", "7")));
}

TEST(BudgetCosts, ATimeoutCostsTwiceARetryByDefault) {
  auto b1 = RetryBudget::make({}).value();
  auto b2 = RetryBudget::make({}).value();
  EXPECT_EQ(retries_until_denied(*b1, kUnavailable), 50);  // 100 tokens, floor 50, 1 each
  EXPECT_EQ(retries_until_denied(*b2, kCurlTimeout), 25);  // 2 each
  EXPECT_DOUBLE_EQ(b1->cost_of(kCurlTimeout), 2.0);
}

TEST(BudgetCosts, TheAwsQuotaIsFivePerRetryAndTenPerTimeout) {
  auto b = RetryBudget::make(RetryBudgetOptions::aws()).value();
  EXPECT_DOUBLE_EQ(b->cost_of(kUnavailable), 5.0);
  EXPECT_DOUBLE_EQ(b->cost_of(kCurlTimeout), 10.0);
  EXPECT_EQ(retries_until_denied(*b, kCurlTimeout), 50);  // 500 / 10, down to empty
  for (int i = 0; i < 5; ++i) b->on_success();            // 1 back per success
  EXPECT_TRUE(b->try_spend(kUnavailable));
  EXPECT_FALSE(b->try_spend(kUnavailable));
}

TEST(BudgetCosts, ClassCostsPriceEachClass) {
  RetryBudgetOptions o{.max_tokens = 100, .min_tokens = 0};
  o.class_cost[static_cast<std::size_t>(ErrorClass::rate_limited)] = 4;
  auto b = RetryBudget::make(o).value();
  EXPECT_DOUBLE_EQ(b->cost_of(kThrottled), 4.0);
  EXPECT_DOUBLE_EQ(b->cost_of(kUnavailable), 1.0);
  EXPECT_EQ(retries_until_denied(*b, kThrottled), 25);
}

TEST(BudgetCosts, InvalidCostsAreNamed) {
  RetryBudgetOptions o;
  o.class_cost[static_cast<std::size_t>(ErrorClass::transient)] = -1;
  auto made = RetryBudget::make(o);
  ASSERT_FALSE(made);
  EXPECT_THAT(made, HasErrorMessage(HasSubstr("class_cost[transient]")));
  EXPECT_FALSE(RetryBudget::make({.timeout_cost = 1e9}));
}

}  // namespace
}  // namespace rebound
