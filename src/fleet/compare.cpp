#include "rebound/fleet/compare.hpp"

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <utility>

#include "rebound/core/redact.hpp"
#include "rebound/core/temp_dir.hpp"
#include "rebound/fleet/bigquery.hpp"
#include "rebound/fleet/fetch.hpp"
#include "rebound/fleet/run.hpp"

namespace rebound::fleet {
namespace {

std::unexpected<CompareFailure> failed(CompareStage stage, Error error) {
  return std::unexpected(CompareFailure{.stage = stage, .error = std::move(error)});
}

// Both runs, one after the other, on the same configuration. A run that
// cannot finish shows as failed in the table (its error among its samples)
// and is kept in run_failures; the report is made anyway.
Comparison run_both(Comparison out, const Config& config, Source* source,
                    const ModeProgress& progress) {
  for (Mode mode : {Mode::naive, Mode::rebound}) {
    if (source != nullptr) source->mark_run_start();  // both runs meet the outage at one point
    auto result = run(config, mode, [&](std::uint64_t done, std::uint64_t total) {
      if (progress) progress(mode, done, total);
    });
    RunStats& stats = mode == Mode::naive ? out.naive : out.rebound;
    if (!result) {
      Error e = std::move(result.error());
      stats.mode = to_string(mode);
      stats.sample_errors.push_back(e.describe());
      e.message = to_string(mode) + " run failed: " + e.message;
      out.run_failures.push_back(
          {.stage = mode == Mode::naive ? CompareStage::naive_run : CompareStage::rebound_run,
           .error = std::move(e)});
      continue;
    }
    stats = std::move(*result);
  }
  // An external source: each run's rows expected are the records the source
  // served to that run (run() counts them), not what landed in the table.
  out.rows = success_rows(out.naive, out.rebound);
  out.pass = all_pass(out.rows);
  return out;
}

}  // namespace

std::expected<Comparison, CompareFailure> compare(CompareOptions options,
                                                  const ModeProgress& progress) {
  std::optional<TempDir> temp;  // lives until both runs are done
  if (options.warehouse_url.empty()) {
    auto made = TempDir::make("rebound-fleet-");
    if (!made) {
      Error e = std::move(made.error());
      e.message = "no temporary folder for the SQLite warehouse: " + e.message;
      return failed(CompareStage::temp_folder, std::move(e));
    }
    temp = std::move(*made);
    options.warehouse_url = (temp->path() / "fleet.db").string();
  }

  LocalBigQuery bigquery;  // lives until both runs are done
  if (options.warehouse_url == "bigquery-emulator") {
    auto started = start_bigquery_emulator();
    if (!started) {
      Error e = std::move(started.error());
      e.message = "cannot start the BigQuery emulator: " + e.message;
      return failed(CompareStage::bigquery, std::move(e));
    }
    bigquery = std::move(*started);
    options.warehouse_url = bigquery.url;
  }

  std::unique_ptr<Source> source;
  if (options.source_url.empty()) {
    auto started = Source::start(options.workload, options.faults);
    if (!started) {
      Error e = std::move(started.error());
      e.message = "cannot start the built-in source: " + e.message;
      return failed(CompareStage::source, std::move(e));
    }
    source = std::move(*started);
  } else {
    options.faults.trigger_after = options.faults.trigger_for = {};  // no trigger out there
    while (options.source_url.size() > 1 && options.source_url.back() == '/')
      options.source_url.pop_back();
    if (auto reachable = probe_source(options.source_url); !reachable)
      return failed(CompareStage::source_probe, std::move(reachable.error()));
  }

  const Config config{.workload = options.workload,
                      .warehouse_url = options.warehouse_url,
                      .source_url = source ? source->url() : options.source_url,
                      .builtin_source = source != nullptr,
                      .scale = options.scale,
                      .pool_size = options.pool_size,
                      .registry = options.registry,
                      .trigger_after = options.faults.trigger_after,
                      .trigger_for = options.faults.trigger_for};
  Comparison out{.options = std::move(options), .builtin_source = source != nullptr};
  return run_both(std::move(out), config, source.get(), progress);
}

nlohmann::json to_json(const Comparison& c) {
  const CompareOptions& o = c.options;
  const double latency_ms = std::chrono::duration<double, std::milli>(o.faults.latency).count();
  return {{"config",
           {{"processors", o.workload.processors},
            {"batches", o.workload.batches},
            {"rows_per_batch", o.workload.rows},
            {"key_space", o.workload.key_space},
            {"seed", o.workload.seed},
            {"warehouse", redact_url(o.warehouse_url)},
            {"source", c.builtin_source ? "built-in" : redact_url(o.source_url)},
            {"scale", o.scale},
            {"latency_ms", latency_ms},
            {"trigger_after_ms", o.faults.trigger_after.count()},
            {"trigger_ms", o.faults.trigger_for.count()}}},
          {"naive", to_json(c.naive)},
          {"rebound", to_json(c.rebound)},
          {"table", to_json(c.rows)},
          {"pass", c.pass}};
}

void print_text(std::ostream& out, const Comparison& c) {
  const CompareOptions& o = c.options;
  const Workload& w = o.workload;
  const bool trigger = c.builtin_source && o.faults.trigger_for.count() > 0;
  out << fmt::format(
      "rebound fleet: {} processors x {} batches x {} rows over {} keys; warehouse {}; source "
      "{}\n"
      "retry delays scaled x{} (the reference presets' 1 s is {} ms here); simulated network "
      "round trip {} ms{}\n\n",
      w.processors, w.batches, w.rows, w.key_space, redact_url(o.warehouse_url),
      c.builtin_source ? "built-in (faults injected)" : redact_url(o.source_url), o.scale,
      1000 * o.scale, std::chrono::duration<double, std::milli>(o.faults.latency).count(),
      trigger ? fmt::format("; trigger: the source answers 503 from {} ms for {} ms of each run",
                            o.faults.trigger_after.count(), o.faults.trigger_for.count())
              : std::string());
  print_table(out, c.rows);
  out << "\n"
      << (c.pass ? "PASS: the rebound way meets every target\n"
                 : "FAIL: the rebound way missed a target\n");
  for (const RunStats* r : {&c.naive, &c.rebound}) {
    for (const std::string& e : r->sample_errors) out << "  " << r->mode << " error: " << e << "\n";
  }
}

}  // namespace rebound::fleet
