// `rebound fleet --warehouse bigquery-emulator`: the reference platform's
// scenario in one command. The rebound column must land every row exactly
// with no failed operation; the naive column must show BigQuery's failures.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "rebound/testing/command.hpp"

namespace rebound::bigquery {
namespace {

TEST(FleetOnBigQueryEmulator, ReboundLandsEveryRowWhileNaiveShowsBigQueryFailures) {
  auto r = testing::run_command({REBOUND_BINARY, "fleet", "--warehouse", "bigquery-emulator",
                                 "--processors", "32", "--batches", "6", "--json", "--quiet"});
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << r.out << r.err;
  const nlohmann::json& naive = doc["naive"];
  const nlohmann::json& rebound = doc["rebound"];
  ASSERT_TRUE(rebound.is_object()) << doc.dump(2);
  EXPECT_EQ(rebound["operations_failed"], 0) << rebound.dump(2);
  EXPECT_EQ(rebound["rows_in_table"], rebound["rows_expected"]);
  EXPECT_EQ(rebound["rows_lost"], 0);
  EXPECT_GT(rebound["conflicts"].get<int>(), 0);  // the emulator did refuse concurrent MERGEs
  ASSERT_TRUE(naive.is_object());
  EXPECT_GT(naive["operations_failed"].get<int>(), 0) << naive.dump(2);
  EXPECT_GT(naive["rows_lost"].get<int>(), 0);
  EXPECT_NE(doc.dump().find("Could not serialize access"), std::string::npos);
}

}  // namespace
}  // namespace rebound::bigquery
