// The overload scenario: retries alone keep an overloaded server down after
// the trigger is gone; the protections end it. Simulated time, fixed seeds.
#include "rebound/sim/overload.hpp"

#include <gtest/gtest.h>

#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::sim {
namespace {

using namespace std::chrono_literals;

const OverloadRow& row(const std::vector<OverloadRow>& rows, Protection p) {
  for (const OverloadRow& r : rows) {
    if (r.protection == p) return r;
  }
  throw std::logic_error("no row");
}

class Metastable : public ::testing::TestWithParam<std::tuple<std::uint64_t, Trigger>> {};

TEST_P(Metastable, RetriesAloneNeverRecoverAndAllRecoversWithoutAmplifying) {
  const auto [seed, trigger] = GetParam();
  auto rows = run_overload({.seed = seed, .trigger = trigger});
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 5u);
  const OverloadRow& none = row(*rows, Protection::none);
  const OverloadRow& all = row(*rows, Protection::all);
  EXPECT_GE(none.pre_trigger_goodput, 0.99);  // healthy before the trigger: load < capacity
  ASSERT_TRUE(all.recovered.has_value());
  // The bar: retries alone never recover, or at least 5x later.
  if (none.recovered) {
    EXPECT_GE(*none.recovered, 5 * *all.recovered);
  }
  EXPECT_FALSE(none.recovered.has_value()) << "retries alone recovered by themselves";
  EXPECT_GT(none.amplification, 2.5);  // the retries are what keeps it down
  EXPECT_GT(none.wasted, none.offered / 2);
  EXPECT_LE(all.amplification, 1.5);
  EXPECT_GT(all.goodput, 2 * none.goodput);
  for (Protection p : {Protection::budget, Protection::breaker, Protection::adaptive}) {
    EXPECT_TRUE(row(*rows, p).recovered.has_value()) << to_string(p);
    EXPECT_LE(row(*rows, p).amplification, 1.5) << to_string(p);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, Metastable,
                         ::testing::Combine(::testing::Values(1u, 2u, 3u),
                                            ::testing::Values(Trigger::capacity_drop,
                                                              Trigger::latency_spike)));

TEST(Overload, TheSameSeedGivesTheSameRows) {
  auto a = run_overload({.seed = 5});
  auto b = run_overload({.seed = 5});
  ASSERT_TRUE(a && b);
  for (std::size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].calls, (*b)[i].calls);
    EXPECT_EQ((*a)[i].succeeded, (*b)[i].succeeded);
    EXPECT_EQ((*a)[i].recovered, (*b)[i].recovered);
    EXPECT_EQ((*a)[i].window_goodput, (*b)[i].window_goodput);
  }
  auto c = run_overload({.seed = 6});
  ASSERT_TRUE(c);
  EXPECT_NE((*a)[0].offered, (*c)[0].offered);
}

TEST(Overload, EveryProtectionFacesTheSameWorkload) {
  auto rows = run_overload({.seed = 9});
  ASSERT_TRUE(rows);
  for (const OverloadRow& r : *rows) EXPECT_EQ(r.offered, rows->front().offered);
}

TEST(Overload, BelowCapacityWithoutATriggerRetriesAloneAreFine) {
  auto r = simulate_overload({.seed = 4, .trigger_length = 0s}, Protection::none);
  ASSERT_TRUE(r);
  EXPECT_GE(r->goodput, 0.99);
  EXPECT_LT(r->amplification, 1.05);
  EXPECT_EQ(r->recovered, Duration::zero());
}

TEST(Overload, InvalidOptionsNameTheField) {
  auto bad = [](OverloadOptions o) { return make_overload_options(o); };
  EXPECT_THAT(bad({.clients = 0}), HasErrorMessage(HasSubstr("clients")));
  EXPECT_THAT(bad({.offered_rps = -1}), HasErrorMessage(HasSubstr("offered_rps")));
  EXPECT_THAT(bad({.trigger_start = 39s, .trigger_length = 2s}),
              HasErrorMessage(HasSubstr("trigger_length")));
  EXPECT_THAT(bad({.max_attempts = 0}), HasErrorMessage(HasSubstr("max_attempts")));
  EXPECT_FALSE(run_overload({}, std::span<const Protection>{}));
  EXPECT_EQ(parse_protection("all"), Protection::all);
  EXPECT_EQ(parse_protection("everything"), std::nullopt);
}

}  // namespace
}  // namespace rebound::sim
