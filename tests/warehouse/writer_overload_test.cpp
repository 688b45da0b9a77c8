// The batch writer's overload protection against a real SQLite file: a
// warehouse that keeps failing trips its breaker (keyed by URL) and writers
// stop trying until the probe; a stop token cancels a write.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "backends.hpp"
#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/batch_writer.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::warehouse {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::FakeClock;

struct LockedSqlite {
  explicit LockedSqlite(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  void release() {
    if (db == nullptr) return;
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    db = nullptr;
  }
  ~LockedSqlite() { release(); }
  sqlite3* db = nullptr;
};

const std::vector<json> kRows = {{{"id", 1}, {"v", "a"}}, {{"id", 2}, {"v", "b"}}};

TEST(WriterOverload, ALockedWarehouseTripsItsBreakerAndWritersStopTrying) {
  TempDir dir = test::temp_dir();
  const std::string path = (dir.path() / "box.db").string();
  auto wh = open_warehouse(path).value();
  FakeClock clock;
  auto breakers = CircuitBreakers::make({.minimum_throughput = 6,
                                         .counted = {ErrorClass::serialization_conflict},
                                         .clock = &clock,
                                         .seed = 1})
                      .value();
  auto writer = BatchWriter::make(wh, {.table = "box",
                                       .keys = {"id"},
                                       .create_table = true,
                                       .policy = default_write_policy(0.001),
                                       .clock = &clock,
                                       .sleeper = &clock,
                                       .circuit_breakers = breakers})
                    .value();
  ASSERT_TRUE(writer.write(kRows));  // creates the table
  LockedSqlite lock(path);
  auto first = writer.write(kRows);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.report.retry.gave_up, GiveUpReason::circuit_open);
  EXPECT_EQ(first.report.retry.attempts, 5);  // 1 success + 5 conflicts reach the minimum of 6
  auto second = writer.write(kRows);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.status.error().error_class, ErrorClass::circuit_open);
  EXPECT_EQ(second.report.retry.attempts, 0);  // nothing was tried
  EXPECT_THAT(second, HasErrorMessage(HasSubstr(wh->display_url())));
  EXPECT_EQ(breakers->size(), 1u);

  lock.release();
  clock.advance(10s);
  auto probe = writer.write(kRows);
  ASSERT_THAT(probe, IsOk());
  EXPECT_EQ(breakers->for_key(wh->display_url())->state(), CircuitState::closed);
}

TEST(WriterOverload, AStopTokenCancelsAWriteBetweenAttempts) {
  TempDir dir = test::temp_dir();
  const std::string path = (dir.path() / "box.db").string();
  auto wh = open_warehouse(path).value();
  FakeClock clock;
  std::stop_source stop;
  auto writer = BatchWriter::make(wh, {.table = "box",
                                       .keys = {"id"},
                                       .create_table = true,
                                       .policy = default_write_policy(),
                                       .clock = &clock,
                                       .sleeper = &clock,
                                       .stop = stop.get_token()})
                    .value();
  ASSERT_TRUE(writer.write(kRows));
  LockedSqlite lock(path);
  clock.stop_at(clock.now() + 2s, stop);  // a shutdown two seconds into the backoff
  auto out = writer.write(kRows);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.report.retry.gave_up, GiveUpReason::cancelled);
  EXPECT_EQ(out.status.error().code, "cancelled");
  EXPECT_LE(out.report.retry.slept, 2s);  // not the 300 s the policy would allow
}

}  // namespace
}  // namespace rebound::warehouse
