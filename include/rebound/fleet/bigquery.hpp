// The fleet on BigQuery: an in-process emulator to run against
// (`rebound fleet --warehouse bigquery-emulator`) and the BigQuery client each
// mode gets.
//
//   auto local = rebound::fleet::start_bigquery_emulator().value();
//   config.warehouse_url = local.url;   // bigquery://rebound-fleet/fleet?endpoint=…&auth=none
//   auto wh = rebound::fleet::open_for_mode(config.warehouse_url, Mode::naive, 0.01, 1);
//
// The emulator runs with BigQuery's concurrency rules on: two MERGEs into one
// table whose RUNNING windows overlap make the later one fail with "Could
// not serialize access … due to concurrent update", and a per-table cap on
// pending + running DML jobs answers quotaExceeded — the reference
// platform's scenario with no setup.
//
// Per mode, for bigquery:// URLs (other URLs go to open_warehouse):
//   naive    a new client per operation that resends nothing: no request
//            retries, no job re-runs (the naive loop around it re-waits on
//            the failed job instead, see run.cpp);
//   rebound  BigQuery's request/job protocol (bigquery/jobs.hpp) with its
//            waits — job polling included — multiplied by the fleet's scale.
//
// Thread safety: open_for_mode may be called from any thread; the emulator
// handle is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "rebound/core/error.hpp"
#include "rebound/emulator/bigquery/emulator.hpp"
#include "rebound/fleet/run.hpp"
#include "rebound/warehouse/warehouse.hpp"

namespace rebound::fleet {

struct LocalBigQuery {
  std::unique_ptr<emulator::bigquery::Emulator> emulator;
  std::string url;  // the warehouse URL that points at it
};

// Starts the emulator on 127.0.0.1 (DML conflicts on, at most `max_dml_jobs`
// pending + running DML jobs per table). Errors: the emulator cannot start.
[[nodiscard]] Result<LocalBigQuery> start_bigquery_emulator(int max_dml_jobs = 8);

[[nodiscard]] bool is_bigquery_url(std::string_view url) noexcept;

// The warehouse a mode uses for `url` (see the header comment).
[[nodiscard]] Result<std::shared_ptr<warehouse::Warehouse>> open_for_mode(std::string_view url,
                                                                          Mode mode, double scale,
                                                                          std::size_t pool_size);

}  // namespace rebound::fleet
