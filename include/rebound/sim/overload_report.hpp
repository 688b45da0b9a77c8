// Overload report — the table `rebound herd --scenario overload` prints for
// run_overload (overload.hpp): per protection the offered requests, the
// calls the server got, goodput, amplification, wasted and refused calls,
// and the time to recover after the trigger; or the same rows as JSON.
//
//   auto options = rebound::sim::make_overload_options({.seed = 7}).value();
//   auto rows = rebound::sim::run_overload(options).value();
//   rebound::sim::print_overload_table(std::cout, options, rows);
//   std::cout << rebound::sim::overload_json(rows).dump(2) << "\n";
//
// Thread safety: pure functions.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <span>

#include "rebound/sim/overload.hpp"

namespace rebound::sim {

// The scenario line (workload, server, trigger, client limits), the table
// and a legend of the columns.
void print_overload_table(std::ostream& out, const OverloadOptions& options,
                          std::span<const OverloadRow> rows);

// Keys in the documented order: {"scenario": "overload", "rows": [{"protection",
// "calls", "offered", "goodput", "amplification", "recovered_ms"}]};
// recovered_ms is null when the row never recovered.
[[nodiscard]] nlohmann::ordered_json overload_json(std::span<const OverloadRow> rows);

}  // namespace rebound::sim
