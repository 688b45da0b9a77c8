#include "rebound/retry/budget.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "rebound/retry/retry_loop.hpp"
#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<RetryBudget> budget(RetryBudgetOptions o) { return RetryBudget::make(o).value(); }

TEST(RetryBudget, AllowsRetriesUntilHalfTheBucketIsSpent) {
  auto b = budget({.max_tokens = 10, .retry_cost = 1, .success_refund = 0.5});
  int allowed = 0;
  while (b->try_spend()) ++allowed;
  EXPECT_EQ(allowed, 5);
  EXPECT_EQ(b->retries_denied(), 1u);
  EXPECT_DOUBLE_EQ(b->tokens(), 5);
}

TEST(RetryBudget, SuccessesRefillUpToTheMaximum) {
  auto b = budget({.max_tokens = 10, .retry_cost = 1, .success_refund = 0.5});
  while (b->try_spend()) {
  }
  EXPECT_FALSE(b->try_spend());
  b->on_success();
  b->on_success();  // +1 token
  EXPECT_TRUE(b->try_spend());
  EXPECT_FALSE(b->try_spend());
  for (int i = 0; i < 100; ++i) b->on_success();
  EXPECT_DOUBLE_EQ(b->tokens(), 10);
}

TEST(RetryBudget, RejectsInvalidOptionsNamingTheField) {
  auto bad = RetryBudget::make({.max_tokens = 0});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad, HasErrorMessage(HasSubstr("max_tokens")));
  auto bad_cost = RetryBudget::make({.max_tokens = 10, .retry_cost = -1});
  ASSERT_FALSE(bad_cost);
  EXPECT_THAT(bad_cost, HasErrorMessage(HasSubstr("retry_cost")));
}

TEST(RetryBudget, ExhaustedBudgetStopsTheLoopAndSaysSo) {
  testing::FakeClock clock;
  RetryPolicy p = policies::serialization();
  p.budget = budget({.max_tokens = 4, .retry_cost = 1, .success_refund = 0.1});
  int calls = 0;
  auto failing = [&]() -> Result<int> {
    ++calls;
    return fail(Error::make(ErrorClass::serialization_conflict, "could not serialize access"));
  };
  auto out = retry(p, failing,
                   {.operation = "merging into stats.box", .clock = &clock, .sleeper = &clock});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.report.gave_up, GiveUpReason::budget_exhausted);
  EXPECT_EQ(calls, 3);  // two retries paid (4 -> 2), the third refused
  EXPECT_THAT(
      out, HasErrorMessage(
               "retry budget exhausted after 3 attempts (serialization_conflict x3) merging into "
               "stats.box: could not serialize access"));
}

TEST(RetryBudget, ManyThreadsNeverOverspend) {
  auto b = budget({.max_tokens = 1000, .retry_cost = 1, .success_refund = 0});
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (b->try_spend()) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 500);
  EXPECT_EQ(b->retries_allowed(), 500u);
  EXPECT_EQ(b->retries_denied(), 16u * 200u - 500u);
}

TEST(RetryBudget, ConcurrentSpendAndRefundKeepTheBalanceInRange) {
  auto b = budget({.max_tokens = 50, .retry_cost = 1, .success_refund = 0.25});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        if ((i + t) % 3 == 0) {
          (void)b->try_spend();
        } else {
          b->on_success();
        }
        const double tokens = b->tokens();
        ASSERT_GE(tokens, 25.0);  // spending never goes below the floor (half of 50)
        ASSERT_LE(tokens, 50.0);
      }
    });
  }
  for (auto& t : threads) t.join();
  // Every successful spend cost exactly one token: the ledger balances.
  EXPECT_GE(b->tokens(), 25.0);
}

}  // namespace
}  // namespace rebound
