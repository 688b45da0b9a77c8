// `rebound fleet`'s trigger: the built-in source answers 503 to everything for
// a window of each run; the rebound run (breaker + budget + jittered retries)
// loses no operation and recovers, the naive run loses operations.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rebound/testing/command.hpp"

namespace rebound {
namespace {

testing::CommandResult fleet(std::vector<std::string> args) {
  const char* env = std::getenv("REBOUND_BIN");
  args.insert(args.begin(), {env ? env : REBOUND_BINARY, "fleet"});
  return testing::run_command(args);
}

const nlohmann::json* row_named(const nlohmann::json& doc, const std::string& metric) {
  for (const auto& row : doc["table"]) {
    if (row["metric"] == metric) return &row;
  }
  return nullptr;
}

TEST(FleetTrigger, ReboundRidesOutTheOutageAndRecoversNaiveLosesOperations) {
  const auto r = fleet({"--processors", "16", "--batches", "30", "--rows", "10", "--json",
                        "--quiet", "--trigger-after-ms", "150", "--trigger-ms", "250"});
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.out << r.err;
  const auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out << r.err;
  EXPECT_EQ(doc["config"]["trigger_ms"], 250);
  EXPECT_GT(doc["naive"]["operations_failed"].get<int>(), 0) << "the outage must bite";
  EXPECT_EQ(doc["rebound"]["operations_failed"], 0) << doc["rebound"].dump();
  EXPECT_EQ(doc["rebound"]["rows_in_table"], doc["rebound"]["rows_expected"]);
  const nlohmann::json* recovery = row_named(doc, "recovery after the trigger");
  ASSERT_NE(recovery, nullptr) << doc["table"].dump();
  ASSERT_TRUE((*recovery)["scored"].get<bool>()) << "the run must outlive the trigger";
  EXPECT_TRUE((*recovery)["pass"].get<bool>()) << recovery->dump();
  EXPECT_TRUE(doc["rebound"]["recovered_ms"].is_number());
}

TEST(FleetTrigger, NoTriggerNoRecoveryRowAndBadValuesAreUsageErrors) {
  const auto r = fleet({"--processors", "4", "--batches", "5", "--rows", "5", "--json", "--quiet",
                        "--trigger-ms", "0"});
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  const auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(row_named(doc, "recovery after the trigger"), nullptr);
  EXPECT_TRUE(doc["rebound"]["recovered_ms"].is_null());
  const auto bad = fleet({"--trigger-ms", "-5", "--quiet"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--trigger-ms"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace rebound
