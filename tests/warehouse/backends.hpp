// Test helpers shared by the warehouse tests: one factory per back end, so a
// typed suite can run the same behaviour against SQLite and PostgreSQL.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "rebound/core/temp_dir.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/testing/postgres_server.hpp"
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
  auto server = testing::PostgresServer::shared({.max_connections = 20});
  if (!server) {
    ADD_FAILURE() << "cannot start PostgreSQL: " << server.error().message;
    std::abort();
  }
  return **server;
}

struct SqliteBackend {
  static constexpr const char* kName = "sqlite";
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
  std::shared_ptr<Warehouse> open(std::size_t pool_size = 2) {
    auto wh = make_postgres_warehouse({.url = postgres().url(), .pool_size = pool_size});
    EXPECT_THAT(wh, IsOk());
    return *wh;
  }
  static std::string table(std::string_view prefix) { return unique_name(prefix); }
};

}  // namespace rebound::warehouse::test
