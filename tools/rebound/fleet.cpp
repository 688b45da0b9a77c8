// `rebound fleet` — the main job: a fleet of concurrent processors, the naive
// way vs the rebound way, and the success table. The job itself is
// rebound::fleet::compare() (include/rebound/fleet/compare.hpp); this file
// parses the flags, calls it and prints. README.md ("rebound fleet") says how
// to read the table.
#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "cli_output.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "rebound/core/redact.hpp"
#include "rebound/fleet/compare.hpp"
#include "rebound/warehouse/open.hpp"

namespace rebound::cli {
namespace {

struct FleetArgs {
  // Workload (but key_space), URLs, fault rates, scale and pool size are
  // filled by the flags directly; the rest is finished by compare_options().
  fleet::CompareOptions options;
  std::int64_t keys = 0;  // 0: a third of all rows, so writers overlap
  double latency_ms = 2.0;
  // The built-in source's outage (the trigger): from this far into each run,
  // for this long; 0 length turns it off.
  int trigger_after_ms = 200;
  int trigger_ms = 300;
  bool json = false;
  bool quiet = false;
  std::string plot;
  std::string metrics;
};

std::string validate(const FleetArgs& args) {
  const fleet::CompareOptions& a = args.options;
  const fleet::Workload& w = a.workload;
  if (w.processors < 1 || w.processors > 1024)
    return fmt::format("--processors {} must be in 1..1024", w.processors);
  if (w.batches < 1 || w.batches > 100000)
    return fmt::format("--batches {} must be in 1..100000", w.batches);
  if (w.rows < 1 || w.rows > 100000) return fmt::format("--rows {} must be in 1..100000", w.rows);
  if (args.keys < 0) return fmt::format("--keys {} must be >= 1 (or 0 for the default)", args.keys);
  for (auto [name, rate] : {std::pair{"--error-rate", a.faults.error_rate},
                            {"--throttle-rate", a.faults.throttle_rate},
                            {"--drop-rate", a.faults.drop_rate},
                            {"--slow-rate", a.faults.slow_rate}}) {
    if (!(rate >= 0 && rate <= 1)) return fmt::format("{} {} must be in [0, 1]", name, rate);
  }
  const double sum =
      a.faults.error_rate + a.faults.throttle_rate + a.faults.drop_rate + a.faults.slow_rate;
  if (sum > 1) return fmt::format("fault rates add up to {} (must be <= 1)", sum);
  if (args.trigger_after_ms < 0 || args.trigger_after_ms > 3'600'000)
    return fmt::format("--trigger-after-ms {} must be in [0, 3600000]", args.trigger_after_ms);
  if (args.trigger_ms < 0 || args.trigger_ms > 3'600'000)
    return fmt::format("--trigger-ms {} must be in [0, 3600000] (0: no trigger)", args.trigger_ms);
  if (!(args.latency_ms >= 0 && args.latency_ms <= 1000))
    return fmt::format("--latency-ms {} must be in [0, 1000]", args.latency_ms);
  // Below 1e-4 the reference presets' delays round to nothing (1e-300 reached an
  // undefined double -> integer conversion after work had started).
  if (!(a.scale >= 1e-4 && a.scale <= 1))
    return fmt::format("--scale {} must be in [0.0001, 1]", a.scale);
  if (!a.warehouse_url.empty()) {
    if (const auto sep = a.warehouse_url.find("://"); sep != std::string::npos) {
      const std::string scheme = a.warehouse_url.substr(0, sep);
      if (!rebound::warehouse::known_warehouse_scheme(scheme))
        return fmt::format(
            "--warehouse {}: unsupported scheme \"{}\" (use a file path, "
            "sqlite:///path, postgresql://, postgres://, bigquery:// or bigquery-emulator)",
            redact_url(a.warehouse_url), scheme);
    }
  }
  if (!a.source_url.empty() && !a.source_url.starts_with("http://") &&
      !a.source_url.starts_with("https://"))
    return fmt::format("--source {} is not an http:// or https:// URL", redact_url(a.source_url));
  if (a.pool_size < 1 || a.pool_size > 1000)
    return fmt::format("--pool-size {} must be in 1..1000", a.pool_size);
  return {};
}

fleet::CompareOptions compare_options(const FleetArgs& args) {
  fleet::CompareOptions o = args.options;
  const std::int64_t all_rows =
      std::int64_t{o.workload.processors} * o.workload.batches * o.workload.rows;
  o.workload.key_space = args.keys > 0 ? args.keys : std::max<std::int64_t>(1, all_rows / 3);
  o.faults.latency = std::chrono::microseconds{static_cast<std::int64_t>(args.latency_ms * 1000)};
  o.faults.trigger_after = std::chrono::milliseconds{args.trigger_after_ms};
  o.faults.trigger_for = std::chrono::milliseconds{args.trigger_ms};
  return o;
}

int exit_code_for(const fleet::CompareFailure& f) {
  switch (f.stage) {
    case fleet::CompareStage::temp_folder:
    case fleet::CompareStage::bigquery:
    case fleet::CompareStage::source:
      return kFailure;
    case fleet::CompareStage::source_probe:
      return kBackendError;
    case fleet::CompareStage::naive_run:
    case fleet::CompareStage::rebound_run:
      // Same mapping as load: a problem rebound found itself is a usage
      // error; anything the back end said (a wrong password too) is exit 4.
      return f.error.source == "rebound" && f.error.error_class == ErrorClass::permanent
                 ? kUsage
                 : kBackendError;
  }
  return kFailure;
}

// The --plot and --metrics files; false (after saying why) when one cannot be written.
bool write_files(const FleetArgs& args, const fleet::Comparison& c,
                 const metrics::Registry& registry) {
  if (!args.plot.empty()) {
    std::ofstream out(args.plot);
    out << timeline_svg(c.naive, c.rebound, c.options.workload.processors);
    if (!out) {
      std::cerr << "rebound fleet: cannot write the plot to " << args.plot << "\n";
      return false;
    }
  }
  if (!args.metrics.empty()) {
    if (auto written = registry.write_prometheus(args.metrics); !written) {
      std::cerr << "rebound fleet: " << written.error().message << "\n";
      return false;
    }
  }
  return true;
}

int run_fleet_command(const FleetArgs& args) {
  if (std::string problem = validate(args); !problem.empty()) {
    std::cerr << "rebound fleet: " << problem << "\n";
    return kUsage;
  }
  metrics::Registry registry;
  fleet::CompareOptions options = compare_options(args);
  options.registry = &registry;
  ProgressBar bar(!args.quiet && !args.json);
  auto done = fleet::compare(std::move(options),
                             [&](fleet::Mode mode, std::uint64_t n, std::uint64_t total) {
                               bar.show(fleet::to_string(mode), n, total);
                             });
  bar.clear();
  if (!done) {
    std::cerr << "rebound fleet: " << done.error().error.message << "\n";
    return exit_code_for(done.error());
  }
  // A run that could not finish is in the report anyway (failed in the table
  // and JSON); the exit code says why. The naive run failing is what the
  // naive way does; only the rebound run's failure decides the code.
  int run_error = kOk;
  for (const fleet::CompareFailure& f : done->run_failures) {
    std::cerr << "rebound fleet: " << f.error.message << "\n";
    if (f.stage == fleet::CompareStage::rebound_run) run_error = exit_code_for(f);
  }
  if (args.json) {
    std::cout << json_text(fleet::to_json(*done), 2) << "\n";
  } else {
    fleet::print_text(std::cout, *done);
  }
  if (!write_files(args, *done, registry)) return kFailure;
  if (run_error != kOk) return run_error;
  return done->pass ? kOk : kFailure;
}

}  // namespace

void add_fleet_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<FleetArgs>();
  CLI::App* cmd = app.add_subcommand(
      "fleet",
      "Run N concurrent processors the naive way and the rebound way; print the success table");
  // --help shows every default (the flags' and empty strings' show nothing).
  cmd->option_defaults()->always_capture_default();
  cmd->add_option("--processors,-n", args->options.workload.processors,
                  "concurrent processors (threads)");
  cmd->add_option("--batches", args->options.workload.batches,
                  "batches each processor fetches and writes");
  cmd->add_option("--rows", args->options.workload.rows, "records per batch");
  cmd->add_option("--keys", args->keys,
                  "distinct keys (0: a third of all records, so writers overlap)");
  cmd->add_option("--seed", args->options.workload.seed, "workload and fault seed");
  cmd->add_option("--warehouse", args->options.warehouse_url,
                  "warehouse URL: a SQLite path or sqlite:///path, postgresql://…, "
                  "bigquery://PROJECT/DATASET, or bigquery-emulator (an in-process BigQuery "
                  "emulator with DML conflicts and quotas on) (default: a temp SQLite file)");
  cmd->add_option("--source", args->options.source_url,
                  "base URL of a real source serving GET /batch?processor=P&batch=B");
  cmd->add_option("--error-rate", args->options.faults.error_rate,
                  "built-in source: share of 503 responses");
  cmd->add_option("--throttle-rate", args->options.faults.throttle_rate,
                  "built-in source: share of 429 + Retry-After");
  cmd->add_option("--drop-rate", args->options.faults.drop_rate,
                  "built-in source: share of dropped connections");
  cmd->add_option("--slow-rate", args->options.faults.slow_rate,
                  "built-in source: share of slow responses");
  cmd->add_option("--latency-ms", args->latency_ms,
                  "built-in source: simulated network round trip");
  cmd->add_option("--trigger-after-ms", args->trigger_after_ms,
                  "built-in source: the outage starts this far into each run");
  cmd->add_option(
      "--trigger-ms", args->trigger_ms,
      "built-in source: the outage (every /batch answered 503) lasts this long; 0 = none");
  cmd->add_option("--scale", args->options.scale,
                  "retry delays = the reference presets' seconds x scale");
  cmd->add_option("--pool-size", args->options.pool_size, "rebound: warehouse connections per URL");
  cmd->add_flag("--json", args->json, "print one JSON document instead of the table");
  cmd->add_flag("--quiet,-q", args->quiet, "no progress bar");
  cmd->add_option("--plot", args->plot, "write the retry timeline of both runs as SVG");
  cmd->add_option("--metrics", args->metrics, "write all counters in Prometheus text format");
  cmd->callback([args, &exit_code] { exit_code = run_fleet_command(*args); });
}

}  // namespace rebound::cli
