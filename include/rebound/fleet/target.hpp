// Fleet target — the table each run writes into, and the row check that
// says afterwards whether every record landed exactly once with its value.
//
//   auto wh = rebound::warehouse::open_warehouse(url).value();
//   prepare_target(*wh, target_table(Mode::rebound)).value();   // drop + create
//   ... the processors write ...
//   RunStats stats;
//   check_rows(*wh, target_table(Mode::rebound), workload.expected(), stats).value();
//   stats.rows_lost; stats.rows_wrong;                          // both 0 when exact
//
// Thread safety: free functions; each call uses its own warehouse session.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "rebound/core/error.hpp"
#include "rebound/fleet/report.hpp"
#include "rebound/fleet/workload.hpp"
#include "rebound/retry/policy.hpp"
#include "rebound/warehouse/warehouse.hpp"

namespace rebound::fleet {

enum class Mode { naive, rebound };

// "naive" / "rebound", as the report and the metrics labels spell them.
[[nodiscard]] std::string to_string(Mode mode);

// The target table of a mode: "fleet_naive" / "fleet_rebound".
[[nodiscard]] std::string target_table(Mode mode);

// Drops `table` if it exists and creates it empty: id INTEGER (the key),
// name TEXT, score INTEGER. Errors are the warehouse's.
[[nodiscard]] Status prepare_target(warehouse::Warehouse& warehouse, const std::string& table);

// The policy for setup and the final row check, which are operations of
// their own: a restart or a killed connection right then used to end the run
// with exit 4 and no report although every row was written. Transient,
// too-many-connections and serialization errors are retried for up to 60 s;
// the warehouse's pool drops a broken connection and opens a fresh one.
[[nodiscard]] RetryPolicy target_retry_policy();

// Compares `table` with the records the workload must have produced and
// fills stats.rows_expected, rows_in_table, rows_lost (expected, absent) and
// rows_wrong (a duplicate id, an unexpected id, or a wrong name or score).
// With `check_values` off (an external source, where the last write of a key
// depends on timing) only presence and duplicates are checked. The read goes
// through target_retry_policy(). Errors are the warehouse's (the table could
// not be read).
[[nodiscard]] Status check_rows(warehouse::Warehouse& warehouse, const std::string& table,
                                const std::map<std::int64_t, Record>& expected, RunStats& stats,
                                bool check_values = true);

}  // namespace rebound::fleet
