// Test helpers shared by the warehouse tests: one factory per back end, so a
// typed suite can run the same behaviour against SQLite, PostgreSQL and
// BigQuery (rebound's in-process BigQuery emulator).
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "rebound/core/temp_dir.hpp"
#include "rebound/emulator/bigquery/emulator.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/testing/postgres_server.hpp"
#include "rebound/warehouse/bigquery/bigquery_warehouse.hpp"
#include "rebound/warehouse/open.hpp"
#include "rebound/warehouse/postgres_warehouse.hpp"
#include "rebound/warehouse/sqlite_warehouse.hpp"

using rebound::testing::IsOk;

namespace rebound::warehouse::test {

// A unique name per call: tests in one binary share one database server.
inline std::string unique_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + "_" + std::to_string(::getpid()) + "_" +
         std::to_string(counter.fetch_add(1));
}

// A temp folder removed when the test ends.
inline TempDir temp_dir() { return TempDir::make("rebound-wh-").value(); }

// The binary's one PostgreSQL server (max_connections 20 so exhaustion tests bite).
inline testing::PostgresServer& postgres() {
  return testing::PostgresServer::shared_or_abort({.max_connections = 20});
}

struct SqliteBackend {
  static constexpr const char* kName = "sqlite";
  static constexpr bool kTransactions = true;
  TempDir dir = temp_dir();
  std::shared_ptr<Warehouse> open(std::size_t pool_size = 2) {
    auto wh =
        make_sqlite_warehouse({.path = (dir.path() / "test.db").string(), .pool_size = pool_size});
    EXPECT_THAT(wh, IsOk());
    return *wh;
  }
  // Tables are fresh per test (new file), but names stay unique for symmetry.
  static std::string table(std::string_view prefix) { return unique_name(prefix); }
};

struct PostgresBackend {
  static constexpr const char* kName = "postgresql";
  static constexpr bool kTransactions = true;
  std::shared_ptr<Warehouse> open(std::size_t pool_size = 2) {
    auto wh = make_postgres_warehouse({.url = postgres().url(), .pool_size = pool_size});
    EXPECT_THAT(wh, IsOk());
    return *wh;
  }
  static std::string table(std::string_view prefix) { return unique_name(prefix); }
};

// BigQuery through rebound's emulator (one per backend object, in memory),
// anonymous, jobs polled every few milliseconds.
struct BigQueryBackend {
  static constexpr const char* kName = "bigquery";
  // BigQuery has no transaction spanning REST calls (docs/bigquery.md).
  static constexpr bool kTransactions = false;
  std::unique_ptr<emulator::bigquery::Emulator> emulator;
  std::shared_ptr<Warehouse> open(std::size_t /*pool_size*/ = 2) {
    if (!emulator) {
      auto e = emulator::bigquery::Emulator::start(
          {.project = "p", .pending_polls = 1, .running_polls = 1});
      EXPECT_THAT(e, IsOk());
      if (!e) std::abort();
      emulator = std::move(*e);
    }
    auto client = bigquery::Client::make({.config = {.project = "p",
                                                     .dataset = "d",
                                                     .location = "US",
                                                     .endpoint = emulator->url(),
                                                     .anonymous = true},
                                          .jobs = {.poll_initial = std::chrono::milliseconds{1},
                                                   .poll_maximum = std::chrono::milliseconds{20}}});
    EXPECT_THAT(client, IsOk());
    auto wh = bigquery::make_bigquery_warehouse(*client, {.dataset = "d"});
    EXPECT_THAT(wh, IsOk());
    return *wh;
  }
  static std::string table(std::string_view prefix) { return unique_name(prefix); }
};

}  // namespace rebound::warehouse::test
