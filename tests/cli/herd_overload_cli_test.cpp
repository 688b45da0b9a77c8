// `rebound herd --scenario overload` as a user runs it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rebound/testing/command.hpp"

namespace {

using rebound::testing::CommandResult;
using rebound::testing::run_command;

CommandResult herd(std::vector<std::string> args) {
  args.insert(args.begin(), {REBOUND_BINARY, "herd", "--scenario", "overload"});
  return run_command(args);
}

TEST(HerdOverloadCommand, JsonHasTheDocumentedShapeAndIsDeterministic) {
  const CommandResult a = herd({"--json", "--seed", "2"});
  const CommandResult b = herd({"--json", "--seed", "2"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  const auto doc = nlohmann::json::parse(a.out);
  EXPECT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc.at("scenario"), "overload");
  const std::vector<std::string> names = {"none", "budget", "breaker", "adaptive", "all"};
  ASSERT_EQ(doc.at("rows").size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& row = doc["rows"][i];
    EXPECT_EQ(row.size(), 6u) << row.dump();
    EXPECT_EQ(row.at("protection"), names[i]);
    EXPECT_TRUE(row.at("calls").is_number_unsigned());
    EXPECT_TRUE(row.at("offered").is_number_unsigned());
    EXPECT_TRUE(row.at("goodput").is_number());
    EXPECT_TRUE(row.at("amplification").is_number());
    EXPECT_TRUE(row.at("recovered_ms").is_null() || row.at("recovered_ms").is_number_integer());
  }
  EXPECT_TRUE(doc["rows"][0]["recovered_ms"].is_null());  // retries only: never recovers
  EXPECT_TRUE(doc["rows"][4]["recovered_ms"].is_number_integer());
  EXPECT_LE(doc["rows"][4]["amplification"].get<double>(), 1.5);
}

TEST(HerdOverloadCommand, TablePrintsOneRowPerProtection) {
  const CommandResult r = herd({"--trigger", "latency_spike"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"protection", "amplification", "recovered", "none", "budget", "breaker",
                        "adaptive", "all", "never", "latency_spike"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " missing from\n" << r.out;
  }
}

TEST(HerdOverloadCommand, BadScenarioOrTriggerIsAUsageError) {
  const CommandResult t = herd({"--trigger", "meteor"});
  EXPECT_EQ(t.exit_code, 2);
  EXPECT_NE(t.err.find("--trigger"), std::string::npos) << t.err;
  const CommandResult s = run_command({REBOUND_BINARY, "herd", "--scenario", "stampede"});
  EXPECT_EQ(s.exit_code, 2);
  EXPECT_NE(s.err.find("--scenario"), std::string::npos) << s.err;
}

}  // namespace
