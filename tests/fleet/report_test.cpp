// The success table's rows and verdicts, from hand-made RunStats: what each
// target accepts and refuses, and that informational rows never fail a run.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "rebound/fleet/report.hpp"

namespace rebound::fleet {
namespace {

// A rebound run that meets every target, and a naive run to compare with.
RunStats passing_rebound() {
  RunStats r;
  r.mode = "rebound";
  r.client_acquire_ns = {200, 250, 300};
  r.http_latency_ms = {2, 2, 3};
  r.http_new_connections = 5;
  r.http_reused_connections = 95;
  r.operations = 10;
  r.operations_retried = 4;
  r.operations_recovered = 4;
  r.rows_expected = r.rows_in_table = 100;
  r.retry_delays_ms = {1, 9, 3, 20};
  return r;
}

RunStats naive_run() {
  RunStats r;
  r.mode = "naive";
  r.client_acquire_ns = {100'000, 120'000, 140'000};
  r.http_latency_ms = {15, 16, 17};
  r.http_new_connections = 100;
  r.operations = 10;
  return r;
}

const SuccessRow& row(const std::vector<SuccessRow>& rows, std::string_view metric) {
  auto it = std::find_if(rows.begin(), rows.end(),
                         [&](const SuccessRow& r) { return r.metric == metric; });
  EXPECT_NE(it, rows.end()) << metric;
  return *it;
}

TEST(FleetReport, AGoodReboundRunPassesEveryScoredRow) {
  const auto rows = success_rows(naive_run(), passing_rebound());
  ASSERT_EQ(rows.size(), 10u);
  for (const SuccessRow& r : rows) EXPECT_TRUE(!r.scored || r.pass) << r.metric;
  EXPECT_TRUE(all_pass(rows));
  EXPECT_EQ(row(rows, "client acquisition (median)").rebound, "250 ns cached (480x)");
  EXPECT_EQ(row(rows, "connection reuse").rebound, "95.0%");
  EXPECT_EQ(row(rows, "rows written / expected").rebound, "100/100");
}

TEST(FleetReport, EachTargetRefusesWhatItMust) {
  const RunStats naive = naive_run();
  auto fails = [&](auto change, std::string_view metric) {
    RunStats rebound = passing_rebound();
    change(rebound);
    const auto rows = success_rows(naive, rebound);
    EXPECT_FALSE(row(rows, metric).pass) << metric;
    EXPECT_FALSE(all_pass(rows)) << metric;
  };
  fails([](RunStats& r) { r.client_acquire_ns = {1'000, 1'000}; }, "client acquisition (median)");
  fails([](RunStats& r) { r.http_latency_ms = {5, 5}; }, "HTTP latency p50");
  fails([](RunStats& r) { r.http_reused_connections = 40; }, "connection reuse");
  fails([](RunStats& r) { r.operations_recovered = 3; }, "retry success rate");
  fails([](RunStats& r) { r.too_many_connections = 1; }, "too-many-connections errors");
  fails([](RunStats& r) { r.rows_lost = 1; }, "rows written / expected");
  fails([](RunStats& r) { r.rows_wrong = 1; }, "rows written / expected");
  fails([](RunStats& r) { r.rows_expected = r.rows_in_table = 0; }, "rows written / expected");
  fails([](RunStats& r) { r.retry_delays_ms = {10, 10, 10, 10}; }, "retry spread (CV of waits)");
  fails([](RunStats& r) { r.operations_failed = 1; }, "operations failed");
}

TEST(FleetReport, InformationalRowsAndFewRetriesNeverFail) {
  RunStats rebound = passing_rebound();
  rebound.wall_seconds = 1e6;      // wall time is (info)
  rebound.retry_delays_ms = {5};   // one wait: no gaps to compare
  rebound.operations_retried = 0;  // nothing retried: 100% recovered
  rebound.operations_recovered = 0;
  const auto rows = success_rows(naive_run(), rebound);
  EXPECT_FALSE(row(rows, "wall time").scored);
  EXPECT_FALSE(row(rows, "HTTP latency p99").scored);
  EXPECT_EQ(row(rows, "retry spread (CV of waits)").rebound, "n/a (no retries)");
  EXPECT_TRUE(all_pass(rows));
}

TEST(FleetReport, TableAndJsonCarryEveryRow) {
  const auto rows = success_rows(naive_run(), passing_rebound());
  std::ostringstream table;
  print_table(table, rows);
  for (const SuccessRow& r : rows) EXPECT_NE(table.str().find(r.metric), std::string::npos);
  const nlohmann::json doc = to_json(rows);
  ASSERT_EQ(doc.size(), rows.size());
  EXPECT_EQ(doc[0]["metric"], "client acquisition (median)");
  EXPECT_TRUE(to_json(passing_rebound()).contains("rows_in_table"));
}

}  // namespace
}  // namespace rebound::fleet
