// Fleet comparison — the whole `rebound fleet` job as a library call: start
// the built-in source (or probe a real one), run the fleet the naive way and
// then the rebound way against the same warehouse, and score the rebound run
// in the success table.
//
//   auto done = rebound::fleet::compare({.workload = {.processors = 8}});
//   if (done) {
//     print_text(std::cout, *done);   // configuration, success table, PASS/FAIL
//     return done->pass ? 0 : 1;
//   }
//   done.error().stage;   // which step failed; done.error().error says why
//
// Without a warehouse URL the runs write to a SQLite file in a temp folder
// that is removed afterwards; "bigquery-emulator" starts rebound's BigQuery
// emulator on loopback for both runs. Without a source URL they fetch from
// the built-in source on loopback, which injects `faults` (its trigger window
// included: both runs meet the outage at the same point).
//
// A run that cannot finish (its warehouse or target table failed) does not
// stop the comparison: it shows as failed in the table, with its error in
// Comparison::run_failures.
//
// Thread safety: compare() starts and joins its own threads; call it from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rebound/core/error.hpp"
#include "rebound/fleet/report.hpp"
#include "rebound/fleet/source.hpp"
#include "rebound/fleet/target.hpp"
#include "rebound/fleet/workload.hpp"
#include "rebound/metrics/registry.hpp"

namespace rebound::fleet {

struct CompareOptions {
  Workload workload;
  std::string warehouse_url;  // empty: a SQLite file in a temp folder; or "bigquery-emulator"
  std::string source_url;     // empty: the built-in source, injecting `faults`
  FaultRates faults;
  double scale = 0.01;                    // retry delays: the reference presets' seconds × scale
  std::size_t pool_size = 8;              // rebound: warehouse connections per URL
  metrics::Registry* registry = nullptr;  // counters of both runs, labelled by mode
};

// The step a comparison failed at, so a caller can map it (an exit code)
// without reading the message.
enum class CompareStage {
  temp_folder,   // no temp folder for the default SQLite warehouse
  bigquery,      // the BigQuery emulator (--warehouse bigquery-emulator) did not start
  source,        // the built-in source did not start
  source_probe,  // the --source URL did not answer
  naive_run,     // the naive run could not run (warehouse, target table)
  rebound_run,   // the rebound run could not run
};

struct CompareFailure {
  CompareStage stage;
  Error error;  // names what failed; URLs redacted
};

struct Comparison {
  CompareOptions options;  // as run: the warehouse URL filled in, the source URL trimmed
  bool builtin_source = true;
  RunStats naive;
  RunStats rebound;
  std::vector<SuccessRow> rows;              // success_rows(naive, rebound)
  bool pass = false;                         // all_pass(rows)
  std::vector<CompareFailure> run_failures;  // naive_run / rebound_run that could not finish
};

using ModeProgress = std::function<void(Mode mode, std::uint64_t done, std::uint64_t total)>;

// Runs both modes. Per-operation failures are counted in the RunStats (and
// fail the table); a run that cannot finish is in run_failures; only a
// failure before the runs (temp folder, emulator, source) comes back as an error.
[[nodiscard]] std::expected<Comparison, CompareFailure> compare(CompareOptions options,
                                                                const ModeProgress& progress = {});

// The `rebound fleet --json` document: config, both runs, the table, pass.
[[nodiscard]] nlohmann::json to_json(const Comparison& comparison);

// The `rebound fleet` text report: the configuration (URLs redacted), the
// success table (print_table), PASS or FAIL, and a few final errors per run.
void print_text(std::ostream& out, const Comparison& comparison);

}  // namespace rebound::fleet
