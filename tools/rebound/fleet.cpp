// `rebound fleet` — the main job: a fleet of concurrent processors, the naive
// way vs the rebound way, and the success table. See fleet_run.hpp for what a
// processor does and README.md ("rebound fleet") for how to read the table.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>

#include "rebound/core/redact.hpp"
#include "rebound/fleet/bigquery.hpp"
#include "rebound/warehouse/open.hpp"

#include "cli_output.hpp"
#include "commands.hpp"
#include "rebound/fleet/fetch.hpp"
#include "rebound/fleet/report.hpp"
#include "rebound/fleet/run.hpp"
#include "rebound/fleet/source.hpp"

namespace rebound::cli {
namespace {

using namespace rebound::fleet;  // NOLINT: this file is the fleet's front end

struct FleetArgs {
  int processors = 32;
  int batches = 20;
  int rows = 25;
  std::int64_t keys = 0;  // 0: a third of all rows, so writers overlap
  std::uint64_t seed = 42;
  std::string warehouse;
  std::string source;
  FaultRates faults;
  double latency_ms = 2.0;
  // The built-in source's outage (the trigger): from this far into each run,
  // for this long; 0 length turns it off.
  int trigger_after_ms = 200;
  int trigger_ms = 300;
  double scale = 0.01;
  std::size_t pool_size = 8;
  bool json = false;
  bool quiet = false;
  std::string plot;
  std::string metrics;
};

// A temp folder for the embedded SQLite warehouse, removed on scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "rebound-fleet-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// "[rebound] ██████████░░░░░░░░░░ 96/192" on a terminal; nothing otherwise.
class ProgressBar {
 public:
  ProgressBar(bool enabled, std::string label) : enabled_(enabled), label_(std::move(label)) {}
  void update(std::uint64_t done, std::uint64_t total) {
    if (!enabled_ || total == 0) return;
    std::lock_guard lock(mu_);
    const auto filled = static_cast<std::size_t>(done * 30 / total);
    std::string bar;
    for (std::size_t i = 0; i < 30; ++i) bar += i < filled ? "█" : "░";
    std::cerr << fmt::format("\r[{:<7}] {} {}/{}", label_, bar, done, total) << std::flush;
  }
  void finish() {
    if (enabled_) std::cerr << "\r\033[K" << std::flush;
  }

 private:
  bool enabled_;
  std::string label_;
  std::mutex mu_;
};

std::string validate(const FleetArgs& a) {
  if (a.processors < 1 || a.processors > 1024)
    return fmt::format("--processors {} must be in 1..1024", a.processors);
  if (a.batches < 1 || a.batches > 100000)
    return fmt::format("--batches {} must be in 1..100000", a.batches);
  if (a.rows < 1 || a.rows > 100000) return fmt::format("--rows {} must be in 1..100000", a.rows);
  if (a.keys < 0) return fmt::format("--keys {} must be >= 1 (or 0 for the default)", a.keys);
  for (auto [name, rate] : {std::pair{"--error-rate", a.faults.error_rate},
                            {"--throttle-rate", a.faults.throttle_rate},
                            {"--drop-rate", a.faults.drop_rate},
                            {"--slow-rate", a.faults.slow_rate}}) {
    if (!(rate >= 0 && rate <= 1)) return fmt::format("{} {} must be in [0, 1]", name, rate);
  }
  const double sum =
      a.faults.error_rate + a.faults.throttle_rate + a.faults.drop_rate + a.faults.slow_rate;
  if (sum > 1) return fmt::format("fault rates add up to {} (must be <= 1)", sum);
  if (a.trigger_after_ms < 0 || a.trigger_after_ms > 3'600'000)
    return fmt::format("--trigger-after-ms {} must be in [0, 3600000]", a.trigger_after_ms);
  if (a.trigger_ms < 0 || a.trigger_ms > 3'600'000)
    return fmt::format("--trigger-ms {} must be in [0, 3600000] (0: no trigger)", a.trigger_ms);
  if (!(a.latency_ms >= 0 && a.latency_ms <= 1000))
    return fmt::format("--latency-ms {} must be in [0, 1000]", a.latency_ms);
  // Below 1e-4 the reference presets' delays round to nothing (1e-300 reached an
  // undefined double -> integer conversion after work had started).
  if (!(a.scale >= 1e-4 && a.scale <= 1))
    return fmt::format("--scale {} must be in [0.0001, 1]", a.scale);
  if (!a.warehouse.empty()) {
    if (const auto sep = a.warehouse.find("://"); sep != std::string::npos) {
      const std::string scheme = a.warehouse.substr(0, sep);
      if (scheme != "sqlite" && scheme != "postgresql" && scheme != "postgres" &&
          scheme != "bigquery")
        return fmt::format(
            "--warehouse {}: unsupported scheme \"{}\" (use a file path, "
            "sqlite:///path, postgresql://, postgres://, bigquery:// or bigquery-emulator)",
            redact_url(a.warehouse), scheme);
    }
  }
  if (!a.source.empty() && !a.source.starts_with("http://") && !a.source.starts_with("https://"))
    return fmt::format("--source {} is not an http:// or https:// URL", redact_url(a.source));
  if (a.pool_size < 1 || a.pool_size > 1000)
    return fmt::format("--pool-size {} must be in 1..1000", a.pool_size);
  return {};
}

int run_fleet_command(const FleetArgs& args) {
  if (std::string problem = validate(args); !problem.empty()) {
    std::cerr << "rebound fleet: " << problem << "\n";
    return kUsage;
  }
  Workload workload{.seed = args.seed,
                    .processors = args.processors,
                    .batches = args.batches,
                    .rows = args.rows,
                    .key_space = args.keys > 0
                                     ? args.keys
                                     : std::max<std::int64_t>(1, std::int64_t{args.processors} *
                                                                     args.batches * args.rows / 3)};

  TempDir temp;
  Config config{.workload = workload, .scale = args.scale, .pool_size = args.pool_size};
  config.warehouse_url = args.warehouse;
  fleet::LocalBigQuery bigquery;  // lives as long as both runs
  if (config.warehouse_url == "bigquery-emulator") {
    auto started = fleet::start_bigquery_emulator();
    if (!started) {
      std::cerr << "rebound fleet: cannot start the BigQuery emulator: " << started.error().message
                << "\n";
      return kFailure;
    }
    bigquery = std::move(*started);
    config.warehouse_url = bigquery.url;
  }
  if (config.warehouse_url.empty()) {
    if (temp.path().empty()) {
      std::cerr << "rebound fleet: cannot create a temporary folder for the SQLite warehouse\n";
      return kFailure;
    }
    config.warehouse_url = temp.path() + "/fleet.db";
  }

  std::unique_ptr<Source> source;
  if (args.source.empty()) {
    FaultRates faults = args.faults;
    faults.latency = std::chrono::microseconds{static_cast<std::int64_t>(args.latency_ms * 1000)};
    faults.trigger_after = std::chrono::milliseconds{args.trigger_after_ms};
    faults.trigger_for = std::chrono::milliseconds{args.trigger_ms};
    config.trigger_after = faults.trigger_after;
    config.trigger_for = faults.trigger_for;
    auto started = Source::start(workload, faults);
    if (!started) {
      std::cerr << "rebound fleet: cannot start the built-in source: " << started.error().message
                << "\n";
      return kFailure;
    }
    source = std::move(*started);
    config.source_url = source->url();
  } else {
    config.source_url = args.source;
    while (!config.source_url.empty() && config.source_url.back() == '/')
      config.source_url.pop_back();
    config.builtin_source = false;
    if (auto reachable = probe_source(config.source_url); !reachable) {
      std::cerr << "rebound fleet: " << reachable.error().message << "\n";
      return kBackendError;
    }
  }

  metrics::Registry registry;
  config.registry = &registry;
  const bool show_progress = !args.quiet && !args.json && ::isatty(STDERR_FILENO) == 1;

  RunStats runs[2];
  int run_error = kOk;
  const Mode modes[2] = {Mode::naive, Mode::rebound};
  for (int i = 0; i < 2; ++i) {
    ProgressBar bar(show_progress, i == 0 ? "naive" : "rebound");
    if (source) source->mark_run_start();  // both runs meet the outage at the same point
    auto result = fleet::run(config, modes[i], [&](std::uint64_t done, std::uint64_t total) {
      bar.update(done, total);
    });
    bar.finish();
    if (!result) {
      // The report is printed anyway (a run that could not finish shows as
      // failed in the table and JSON); the exit code says why.
      const Error& e = result.error();
      std::cerr << "rebound fleet: " << (i == 0 ? "naive" : "rebound")
                << " run failed: " << e.message << "\n";
      runs[i].mode = i == 0 ? "naive" : "rebound";
      runs[i].sample_errors.push_back(e.describe());
      // Same mapping as load: a problem rebound found itself is a usage
      // error; anything the back end said (a wrong password too) is exit 4.
      // The naive run failing is what the naive way does; only the
      // rebound run's failure decides the code.
      if (i == 1) {
        run_error = e.source == "rebound" && e.error_class == ErrorClass::permanent ? kUsage
                                                                                    : kBackendError;
      }
      continue;
    }
    runs[i] = std::move(*result);
  }

  const auto rows = success_rows(runs[0], runs[1]);
  const bool pass = all_pass(rows);
  if (args.json) {
    nlohmann::json doc = {{"config",
                           {{"processors", args.processors},
                            {"batches", args.batches},
                            {"rows_per_batch", args.rows},
                            {"key_space", workload.key_space},
                            {"seed", args.seed},
                            {"warehouse", redact_url(config.warehouse_url)},
                            {"source", source ? "built-in" : redact_url(config.source_url)},
                            {"scale", args.scale},
                            {"latency_ms", args.latency_ms},
                            {"trigger_after_ms", source ? args.trigger_after_ms : 0},
                            {"trigger_ms", source ? args.trigger_ms : 0}}},
                          {"naive", to_json(runs[0])},
                          {"rebound", to_json(runs[1])},
                          {"table", to_json(rows)},
                          {"pass", pass}};
    std::cout << json_text(doc, 2) << "\n";
  } else {
    std::cout << fmt::format(
        "rebound fleet: {} processors x {} batches x {} rows over {} keys; warehouse {}; source "
        "{}\n"
        "retry delays scaled x{} (the reference presets' 1 s is {} ms here); simulated network round trip {} "
        "ms{}\n\n",
        args.processors, args.batches, args.rows, workload.key_space,
        redact_url(config.warehouse_url),
        source ? "built-in (faults injected)" : redact_url(config.source_url),
        args.scale, 1000 * args.scale, args.latency_ms,
        source && args.trigger_ms > 0
            ? fmt::format("; trigger: the source answers 503 from {} ms for {} ms of each run",
                          args.trigger_after_ms, args.trigger_ms)
            : std::string());
    print_table(std::cout, rows);
    std::cout << "\n"
              << (pass ? "PASS: the rebound way meets every target\n"
                       : "FAIL: the rebound way missed a target\n");
    for (const RunStats& r : runs) {
      for (const std::string& e : r.sample_errors)
        std::cout << "  " << r.mode << " error: " << e << "\n";
    }
  }

  if (!args.plot.empty()) {
    std::ofstream out(args.plot);
    out << timeline_svg(runs[0], runs[1], args.processors);
    if (!out) {
      std::cerr << "rebound fleet: cannot write the plot to " << args.plot << "\n";
      return kFailure;
    }
  }
  if (!args.metrics.empty()) {
    if (auto written = registry.write_prometheus(args.metrics); !written) {
      std::cerr << "rebound fleet: " << written.error().message << "\n";
      return kFailure;
    }
  }
  if (run_error != kOk) return run_error;
  return pass ? kOk : kFailure;
}

}  // namespace

void add_fleet_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<FleetArgs>();
  CLI::App* cmd = app.add_subcommand(
      "fleet",
      "Run N concurrent processors the naive way and the rebound way; print the success table");
  cmd->add_option("--processors,-n", args->processors, "concurrent processors (threads)")
      ->capture_default_str();
  cmd->add_option("--batches", args->batches, "batches each processor fetches and writes")
      ->capture_default_str();
  cmd->add_option("--rows", args->rows, "records per batch")->capture_default_str();
  cmd->add_option("--keys", args->keys,
                  "distinct keys (0: a third of all records, so writers overlap)")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "workload and fault seed")->capture_default_str();
  cmd->add_option("--warehouse", args->warehouse,
                  "warehouse URL: a SQLite path or sqlite:///path, postgresql://…, "
                  "bigquery://PROJECT/DATASET, or bigquery-emulator (an in-process BigQuery "
                  "emulator with DML conflicts and quotas on) (default: a temp SQLite file)");
  cmd->add_option("--source", args->source,
                  "base URL of a real source serving GET /batch?processor=P&batch=B");
  cmd->add_option("--error-rate", args->faults.error_rate,
                  "built-in source: share of 503 responses")
      ->capture_default_str();
  cmd->add_option("--throttle-rate", args->faults.throttle_rate,
                  "built-in source: share of 429 + Retry-After")
      ->capture_default_str();
  cmd->add_option("--drop-rate", args->faults.drop_rate,
                  "built-in source: share of dropped connections")
      ->capture_default_str();
  cmd->add_option("--slow-rate", args->faults.slow_rate, "built-in source: share of slow responses")
      ->capture_default_str();
  cmd->add_option("--latency-ms", args->latency_ms, "built-in source: simulated network round trip")
      ->capture_default_str();
  cmd->add_option("--trigger-after-ms", args->trigger_after_ms,
                  "built-in source: the outage starts this far into each run")
      ->capture_default_str();
  cmd->add_option(
         "--trigger-ms", args->trigger_ms,
         "built-in source: the outage (every /batch answered 503) lasts this long; 0 = none")
      ->capture_default_str();
  cmd->add_option("--scale", args->scale, "retry delays = the reference presets' seconds x scale")
      ->capture_default_str();
  cmd->add_option("--pool-size", args->pool_size, "rebound: warehouse connections per URL")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "print one JSON document instead of the table");
  cmd->add_flag("--quiet,-q", args->quiet, "no progress bar");
  cmd->add_option("--plot", args->plot, "write the retry timeline of both runs as SVG");
  cmd->add_option("--metrics", args->metrics, "write all counters in Prometheus text format");
  cmd->callback([args, &exit_code] { exit_code = run_fleet_command(*args); });
}

}  // namespace rebound::cli
