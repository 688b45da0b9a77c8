// Fleet report — what one run of the fleet measured, and the success table
// that compares the naive run with the rebound run against the targets in docs/fleet.md.
//
//   RunStats naive = ..., rebound = ...;
//   auto rows = success_rows(naive, rebound);
//   print_table(std::cout, rows);
//   bool ok = all_pass(rows);          // exit code of `rebound fleet`
//
// Thread safety: plain values; RunStats is filled by one thread after the
// workers have joined (workers record into their own shards first).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rebound::fleet {

// One attempt of one processor operation, for the retry timeline plot.
struct AttemptMark {
  int processor = 0;
  double at_ms = 0;  // since the run started
  bool ok = false;
  std::string kind;  // "http" or "write"
};

struct RunStats {
  std::string mode;  // "naive" or "rebound"
  // Time to get a warehouse client for one operation: a fresh connection
  // (naive) or a keyed-cache lookup (rebound), in nanoseconds.
  std::vector<double> client_acquire_ns;
  std::vector<double> http_latency_ms;  // per successful request, retries excluded
  std::uint64_t http_requests = 0;
  std::uint64_t http_new_connections = 0;
  std::uint64_t http_reused_connections = 0;
  std::uint64_t operations = 0;            // fetch + write of one batch
  std::uint64_t operations_retried = 0;    // needed at least one retry
  std::uint64_t operations_recovered = 0;  // ... and then succeeded
  std::uint64_t operations_failed = 0;
  std::uint64_t too_many_connections = 0;  // errors seen of class too_many_connections
  std::uint64_t conflicts = 0;             // serialization conflicts seen
  std::uint64_t retries = 0;
  std::uint64_t rows_expected = 0;  // distinct keys the workload produced
  std::uint64_t rows_in_table = 0;
  std::uint64_t rows_lost = 0;   // expected but not in the table
  std::uint64_t rows_wrong = 0;  // in the table twice, or with a wrong value
  double wall_seconds = 0;
  std::vector<double> retry_delays_ms;  // every sleep before a retry
  std::vector<AttemptMark> timeline;
  std::vector<std::string> sample_errors;  // a few final errors, for the report
  // The source's trigger window in this run's time; negative: no trigger.
  double trigger_start_ms = -1;
  double trigger_end_ms = -1;
};

// Time from the end of the trigger until the share of successful attempts
// (HTTP and write attempts and finished operations, from the timeline) in
// every later 200 ms window stays at or above 90% of its pre-trigger level;
// nullopt when it never does within the run, or when there was no trigger.
[[nodiscard]] std::optional<double> recovery_ms(const RunStats& run);

struct SuccessRow {
  std::string metric;
  std::string naive;
  std::string rebound;
  std::string target;
  bool pass = false;   // the rebound column meets the target
  bool scored = true;  // informational rows (wall time) are not scored
};

[[nodiscard]] std::vector<SuccessRow> success_rows(const RunStats& naive, const RunStats& rebound);
[[nodiscard]] bool all_pass(const std::vector<SuccessRow>& rows);

void print_table(std::ostream& out, const std::vector<SuccessRow>& rows);
[[nodiscard]] nlohmann::json to_json(const RunStats& run);
[[nodiscard]] nlohmann::json to_json(const std::vector<SuccessRow>& rows);

// Draws both runs' attempts over time, one lane per processor, failures in
// red and successes in green, so a synchronised herd shows up as vertical
// stripes and a jittered one as scattered dots.
[[nodiscard]] std::string timeline_svg(const RunStats& naive, const RunStats& rebound,
                                       int processors);

}  // namespace rebound::fleet
