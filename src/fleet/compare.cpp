#include "rebound/fleet/compare.hpp"

#include <memory>
#include <optional>
#include <utility>

#include "rebound/core/redact.hpp"
#include "rebound/core/temp_dir.hpp"
#include "rebound/fleet/fetch.hpp"
#include "rebound/fleet/run.hpp"

namespace rebound::fleet {
namespace {

std::unexpected<CompareFailure> failed(CompareStage stage, Error error) {
  return std::unexpected(CompareFailure{.stage = stage, .error = std::move(error)});
}

// Both runs, one after the other, on the same configuration.
std::expected<Comparison, CompareFailure> run_both(Comparison out, const Config& config,
                                                   const ModeProgress& progress) {
  for (Mode mode : {Mode::naive, Mode::rebound}) {
    auto result = run(config, mode, [&](std::uint64_t done, std::uint64_t total) {
      if (progress) progress(mode, done, total);
    });
    if (!result) {
      Error e = std::move(result.error());
      e.message = to_string(mode) + " run failed: " + e.message;
      return failed(mode == Mode::naive ? CompareStage::naive_run : CompareStage::rebound_run,
                    std::move(e));
    }
    (mode == Mode::naive ? out.naive : out.rebound) = std::move(*result);
  }
  if (!out.builtin_source) {
    // An external source: the rows expected are those the rebound run fetched.
    out.naive.rows_expected = out.rebound.rows_expected = out.rebound.rows_in_table;
  }
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
                      .registry = options.registry};
  Comparison out{.options = std::move(options), .builtin_source = source != nullptr};
  return run_both(std::move(out), config, progress);
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
            {"latency_ms", latency_ms}}},
          {"naive", to_json(c.naive)},
          {"rebound", to_json(c.rebound)},
          {"table", to_json(c.rows)},
          {"pass", c.pass}};
}

}  // namespace rebound::fleet
