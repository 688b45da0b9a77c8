// `rebound fleet` end to end: short fleets on SQLite and PostgreSQL, fault
// rates at zero and high, the naive column biting on a small max_connections,
// and invalid options rejected with clear errors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_fixture.hpp"
#include "rebound/testing/command.hpp"
#include "rebound/testing/postgres_server.hpp"

namespace rebound {
namespace {

using cli_test::binary;
using testing::CommandResult;

CommandResult fleet(std::vector<std::string> args) {
  args.insert(args.begin(), {binary(), "fleet"});
  return testing::run_command(args);
}

// A short fleet: enough processors and overlap to conflict, seconds to run;
// 25 batches per processor, because the first request of each pooled
// connection pays for the connection, so reuse shows after a few dozen calls.
std::vector<std::string> short_fleet(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--processors", "8",  "--batches", "25",
                                   "--rows",       "10", "--json",    "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

nlohmann::json parse(const CommandResult& r) {
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << "stdout is not JSON:\n" << r.out << "\nstderr:\n" << r.err;
  return doc;
}

void expect_rows_exact(const nlohmann::json& run) {
  EXPECT_GT(run["rows_expected"].get<int>(), 0);
  EXPECT_EQ(run["rows_in_table"], run["rows_expected"]);
  EXPECT_EQ(run["rows_wrong"], 0);
  EXPECT_EQ(run["rows_lost"], 0);
  EXPECT_EQ(run["operations_failed"], 0) << run["sample_errors"].dump(2);
}

testing::PostgresServer& postgres() {
  // max_connections 20: a naive fleet of 32 processors must run out.
  return testing::PostgresServer::shared_or_abort({.max_connections = 20});
}

// The latency and acquisition rows are timings: they are the benchmark's
// business (BENCHMARKS.md), not a test's. Tests assert what is counted.
void expect_rebound_counts_pass(const nlohmann::json& doc) {
  const auto& rebound = doc["rebound"];
  expect_rows_exact(rebound);
  EXPECT_GT(rebound["connection_reuse_rate"].get<double>(), 0.9);
  EXPECT_GT(rebound["retry_success_rate"].get<double>(), 0.95);
  EXPECT_EQ(rebound["too_many_connections"].get<int>(), 0);
  EXPECT_EQ(doc["naive"]["connection_reuse_rate"].get<double>(), 0.0);
}

TEST(FleetCli, SqliteShortRunMeetsTheCountedTargetsWithRowsExact) {
  const CommandResult r = fleet(short_fleet());
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.out << r.err;
  const auto doc = parse(r);
  ASSERT_TRUE(doc.is_object());
  expect_rebound_counts_pass(doc);
  EXPECT_GT(doc["rebound"]["retries"].get<int>(), 0)
      << "faults were injected: something must have been retried";
  // The exit code follows the table: 0 exactly when every scored row passes.
  bool all_pass = true;
  for (const auto& row : doc["table"]) {
    if (row["scored"].get<bool>() && !row["pass"].get<bool>()) all_pass = false;
  }
  EXPECT_EQ(doc["pass"].get<bool>(), all_pass);
  EXPECT_EQ(r.exit_code, all_pass ? 0 : 1);
}

TEST(FleetCli, PostgresNaiveRunsOutOfConnectionsReboundDoesNot) {
  const std::string url = postgres().url();
  // No outage here: this test is about connections (fleet_trigger_cli_test covers the trigger).
  const CommandResult r =
      fleet({"--processors", "32", "--batches", "12", "--rows", "10", "--json", "--quiet",
             "--warehouse", url, "--pool-size", "6", "--trigger-ms", "0",
             // Retry delays x0.04: a 12 s serialization deadline, so a loaded machine
             // (or a sanitizer build) still retries every conflict to the end.
             "--scale", "0.04"});
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.out << r.err;
  const auto doc = parse(r);
  ASSERT_TRUE(doc.is_object()) << r.err;
  EXPECT_GT(doc["naive"]["too_many_connections"].get<int>(), 0) << "the control run must bite";
  EXPECT_GT(doc["rebound"]["conflicts"].get<int>(), 0)
      << "SERIALIZABLE writers must have conflicted";
  expect_rebound_counts_pass(doc);
}

TEST(FleetCli, ZeroFaultRatesStillWriteEveryRow) {
  const CommandResult r = fleet(
      short_fleet({"--error-rate", "0", "--throttle-rate", "0", "--drop-rate", "0", "--slow-rate",
                   "0", "--trigger-ms", "0"}));  // the trigger (an outage) is a fault too
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.out << r.err;
  const auto doc = parse(r);
  expect_rows_exact(doc["rebound"]);
  expect_rows_exact(doc["naive"]);  // nothing fails without faults: both exact
}

TEST(FleetCli, HighFaultRatesHurtTheNaiveWayMore) {
  const CommandResult r =
      fleet(short_fleet({"--error-rate", "0.3", "--drop-rate", "0.2", "--throttle-rate", "0"}));
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  const auto doc = parse(r);
  const auto& naive = doc["naive"];
  const auto& rebound = doc["rebound"];
  EXPECT_GT(naive["operations_failed"].get<int>(), rebound["operations_failed"].get<int>());
  // Whatever failed, nothing written is wrong or doubled: lost rows are the only damage.
  for (const auto* run : {&naive, &rebound}) {
    EXPECT_EQ((*run)["rows_wrong"].get<int>(), 0);
    EXPECT_EQ((*run)["rows_in_table"].get<int>() + (*run)["rows_lost"].get<int>(),
              (*run)["rows_expected"].get<int>());
  }
}

TEST(FleetCli, WritesMetricsAndPlotFiles) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("fleet-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto metrics = (dir / "fleet.prom").string();
  const auto plot = (dir / "fleet.svg").string();
  const CommandResult r = fleet(short_fleet({"--metrics", metrics, "--plot", plot}));
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  std::stringstream prom, svg;
  prom << std::ifstream(metrics).rdbuf();
  svg << std::ifstream(plot).rdbuf();
  EXPECT_NE(prom.str().find("# TYPE rebound_fleet_operations_total counter"), std::string::npos)
      << prom.str();
  EXPECT_NE(prom.str().find("rebound_fleet_operations_total{mode=\"rebound\"} 200"),
            std::string::npos);
  EXPECT_NE(prom.str().find("rebound_http_connections_reused_total{mode=\"rebound\"}"),
            std::string::npos);
  EXPECT_EQ(svg.str().rfind("<svg", 0), 0u);
  EXPECT_NE(svg.str().find("</svg>"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(FleetCli, InvalidOptionsGetClearErrors) {
  auto expect_usage = [](std::vector<std::string> args, const std::string& needle, int code) {
    const CommandResult r = fleet(args);
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
    EXPECT_EQ(r.out.find("\"pass\""), std::string::npos) << "no report for a rejected run";
  };
  expect_usage({"--processors", "-3"}, "--processors -3", 2);
  expect_usage({"--batches", "0"}, "--batches 0", 2);
  expect_usage({"--error-rate", "1.5"}, "--error-rate 1.5", 2);
  expect_usage({"--error-rate", "0.6", "--drop-rate", "0.6"}, "fault rates add up", 2);
  expect_usage({"--warehouse", "mysql://user:hunter2@db/x", "--quiet"}, "mysql", 2);
  expect_usage({"--source", "http://127.0.0.1:1", "--quiet"}, "127.0.0.1:1", 4);
  // The password never reaches the terminal.
  const CommandResult r = fleet({"--warehouse", "mysql://user:hunter2@db/x", "--quiet"});
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rebound
