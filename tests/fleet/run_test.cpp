// The fleet as a library: the row check on a real SQLite table, and a small
// fleet of both modes on SQLite with the built-in source.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rebound/core/temp_dir.hpp"
#include "rebound/fleet/compare.hpp"
#include "rebound/fleet/target.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/open.hpp"

namespace rebound::fleet {
namespace {

using rebound::testing::IsOk;
namespace wh = rebound::warehouse;

class FleetTarget : public ::testing::Test {
 protected:
  TempDir dir_ = TempDir::make("rebound-fleet-test-").value();
  std::shared_ptr<wh::Warehouse> wh_ = wh::open_warehouse((dir_.path() / "t.db").string()).value();
  Workload work_{.seed = 7, .processors = 2, .batches = 2, .rows = 3, .key_space = 4};
  const std::string table_ = target_table(Mode::rebound);

  void insert(std::int64_t id, const std::string& name, std::int64_t score) {
    ASSERT_THAT(
        wh_->execute("INSERT INTO fleet_rebound (id, name, score) VALUES (" + std::to_string(id) +
                     ", '" + name + "', " + std::to_string(score) + ")"),
        IsOk());
  }
};

TEST_F(FleetTarget, ExactTableHasNothingLostOrWrong) {
  ASSERT_THAT(prepare_target(*wh_, table_), IsOk());
  const auto expected = work_.expected();
  for (const auto& [id, r] : expected) insert(id, r.name, r.score);
  RunStats stats;
  ASSERT_THAT(check_rows(*wh_, table_, expected, stats), IsOk());
  EXPECT_EQ(stats.rows_expected, expected.size());
  EXPECT_EQ(stats.rows_in_table, expected.size());
  EXPECT_EQ(stats.rows_lost, 0u);
  EXPECT_EQ(stats.rows_wrong, 0u);
}

TEST_F(FleetTarget, MissingWrongAndUnexpectedRowsAreCounted) {
  ASSERT_THAT(prepare_target(*wh_, table_), IsOk());
  const auto expected = work_.expected();
  ASSERT_GE(expected.size(), 2u);
  auto it = expected.begin();
  insert(it->first, it->second.name, it->second.score + 1);  // wrong score
  ++it;                                                      // the rest: lost
  insert(999'999, "stranger", 1);                            // not expected
  RunStats stats;
  ASSERT_THAT(check_rows(*wh_, table_, expected, stats), IsOk());
  EXPECT_EQ(stats.rows_in_table, 2u);
  EXPECT_EQ(stats.rows_wrong, 2u);
  EXPECT_EQ(stats.rows_lost, expected.size() - 1);
}

TEST_F(FleetTarget, PrepareStartsFromAnEmptyTable) {
  ASSERT_THAT(prepare_target(*wh_, table_), IsOk());
  insert(1, "a", 1);
  ASSERT_THAT(prepare_target(*wh_, table_), IsOk());
  auto rows = wh_->query("SELECT COUNT(*) FROM fleet_rebound");
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(std::get<std::int64_t>(rows->rows.at(0).at(0)), 0);
}

TEST(FleetCompare, SmallFleetOnSqliteWritesEveryRowBothWays) {
  metrics::Registry registry;
  const Workload work{.seed = 3, .processors = 4, .batches = 3, .rows = 5, .key_space = 20};
  auto done = compare({.workload = work,
                       .faults = {.error_rate = 0.1,
                                  .throttle_rate = 0,
                                  .drop_rate = 0.05,
                                  .slow_rate = 0,
                                  .latency = std::chrono::microseconds{0}},
                       .scale = 0.001,
                       .registry = &registry});
  ASSERT_TRUE(done) << done.error().error.describe();
  const std::size_t keys = work.expected().size();
  for (const RunStats* r : {&done->naive, &done->rebound}) {
    EXPECT_EQ(r->operations, 12u) << r->mode;
    EXPECT_EQ(r->rows_expected, keys) << r->mode;
    EXPECT_EQ(r->rows_in_table + r->rows_lost, keys) << r->mode;  // naive may lose some
    EXPECT_EQ(r->rows_wrong, 0u) << r->mode;
  }
  // The rebound way loses nothing.
  EXPECT_EQ(done->rebound.operations_failed, 0u)
      << ::testing::PrintToString(done->rebound.sample_errors);
  EXPECT_EQ(done->rebound.rows_in_table, keys);
  EXPECT_TRUE(done->builtin_source);
  EXPECT_EQ(done->rows.size(), 10u);
  const std::string text = registry.prometheus_text();
  EXPECT_NE(text.find("rebound_fleet_operations_total{mode=\"rebound\"} 12"), std::string::npos)
      << text;
  EXPECT_EQ(to_json(*done)["config"]["source"], "built-in");
}

TEST(FleetCompare, AnUnreachableSourceIsAProbeFailure) {
  auto done = compare({.workload = {.processors = 1, .batches = 1, .rows = 1, .key_space = 1},
                       .source_url = "http://127.0.0.1:1/"});
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().stage, CompareStage::source_probe);
  EXPECT_NE(done.error().error.message.find("127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace rebound::fleet
