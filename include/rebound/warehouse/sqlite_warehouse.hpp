// SqliteWarehouse — the embedded back end: a file, zero setup.
//
//   auto wh = rebound::warehouse::make_sqlite_warehouse({.path = "stats.db"}).value();
//
// Connections: a LeasePool of sqlite3 handles (a handle is never used by two
// threads at once). Each handle runs in WAL mode (readers never block the
// writer), synchronous=NORMAL, temp_store=MEMORY, foreign keys on.
//
// Conflicts: SQLite allows one writer at a time. A writer that finds the lock
// taken gets SQLITE_BUSY after `busy_timeout` (a few milliseconds, not
// seconds) and that surfaces as serialization_conflict. Waiting longer is the
// retry policy's job — it has jitter and a deadline; a long busy_timeout
// would hide contention inside one opaque call. Write transactions use
// BEGIN IMMEDIATE, so the conflict arrives before any work is done.
//
// Thread safety: thread-safe, as Warehouse.
#pragma once

#include <memory>
#include <string>

#include "rebound/core/clock.hpp"
#include "rebound/warehouse/warehouse.hpp"

namespace rebound::warehouse {

struct SqliteOptions {
  std::string path;  // file path; ":memory:" is rejected (each handle would see its own db)
  std::size_t pool_size = 8;
  Duration busy_timeout = std::chrono::milliseconds{5};
  Duration acquire_timeout = std::chrono::seconds{5};
};

// Opens (creating if needed) the database and checks it by opening one
// connection. Errors: empty/":memory:" path (permanent), open failures
// (classified by classify::sqlite).
[[nodiscard]] Result<std::shared_ptr<Warehouse>> make_sqlite_warehouse(SqliteOptions options);

}  // namespace rebound::warehouse
