// Herd sweep — the experiment `rebound herd` prints: run_herd (herd.hpp) for
// every herd size from clients_min to clients_max by step, one table per
// size (a row per strategy, then the budgeted rows), as text or JSON rows.
//
//   rebound::sim::HerdSweep sweep{.herd = {.seed = 7}, .clients_max = 50, .step = 25};
//   for (int n : rebound::sim::herd_sizes(sweep)) {      // 25, 50
//     auto rows = rebound::sim::run_herd_size(sweep, n).value();
//     rebound::sim::print_herd_table(std::cout, n, rows);
//   }
//
// Bounds (kMaxHerdClients, kMaxHerdRuns, kMaxHerdSizes) keep a typo from
// starting hours of simulation: each table is runs x clients simulated
// clients per strategy, and there is one table per herd size.
//
// Thread safety: pure functions; run_herd_size is reentrant.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "rebound/core/error.hpp"
#include "rebound/retry/backoff.hpp"
#include "rebound/sim/herd.hpp"

namespace rebound::sim {

inline constexpr int kMaxHerdClients = 10000;
inline constexpr int kMaxHerdRuns = 1000;
inline constexpr int kMaxHerdSizes = 200;

struct HerdSweep {
  HerdOptions herd;     // every option but `clients`, which each herd size sets
  int clients_min = 0;  // the first herd size; 0: min(step, clients_max)
  int clients_max = 100;
  int step = 10;
  std::vector<BackoffKind> strategies;  // empty: herd_strategies(); a repeat counts once
};

// Validates the sizes (step > 0, 0 < clients_min <= clients_max <=
// kMaxHerdClients, at most kMaxHerdSizes sizes), herd.runs <= kMaxHerdRuns
// and the herd options (make_herd_options). A permanent Error names the field.
[[nodiscard]] Status check_herd_sweep(const HerdSweep& sweep);

// The herd sizes in order: clients_min, + step, ... up to clients_max.
[[nodiscard]] std::vector<int> herd_sizes(const HerdSweep& sweep);

// The strategies of the table, in the order given, each once.
[[nodiscard]] std::vector<BackoffKind> sweep_strategies(const HerdSweep& sweep);

// The table of one herd size: run_herd(sweep.herd with `clients`,
// sweep_strategies(sweep)). Fails as run_herd does.
[[nodiscard]] Result<std::vector<HerdResult>> run_herd_size(const HerdSweep& sweep, int clients);

// "\n<clients> clients\n", the column heads and a line per row.
void print_herd_table(std::ostream& out, int clients, std::span<const HerdResult> rows);

// {"strategy", "budget", "calls", "completion_ms", "calls_per_client",
// "gave_up", "retries_denied"}: means per run, like the table.
[[nodiscard]] nlohmann::json herd_row_json(const HerdResult& row);

}  // namespace rebound::sim
