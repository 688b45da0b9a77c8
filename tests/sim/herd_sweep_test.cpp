// The herd sweep and the tables `rebound herd` prints: herd sizes, the
// strategies each once, bounds that name the field, one table per size
// equal to run_herd's, and the text and JSON of the herd and overload tables.
#include "rebound/sim/herd_sweep.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "rebound/sim/overload_report.hpp"
#include "rebound/testing/matchers.hpp"

namespace rebound::sim {
namespace {

using namespace std::chrono_literals;
using rebound::testing::HasErrorClass;
using rebound::testing::IsOk;

TEST(HerdSweep, SizesRunFromTheFirstToTheLargestByStep) {
  EXPECT_EQ(herd_sizes({.clients_max = 100, .step = 25}), (std::vector<int>{25, 50, 75, 100}));
  EXPECT_EQ(herd_sizes({.clients_min = 3, .clients_max = 10, .step = 4}), (std::vector<int>{3, 7}));
  EXPECT_EQ(herd_sizes({.clients_max = 5, .step = 10}), (std::vector<int>{5}))
      << "a step above the largest herd starts at the largest herd";
  EXPECT_EQ(herd_sizes({.clients_max = 2147483647, .step = 2147483000}),
            (std::vector<int>{2147483000}))
      << "no overflow past INT_MAX";
}

TEST(HerdSweep, StrategiesDefaultToAllAndCountOnce) {
  EXPECT_EQ(sweep_strategies({}), herd_strategies());
  const HerdSweep sweep{
      .strategies = {BackoffKind::full_jitter, BackoffKind::exponential, BackoffKind::full_jitter}};
  EXPECT_EQ(sweep_strategies(sweep),
            (std::vector<BackoffKind>{BackoffKind::full_jitter, BackoffKind::exponential}));
}

TEST(HerdSweep, BoundsAreCheckedAndNameTheField) {
  EXPECT_THAT(check_herd_sweep({}), IsOk());
  struct Bad {
    HerdSweep sweep;
    const char* field;
  };
  for (const Bad& bad : {
           Bad{{.step = 0}, "step"},
           Bad{{.clients_max = 0}, "clients_max"},
           Bad{{.clients_max = kMaxHerdClients + 1}, "clients_max"},
           Bad{{.clients_min = 200}, "clients_min"},
           Bad{{.clients_max = kMaxHerdClients, .step = 1}, "step"},
           Bad{{.herd = {.runs = kMaxHerdRuns + 1}}, "runs"},
           Bad{{.herd = {.base = 10ms, .cap = 5ms}}, "cap"},
       }) {
    const Status checked = check_herd_sweep(bad.sweep);
    ASSERT_THAT(checked, HasErrorClass(ErrorClass::permanent)) << bad.field;
    EXPECT_NE(checked.error().message.find(bad.field), std::string::npos)
        << checked.error().message;
  }
}

TEST(HerdSweep, EachSizeIsRunHerdForThatSize) {
  const HerdSweep sweep{.herd = {.seed = 3, .runs = 2, .budget_tokens = 10},
                        .clients_max = 20,
                        .step = 10,
                        .strategies = {BackoffKind::full_jitter}};
  auto table = run_herd_size(sweep, 20);
  ASSERT_THAT(table, IsOk());
  const std::vector<BackoffKind> full = {BackoffKind::full_jitter};
  auto direct = run_herd({.clients = 20, .seed = 3, .runs = 2, .budget_tokens = 10}, full);
  ASSERT_THAT(direct, IsOk());
  ASSERT_EQ(table->size(), 2u) << "full jitter, then full jitter + budget";
  for (std::size_t i = 0; i < table->size(); ++i) {
    EXPECT_EQ((*table)[i].calls, (*direct)[i].calls);
    EXPECT_EQ((*table)[i].completion, (*direct)[i].completion);
    EXPECT_EQ((*table)[i].budgeted, (*direct)[i].budgeted);
  }
}

HerdResult sample_row() {
  return {.backoff = BackoffKind::full_jitter,
          .budgeted = true,
          .clients = 10,
          .runs = 2,
          .calls = 50,
          .completed = 18,
          .gave_up = 2,
          .retries_denied = 4,
          .completion = 1500us};
}

TEST(HerdTable, PrintsOneLinePerRowWithTheMeansPerRun) {
  std::ostringstream out;
  const std::vector<HerdResult> rows = {sample_row()};
  print_herd_table(out, 10, rows);
  EXPECT_EQ(out.str(),
            "\n10 clients\n"
            "strategy                             calls   time (ms)  calls/client  gave up\n"
            "full jitter + budget                  25.0         1.5          2.50      1.0\n");
  const nlohmann::json row = herd_row_json(sample_row());
  EXPECT_EQ(row["strategy"], "full");
  EXPECT_EQ(row["budget"], true);
  EXPECT_EQ(row["calls"], 25.0);
  EXPECT_EQ(row["completion_ms"], 1.5);
  EXPECT_EQ(row["calls_per_client"], 2.5);
  EXPECT_EQ(row["gave_up"], 1.0);
  EXPECT_EQ(row["retries_denied"], 2.0);
}

TEST(OverloadReport, TableAndJsonHaveARowPerProtection) {
  const OverloadOptions options{};
  const std::vector<OverloadRow> rows = {{.protection = Protection::none,
                                          .offered = 100,
                                          .calls = 400,
                                          .goodput = 0.25,
                                          .amplification = 4},
                                         {.protection = Protection::all,
                                          .offered = 100,
                                          .calls = 110,
                                          .goodput = 0.95,
                                          .amplification = 1.1,
                                          .recovered = 1500ms}};
  std::ostringstream out;
  print_overload_table(out, options, rows);
  const std::string text = out.str();
  EXPECT_TRUE(
      text.starts_with("rebound herd --scenario overload: seed 1, 8 clients offer 700 "
                       "req/s to a server of 1000 req/s (10 slots, queue 1000).\n"))
      << text;
  EXPECT_NE(text.find("none            100      400    0.250          4.00"), std::string::npos)
      << text;
  EXPECT_NE(text.find("never"), std::string::npos);
  EXPECT_NE(text.find("1500 ms"), std::string::npos);
  const nlohmann::ordered_json doc = overload_json(rows);
  EXPECT_EQ(
      doc.dump(),
      R"({"scenario":"overload","rows":[{"protection":"none","calls":400,"offered":100,)"
      R"("goodput":0.25,"amplification":4.0,"recovered_ms":null},{"protection":"all",)"
      R"("calls":110,"offered":100,"goodput":0.95,"amplification":1.1,"recovered_ms":1500}]})");
}

}  // namespace
}  // namespace rebound::sim
