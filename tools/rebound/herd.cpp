// rebound herd — N clients start at once and fight over one row under
// optimistic concurrency; the table shows, per backoff strategy, how much work
// (calls) and how much simulated time the herd needs to drain:
//   rebound herd [--clients-max 100] [--step 10] [--seed 1] [--base 5] [--cap 2000]
//                [--budget 100] [--runs 10] [--strategies full,decorrelated] [--json]
//   rebound herd --scenario overload [--seed 1] [--trigger capacity_drop|latency_spike] [--json]
// The simulations and their tables are rebound::sim (herd_sweep.hpp,
// overload_report.hpp); this file parses the flags, calls them and prints.
// Simulated time: the same seed prints the same table. See docs/herd.md.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli_output.hpp"
#include "commands.hpp"
#include "rebound/sim/herd_sweep.hpp"
#include "rebound/sim/overload_report.hpp"

namespace rebound::cli {
namespace {

struct HerdArgs {
  int clients_max = 100;
  int step = 10;
  std::optional<int> clients_min;  // default: step
  std::uint64_t seed = 1;
  double base_ms = 5;
  double cap_ms = 2000;
  double budget = 100;
  int runs = 10;
  std::vector<std::string> strategies;  // empty: all of sim::herd_strategies()
  bool json = false;
  std::string scenario = "contention";  // or "overload"
  std::string trigger = "capacity_drop";
};

Duration from_ms(double ms) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms));
}

// Checks the command line before anything runs; the message names the option.
std::optional<std::string> invalid_option(const HerdArgs& a) {
  if (a.clients_max <= 0) return fmt::format("--clients-max must be > 0 (got {})", a.clients_max);
  if (a.step <= 0) return fmt::format("--step must be > 0 (got {})", a.step);
  if (a.clients_min && (*a.clients_min <= 0 || *a.clients_min > a.clients_max))
    return fmt::format("--clients-min must be in [1, --clients-max = {}] (got {})", a.clients_max,
                       *a.clients_min);
  // Written as !(x > 0) so NaN is rejected too.
  if (!(a.base_ms > 0)) return fmt::format("--base must be > 0 ms (got {})", a.base_ms);
  if (!(a.cap_ms >= a.base_ms))
    return fmt::format("--cap must be >= --base = {} ms (got {})", a.base_ms, a.cap_ms);
  if (!(a.cap_ms <= 3.6e6)) return fmt::format("--cap must be <= 1 hour (got {} ms)", a.cap_ms);
  if (!(a.budget >= 0)) return fmt::format("--budget must be >= 0 tokens (got {})", a.budget);
  if (a.runs <= 0) return fmt::format("--runs must be > 0 (got {})", a.runs);
  if (a.runs > sim::kMaxHerdRuns)
    return fmt::format("--runs must be <= {} (got {})", sim::kMaxHerdRuns, a.runs);
  if (a.clients_max > sim::kMaxHerdClients)
    return fmt::format("--clients-max must be <= {} (got {})", sim::kMaxHerdClients, a.clients_max);
  const int first = a.clients_min.value_or(std::min(a.step, a.clients_max));
  if ((a.clients_max - first) / a.step + 1 > sim::kMaxHerdSizes)
    return fmt::format(
        "--step {} gives more than {} herd sizes up to --clients-max {}; raise --step", a.step,
        sim::kMaxHerdSizes, a.clients_max);
  for (const std::string& name : a.strategies) {
    if (!parse_backoff_kind(name))
      return fmt::format(
          "--strategies: unknown strategy '{}' (use constant, exponential, full, equal, "
          "decorrelated, smooth)",
          name);
  }
  return std::nullopt;
}

sim::HerdSweep sweep_of(const HerdArgs& a) {
  sim::HerdSweep sweep{.herd = {.seed = a.seed,
                                .base = from_ms(a.base_ms),
                                .cap = from_ms(a.cap_ms),
                                .runs = a.runs,
                                .budget_tokens = a.budget},
                       .clients_min = a.clients_min.value_or(0),
                       .clients_max = a.clients_max,
                       .step = a.step};
  for (const std::string& name : a.strategies) {
    sweep.strategies.push_back(parse_backoff_kind(name).value_or(BackoffKind::full_jitter));
  }
  return sweep;
}

// The document's head echoes the options as given; "herds" is filled per size.
nlohmann::json json_head(const HerdArgs& a, const sim::HerdSweep& sweep) {
  nlohmann::json names = nlohmann::json::array();
  for (BackoffKind k : sim::sweep_strategies(sweep)) names.push_back(std::string(to_string(k)));
  auto ms = [](Duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  return {{"seed", a.seed},
          {"base_ms", a.base_ms},
          {"cap_ms", a.cap_ms},
          {"budget_tokens", a.budget},
          {"runs", a.runs},
          {"network_mean_ms", ms(sweep.herd.network_mean)},
          {"network_sd_ms", ms(sweep.herd.network_sd)},
          {"strategies", names},
          {"herds", nlohmann::json::array()}};
}

int run_overload(const HerdArgs& a) {
  const auto trigger = sim::parse_trigger(a.trigger);
  if (!trigger) {
    std::cerr << "rebound herd: --trigger must be capacity_drop or latency_spike (got '"
              << a.trigger << "')\n";
    return kUsage;
  }
  auto options = sim::make_overload_options({.seed = a.seed, .trigger = *trigger});
  auto rows = options ? sim::run_overload(*options) : fail(options.error());
  if (!rows) {
    std::cerr << "rebound herd: " << rows.error().message << "\n";
    return kUsage;
  }
  if (a.json) {
    std::cout << sim::overload_json(*rows).dump(2) << "\n";
  } else {
    sim::print_overload_table(std::cout, *options, *rows);
  }
  return kOk;
}

int run_herd_command(const HerdArgs& a) {
  if (a.scenario == "overload") return run_overload(a);
  if (a.scenario != "contention") {
    std::cerr << "rebound herd: --scenario must be contention or overload (got '" << a.scenario
              << "')\n";
    return kUsage;
  }
  if (auto why = invalid_option(a)) {
    std::cerr << "rebound herd: " << *why << "\n";
    return kUsage;
  }
  const sim::HerdSweep sweep = sweep_of(a);
  nlohmann::json doc = json_head(a, sweep);
  if (!a.json) {
    std::cout << fmt::format(
        "rebound herd: clients start together and race to update one row (optimistic "
        "concurrency).\nseed {}, backoff base {} ms, cap {} ms, network 10 +/- 2 ms one way, "
        "mean of {} runs{}\n",
        a.seed, a.base_ms, a.cap_ms, a.runs,
        a.budget > 0 ? fmt::format(", shared retry budget {} tokens", a.budget) : "");
  }
  for (int n : sim::herd_sizes(sweep)) {
    auto rows = sim::run_herd_size(sweep, n);
    if (!rows) {
      std::cerr << "rebound herd: " << rows.error().message << "\n";
      return kUsage;
    }
    if (!a.json) {
      sim::print_herd_table(std::cout, n, *rows);
      continue;
    }
    nlohmann::json herd = {{"clients", n}, {"rows", nlohmann::json::array()}};
    for (const sim::HerdResult& r : *rows) herd["rows"].push_back(sim::herd_row_json(r));
    doc["herds"].push_back(std::move(herd));
  }
  if (a.json) std::cout << json_text(doc, 2) << "\n";
  return kOk;
}

}  // namespace

void add_herd_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<HerdArgs>();
  CLI::App* cmd = app.add_subcommand(
      "herd", "Simulate N clients retrying one contended write under each backoff strategy");
  cmd->add_option("--clients-max", args->clients_max, "Largest herd (default 100, at most 10000)");
  cmd->add_option("--step", args->step, "Herd size step (default 10)");
  cmd->add_option("--clients-min", args->clients_min, "Smallest herd (default: --step)");
  cmd->add_option("--seed", args->seed, "Seed; the same seed prints the same table");
  cmd->add_option("--base,--base-ms", args->base_ms,
                  "Backoff base / initial delay in ms (default 5)");
  cmd->add_option("--cap,--cap-ms", args->cap_ms, "Backoff cap in ms (default 2000)");
  cmd->add_option("--budget", args->budget,
                  "Shared retry budget in tokens for the '+ budget' rows; 0 = none (default 100)");
  cmd->add_option("--runs", args->runs,
                  "Herds averaged per row (default 10, at most 1000; the blog used 100)");
  cmd->add_option("--strategies", args->strategies,
                  "Comma-separated subset: constant, exponential, full, equal, decorrelated, "
                  "smooth (default: all)")
      ->delimiter(',');
  cmd->add_flag("--json", args->json, "Print one JSON document instead of tables");
  cmd->add_option("--scenario", args->scenario,
                  "contention (default: clients racing for one row) or overload (a metastable "
                  "failure under each protection)");
  cmd->add_option("--trigger", args->trigger, "overload: capacity_drop (default) or latency_spike");
  cmd->callback([args, &exit_code] { exit_code = run_herd_command(*args); });
}

}  // namespace rebound::cli
