// rebound herd — N clients start at once and fight over one row under
// optimistic concurrency; the table shows, per backoff strategy, how much work
// (calls) and how much simulated time the herd needs to drain:
//   rebound herd [--clients-max 100] [--step 10] [--seed 1] [--base 5] [--cap 2000]
//                [--budget 100] [--runs 10] [--strategies full,decorrelated] [--json]
//   rebound herd --scenario overload [--seed 1] [--trigger capacity_drop|latency_spike] [--json]
//                (herd_overload.cpp: the metastable failure and the protections that end it)
// Simulated time: it finishes in well under a second and the same seed prints
// the same table. See docs/herd.md for the model and how to read it.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli_output.hpp"
#include "commands.hpp"
#include "herd_overload.hpp"
#include "rebound/sim/herd.hpp"

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

constexpr int kMaxRuns = 1000;
constexpr int kMaxClients = 10000;
constexpr int kMaxHerds = 200;

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
  // Upper bounds, so a typo cannot start hours of simulation: each row is
  // runs x clients simulated clients, and there is one row per herd size.
  if (a.runs > kMaxRuns) return fmt::format("--runs must be <= {} (got {})", kMaxRuns, a.runs);
  if (a.clients_max > kMaxClients)
    return fmt::format("--clients-max must be <= {} (got {})", kMaxClients, a.clients_max);
  const int first = a.clients_min.value_or(std::min(a.step, a.clients_max));
  if ((a.clients_max - first) / a.step + 1 > kMaxHerds)
    return fmt::format(
        "--step {} gives more than {} herd sizes up to --clients-max {}; raise --step", a.step,
        kMaxHerds, a.clients_max);
  for (const std::string& name : a.strategies) {
    if (!parse_backoff_kind(name))
      return fmt::format(
          "--strategies: unknown strategy '{}' (use constant, exponential, full, equal, "
          "decorrelated, smooth)",
          name);
  }
  return std::nullopt;
}

std::vector<int> herd_sizes(const HerdArgs& a) {
  std::vector<int> sizes;
  for (int n = a.clients_min.value_or(std::min(a.step, a.clients_max)); n <= a.clients_max;
       n += a.step) {
    sizes.push_back(n);
    if (n > a.clients_max - a.step) break;  // no overflow past INT_MAX
  }
  return sizes;
}

std::vector<BackoffKind> chosen_strategies(const HerdArgs& a) {
  if (a.strategies.empty()) return sim::herd_strategies();
  std::vector<BackoffKind> out;
  for (const std::string& name : a.strategies) {
    const BackoffKind j =
        parse_backoff_kind(name).value_or(BackoffKind::full_jitter);  // validated before
    if (std::find(out.begin(), out.end(), j) == out.end()) out.push_back(j);
  }
  return out;
}

void print_table(int clients, const std::vector<sim::HerdResult>& rows) {
  fmt::print("\n{} clients\n", clients);
  fmt::print("{:<32} {:>9} {:>11} {:>13} {:>8}\n", "strategy", "calls", "time (ms)", "calls/client",
             "gave up");
  for (const sim::HerdResult& r : rows) {
    fmt::print("{:<32} {:>9.1f} {:>11.1f} {:>13.2f} {:>8.1f}\n", sim::row_label(r), r.mean_calls(),
               r.completion_ms(), r.calls_per_client(), r.mean_gave_up());
  }
}

nlohmann::json to_json(const sim::HerdResult& r) {
  return {{"strategy", std::string(to_string(r.backoff))},
          {"budget", r.budgeted},
          {"calls", r.mean_calls()},
          {"completion_ms", r.completion_ms()},
          {"calls_per_client", r.calls_per_client()},
          {"gave_up", r.mean_gave_up()},
          {"retries_denied", static_cast<double>(r.retries_denied) / r.runs}};
}

int run_herd_command(const HerdArgs& a) {
  if (a.scenario == "overload") {
    return run_overload_command({.seed = a.seed, .trigger = a.trigger, .json = a.json});
  }
  if (a.scenario != "contention") {
    std::cerr << "rebound herd: --scenario must be contention or overload (got '" << a.scenario
              << "')\n";
    return kUsage;
  }
  if (auto why = invalid_option(a)) {
    std::cerr << "rebound herd: " << *why << "\n";
    return kUsage;
  }
  const sim::HerdOptions base{.seed = a.seed,
                              .base = from_ms(a.base_ms),
                              .cap = from_ms(a.cap_ms),
                              .runs = a.runs,
                              .budget_tokens = a.budget};
  const std::vector<BackoffKind> strategies = chosen_strategies(a);
  nlohmann::json names = nlohmann::json::array();
  for (BackoffKind j : strategies) names.push_back(std::string(to_string(j)));
  nlohmann::json doc = {
      {"seed", a.seed},
      {"base_ms", a.base_ms},
      {"cap_ms", a.cap_ms},
      {"budget_tokens", a.budget},
      {"runs", a.runs},
      {"network_mean_ms", std::chrono::duration<double, std::milli>(base.network_mean).count()},
      {"network_sd_ms", std::chrono::duration<double, std::milli>(base.network_sd).count()},
      {"strategies", names},
      {"herds", nlohmann::json::array()}};
  if (!a.json) {
    fmt::print(
        "rebound herd: clients start together and race to update one row (optimistic "
        "concurrency).\nseed {}, backoff base {} ms, cap {} ms, network 10 +/- 2 ms one way, "
        "mean of {} runs{}\n",
        a.seed, a.base_ms, a.cap_ms, a.runs,
        a.budget > 0 ? fmt::format(", shared retry budget {} tokens", a.budget) : "");
  }
  for (int n : herd_sizes(a)) {
    sim::HerdOptions o = base;
    o.clients = n;
    auto rows = sim::run_herd(o, strategies);
    if (!rows) {
      std::cerr << "rebound herd: " << rows.error().message << "\n";
      return kUsage;
    }
    if (a.json) {
      nlohmann::json herd = {{"clients", n}, {"rows", nlohmann::json::array()}};
      for (const sim::HerdResult& r : *rows) herd["rows"].push_back(to_json(r));
      doc["herds"].push_back(std::move(herd));
    } else {
      print_table(n, *rows);
    }
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
