#include "rebound/sim/herd.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::sim {
namespace {

using namespace std::chrono_literals;

HerdResult herd(HerdOptions o, BackoffKind j) {
  auto r = simulate_herd(o, j);
  EXPECT_THAT(r, IsOk());
  return r.value_or(HerdResult{});
}

std::map<BackoffKind, HerdResult> by_strategy(const HerdOptions& o) {
  std::map<BackoffKind, HerdResult> out;
  for (BackoffKind j : herd_strategies()) out[j] = herd(o, j);
  return out;
}

TEST(Herd, SameSeedGivesIdenticalResults) {
  const HerdOptions o{.clients = 40, .seed = 17, .budget_tokens = 30};
  auto a = run_herd(o);
  auto b = run_herd(o);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), 2 * herd_strategies().size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].backoff, (*b)[i].backoff);
    EXPECT_EQ((*a)[i].calls, (*b)[i].calls);
    EXPECT_EQ((*a)[i].completion, (*b)[i].completion);
    EXPECT_EQ((*a)[i].gave_up, (*b)[i].gave_up);
  }
}

TEST(Herd, DifferentSeedsGiveDifferentHerds) {
  const HerdResult a = herd({.clients = 40, .seed = 1, .runs = 1}, BackoffKind::full_jitter);
  const HerdResult b = herd({.clients = 40, .seed = 2, .runs = 1}, BackoffKind::full_jitter);
  EXPECT_NE(a.completion, b.completion);
}

TEST(Herd, EveryClientCompletesWithoutABudget) {
  for (BackoffKind j : herd_strategies()) {
    const HerdResult r = herd({.clients = 30, .seed = 5, .runs = 3}, j);
    EXPECT_EQ(r.completed, 90u) << to_string(j);
    EXPECT_EQ(r.gave_up, 0u) << to_string(j);
    EXPECT_EQ(r.retries_denied, 0u) << to_string(j);
    // One commit per client, and every rejected write was retried.
    EXPECT_GE(r.calls, r.completed) << to_string(j);
    EXPECT_GT(r.completion, 0ns) << to_string(j);
  }
}

TEST(Herd, ASingleClientNeedsExactlyOneCall) {
  for (BackoffKind j : herd_strategies()) {
    const HerdResult r = herd({.clients = 1, .seed = 3, .runs = 5}, j);
    EXPECT_EQ(r.calls, 5u) << to_string(j);
    EXPECT_EQ(r.mean_calls(), 1.0) << to_string(j);
    EXPECT_EQ(r.completed, 5u) << to_string(j);
    // Four one-way trips (read, reply, write, reply), ~10 ms each.
    EXPECT_GT(r.completion, 20ms) << to_string(j);
    EXPECT_LT(r.completion, 80ms) << to_string(j);
  }
}

// The blog's findings for 50..100 clients, for fixed seeds: exponential
// backoff without jitter does by far the most work and takes by far the
// longest; equal jitter does more work than full jitter and takes longer;
// decorrelated jitter does a little more work than full jitter. (The blog
// also finds decorrelated slightly quicker than full jitter; in this model the
// two completion times are within noise of each other, so that is not asserted.)
TEST(Herd, ReproducesTheBlogsOrderingFrom50To100Clients) {
  for (std::uint64_t seed : {1u, 42u}) {
    for (int n = 50; n <= 100; n += 10) {
      SCOPED_TRACE(::testing::Message() << "seed " << seed << ", " << n << " clients");
      const auto r = by_strategy({.clients = n, .seed = seed});
      const double exp_calls = r.at(BackoffKind::exponential).mean_calls();
      const double full = r.at(BackoffKind::full_jitter).mean_calls();
      const double equal = r.at(BackoffKind::equal_jitter).mean_calls();
      const double decorrelated = r.at(BackoffKind::decorrelated_jitter).mean_calls();
      const double constant = r.at(BackoffKind::constant).mean_calls();
      // Both strategies without jitter do far more work than any with it.
      EXPECT_GT(exp_calls, 1.5 * std::max({full, equal, decorrelated}));
      EXPECT_GT(constant, 1.5 * std::max({full, equal, decorrelated}));
      // "Equal BackoffKind ... does slightly more work than Full Jitter": the
      // blog's own simulator puts it 2-4% above (see docs/herd.md), so the
      // margin asserted is small but not zero.
      EXPECT_GT(equal, 1.005 * full);
      // "Full BackoffKind uses less work" than decorrelated jitter.
      EXPECT_GT(decorrelated, 1.01 * full);

      const auto exp_time = r.at(BackoffKind::exponential).completion;
      const auto full_time = r.at(BackoffKind::full_jitter).completion;
      const auto equal_time = r.at(BackoffKind::equal_jitter).completion;
      const auto decorrelated_time = r.at(BackoffKind::decorrelated_jitter).completion;
      EXPECT_GT(exp_time, 5 * std::max({full_time, equal_time, decorrelated_time}));
      EXPECT_GT(equal_time, full_time * 6 / 5);
    }
  }
}

TEST(Herd, RunsOnlyTheStrategiesAskedForWithAndWithoutBudget) {
  const std::vector<BackoffKind> two = {BackoffKind::decorrelated_jitter, BackoffKind::exponential};
  auto rows = run_herd({.clients = 20, .seed = 3, .runs = 2, .budget_tokens = 10}, two);
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].backoff, BackoffKind::decorrelated_jitter);
  EXPECT_EQ((*rows)[1].backoff, BackoffKind::exponential);
  EXPECT_EQ((*rows)[2].backoff, BackoffKind::decorrelated_jitter);
  EXPECT_EQ((*rows)[3].backoff, BackoffKind::exponential);
  EXPECT_FALSE((*rows)[0].budgeted);
  EXPECT_TRUE((*rows)[3].budgeted);
  // A row does not depend on which other strategies share the table.
  const HerdResult alone = herd({.clients = 20, .seed = 3, .runs = 2}, BackoffKind::exponential);
  EXPECT_EQ((*rows)[1].calls, alone.calls);
  EXPECT_EQ((*rows)[1].completion, alone.completion);
}

TEST(Herd, RejectsAnEmptyStrategyList) {
  auto rows = run_herd({.clients = 5}, std::vector<BackoffKind>{});
  ASSERT_FALSE(rows.has_value());
  EXPECT_THAT(rows, HasErrorMessage(HasSubstr("strategies")));
}

TEST(Herd, WorkGrowsFasterThanTheHerdWithoutJitter) {
  // N clients in lock step commit about one per round: ~N^2/2 calls for
  // constant delays, while full jitter stays close to linear.
  const HerdResult none50 = herd({.clients = 50, .seed = 9}, BackoffKind::constant);
  const HerdResult none100 = herd({.clients = 100, .seed = 9}, BackoffKind::constant);
  const HerdResult full50 = herd({.clients = 50, .seed = 9}, BackoffKind::full_jitter);
  const HerdResult full100 = herd({.clients = 100, .seed = 9}, BackoffKind::full_jitter);
  EXPECT_GT(none100.mean_calls() / none50.mean_calls(), 3.0);
  EXPECT_LT(full100.mean_calls() / full50.mean_calls(), 2.8);
}

TEST(Herd, TightBudgetDeniesRetriesAndBoundsTotalCalls) {
  constexpr int kClients = 100;
  constexpr double kTokens = 20;
  for (BackoffKind j : herd_strategies()) {
    const HerdResult r =
        herd({.clients = kClients, .seed = 11, .runs = 1, .budget_tokens = kTokens}, j);
    EXPECT_GT(r.retries_denied, 0u) << to_string(j);
    EXPECT_GT(r.gave_up, 0u) << to_string(j);
    EXPECT_EQ(r.completed + r.gave_up, static_cast<std::uint64_t>(kClients)) << to_string(j);
    // A denied client stops: one denial per client that gave up.
    EXPECT_EQ(r.retries_denied, r.gave_up) << to_string(j);
    // Retries allowed: half the bucket plus 0.1 per commit refunded.
    const double bound = kClients + kTokens / 2 + 0.1 * kClients + 1;
    EXPECT_LE(static_cast<double>(r.calls), bound) << to_string(j);
  }
}

TEST(Herd, BudgetCapsTheStampedeThatNoJitterCauses) {
  const HerdResult free = herd({.clients = 100, .seed = 4}, BackoffKind::exponential);
  const HerdResult capped =
      herd({.clients = 100, .seed = 4, .budget_tokens = 100}, BackoffKind::exponential);
  EXPECT_GT(free.mean_calls(), 1000);
  EXPECT_LE(capped.mean_calls(), 100 + 50 + 10 + 1);
  EXPECT_GT(capped.mean_gave_up(), 0);
}

TEST(Herd, GenerousBudgetChangesNothing) {
  const HerdResult free = herd({.clients = 20, .seed = 8}, BackoffKind::full_jitter);
  const HerdResult budgeted =
      herd({.clients = 20, .seed = 8, .budget_tokens = 1e6}, BackoffKind::full_jitter);
  EXPECT_EQ(free.calls, budgeted.calls);
  EXPECT_EQ(free.completion, budgeted.completion);
  EXPECT_EQ(budgeted.gave_up, 0u);
}

TEST(HerdOptions, RejectsInvalidValuesNamingTheField) {
  struct Case {
    HerdOptions options;
    const char* field;
  };
  const std::vector<Case> cases = {
      {{.clients = 0}, "clients"},
      {{.clients = -3}, "clients"},
      {{.base = 0ms}, "base"},
      {{.base = 100ms, .cap = 50ms}, "cap"},
      {{.multiplier = 0.5}, "multiplier"},
      {{.network_mean = 0ms}, "network_mean"},
      {{.network_sd = -1ms}, "network_sd"},
      {{.runs = 0}, "runs"},
      {{.budget_tokens = -1}, "budget_tokens"},
      {{.max_total_calls = 0}, "max_total_calls"},
  };
  for (const Case& c : cases) {
    auto r = make_herd_options(c.options);
    ASSERT_FALSE(r.has_value()) << c.field;
    EXPECT_EQ(r.error().error_class, ErrorClass::permanent);
    EXPECT_THAT(r, HasErrorMessage(HasSubstr(c.field)));
    EXPECT_FALSE(simulate_herd(c.options, BackoffKind::full_jitter).has_value()) << c.field;
  }
  EXPECT_TRUE(make_herd_options({}).has_value());
}

TEST(Herd, StopsWithAnErrorInsteadOfRunningForever) {
  auto r = simulate_herd({.clients = 50, .seed = 1, .runs = 1, .max_total_calls = 100},
                         BackoffKind::constant);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("did not converge")));
}

}  // namespace
}  // namespace rebound::sim
