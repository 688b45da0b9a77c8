// GET run report — what `rebound get` prints for a run (get_run.hpp): per
// URL the status counts, errors and mean connect/TLS/first-byte/total times,
// then the latency percentiles (metrics::percentile), requests/s, and the
// connection reuse. URLs and header values are redacted.
//
//   auto report = rebound::http::run_gets(options).value();
//   rebound::http::print_get_report(std::cout, options, report);
//   nlohmann::json doc = rebound::http::get_report_json(options, report);
//
// Thread safety: pure functions.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>

#include "rebound/http/get_run.hpp"

namespace rebound::http {

// The text report: one block per URL, then three summary lines.
void print_get_report(std::ostream& out, const GetRunOptions& options, const GetRunReport& report);

// The JSON document: {"urls": [per URL], "headers": [redacted], "summary"}.
// An error text may hold bytes that are not UTF-8: dump it with
// nlohmann::json::error_handler_t::replace.
[[nodiscard]] nlohmann::json get_report_json(const GetRunOptions& options,
                                             const GetRunReport& report);

}  // namespace rebound::http
