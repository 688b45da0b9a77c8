// `rebound herd` as a user runs it: the built binary, its output and exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rebound/testing/command.hpp"

namespace {

using rebound::testing::CommandResult;
using rebound::testing::run_command;

CommandResult herd(std::vector<std::string> args) {
  args.insert(args.begin(), {REBOUND_BINARY, "herd"});
  return run_command(args);
}

TEST(HerdCommand, SameSeedPrintsTheSameTable) {
  const std::vector<std::string> args = {"--clients-max", "40", "--seed", "9", "--runs", "3"};
  const CommandResult a = herd(args);
  const CommandResult b = herd(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  for (const char* n : {"10 clients", "20 clients", "30 clients", "40 clients"}) {
    EXPECT_NE(a.out.find(n), std::string::npos) << n << " missing from\n" << a.out;
  }
  for (const char* row :
       {"constant (no jitter)", "exponential (no jitter)", "full jitter", "equal jitter",
        "decorrelated jitter", "smooth decorrelated", "full jitter + budget"}) {
    EXPECT_NE(a.out.find(row), std::string::npos) << row << " missing from\n" << a.out;
  }
}

TEST(HerdCommand, DifferentSeedsPrintDifferentTables) {
  const CommandResult a = herd({"--clients-max", "30", "--seed", "1", "--runs", "2"});
  const CommandResult b = herd({"--clients-max", "30", "--seed", "2", "--runs", "2"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(a.out, b.out);
}

TEST(HerdCommand, JsonIsDeterministicAndHasOneRowPerStrategyAndVariant) {
  const std::vector<std::string> args = {"--clients-min",
                                         "50",
                                         "--clients-max",
                                         "100",
                                         "--step",
                                         "50",
                                         "--json",
                                         "--budget",
                                         "40",
                                         "--strategies",
                                         "full,exponential"};
  const CommandResult a = herd(args);
  const CommandResult b = herd(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  const nlohmann::json doc = nlohmann::json::parse(a.out);
  EXPECT_EQ(doc["seed"], 1);
  EXPECT_EQ(doc["strategies"], nlohmann::json::array({"full", "exponential"}));
  ASSERT_EQ(doc["herds"].size(), 2u);
  for (const nlohmann::json& h : doc["herds"]) {
    const int clients = h["clients"].get<int>();
    ASSERT_EQ(h["rows"].size(), 4u);  // two strategies, with and without the budget
    const nlohmann::json& full = h["rows"][0];
    const nlohmann::json& exponential = h["rows"][1];
    const nlohmann::json& exponential_budget = h["rows"][3];
    EXPECT_EQ(full["strategy"], "full");
    EXPECT_FALSE(full["budget"].get<bool>());
    EXPECT_EQ(full["gave_up"], 0.0);
    // The blog's headline: no jitter does far more work than full jitter.
    EXPECT_GT(exponential["calls"].get<double>(), 1.5 * full["calls"].get<double>());
    // A 40-token budget allows 20 retries plus 0.1 per commit for the herd.
    EXPECT_TRUE(exponential_budget["budget"].get<bool>());
    EXPECT_LE(exponential_budget["calls"].get<double>(), clients + 20 + 0.1 * clients + 1);
    EXPECT_GT(exponential_budget["gave_up"].get<double>(), 0.0);
    EXPECT_GT(exponential_budget["retries_denied"].get<double>(), 0.0);
  }
}

TEST(HerdCommand, OneClientTakesOneCallWithEveryStrategy) {
  const CommandResult r = herd({"--clients-max", "1", "--budget", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["herds"].size(), 1u);
  ASSERT_EQ(doc["herds"][0]["rows"].size(), 6u);
  for (const nlohmann::json& row : doc["herds"][0]["rows"]) {
    EXPECT_EQ(row["calls"], 1.0) << row.dump();
  }
}

struct BadOption {
  std::vector<std::string> args;
  std::string names;  // what the error message must mention
};

class HerdCommandRejects : public ::testing::TestWithParam<BadOption> {};

TEST_P(HerdCommandRejects, WithUsageExitCodeAndAMessageNamingTheOption) {
  const CommandResult r = herd(GetParam().args);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(GetParam().names), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("clients\n"), std::string::npos) << "no table for a bad command line";
}

INSTANTIATE_TEST_SUITE_P(BadOptions, HerdCommandRejects,
                         ::testing::Values(BadOption{{"--clients-max", "0"}, "--clients-max"},
                                           BadOption{{"--clients-max", "-5"}, "--clients-max"},
                                           BadOption{{"--step", "0"}, "--step"},
                                           BadOption{{"--clients-min", "200"}, "--clients-min"},
                                           BadOption{{"--base", "0"}, "--base"},
                                           BadOption{{"--base", "10", "--cap", "5"}, "--cap"},
                                           BadOption{{"--budget", "-1"}, "--budget"},
                                           BadOption{{"--runs", "0"}, "--runs"},
                                           BadOption{{"--strategies", "full,bogus"}, "bogus"},
                                           BadOption{{"--clients-max", "ten"}, "--clients-max"}));

}  // namespace
