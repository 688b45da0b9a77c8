// The herd sweep and its table; see herd_sweep.hpp.
#include "rebound/sim/herd_sweep.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>
#include <string>

namespace rebound::sim {
namespace {

Error invalid(const std::string& what) { return Error::permanent("herd sweep: " + what); }

int first_size(const HerdSweep& s) {
  return s.clients_min > 0 ? s.clients_min : std::min(s.step, s.clients_max);
}

}  // namespace

Status check_herd_sweep(const HerdSweep& s) {
  if (s.step <= 0) return fail(invalid(fmt::format("step must be > 0 (got {})", s.step)));
  if (s.clients_max <= 0 || s.clients_max > kMaxHerdClients) {
    return fail(invalid(
        fmt::format("clients_max must be in 1..{} (got {})", kMaxHerdClients, s.clients_max)));
  }
  if (s.clients_min < 0 || s.clients_min > s.clients_max) {
    return fail(invalid(fmt::format("clients_min must be in [1, clients_max = {}] (got {})",
                                    s.clients_max, s.clients_min)));
  }
  if ((s.clients_max - first_size(s)) / s.step + 1 > kMaxHerdSizes) {
    return fail(invalid(fmt::format("step {} gives more than {} herd sizes up to clients_max {}",
                                    s.step, kMaxHerdSizes, s.clients_max)));
  }
  if (s.herd.runs > kMaxHerdRuns) {
    return fail(invalid(fmt::format("runs must be <= {} (got {})", kMaxHerdRuns, s.herd.runs)));
  }
  auto herd = make_herd_options(s.herd);
  if (!herd) return fail(std::move(herd.error()));
  return {};
}

std::vector<int> herd_sizes(const HerdSweep& s) {
  std::vector<int> sizes;
  if (s.step <= 0) return sizes;
  for (int n = first_size(s); n <= s.clients_max; n += s.step) {
    sizes.push_back(n);
    if (n > s.clients_max - s.step) break;  // no overflow past INT_MAX
  }
  return sizes;
}

std::vector<BackoffKind> sweep_strategies(const HerdSweep& s) {
  if (s.strategies.empty()) return herd_strategies();
  std::vector<BackoffKind> out;
  for (BackoffKind k : s.strategies) {
    if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  }
  return out;
}

Result<std::vector<HerdResult>> run_herd_size(const HerdSweep& s, int clients) {
  HerdOptions o = s.herd;
  o.clients = clients;
  return run_herd(o, sweep_strategies(s));
}

void print_herd_table(std::ostream& out, int clients, std::span<const HerdResult> rows) {
  out << fmt::format("\n{} clients\n", clients);
  out << fmt::format("{:<32} {:>9} {:>11} {:>13} {:>8}\n", "strategy", "calls", "time (ms)",
                     "calls/client", "gave up");
  for (const HerdResult& r : rows) {
    out << fmt::format("{:<32} {:>9.1f} {:>11.1f} {:>13.2f} {:>8.1f}\n", row_label(r),
                       r.mean_calls(), r.completion_ms(), r.calls_per_client(), r.mean_gave_up());
  }
}

nlohmann::json herd_row_json(const HerdResult& r) {
  return {{"strategy", std::string(to_string(r.backoff))},
          {"budget", r.budgeted},
          {"calls", r.mean_calls()},
          {"completion_ms", r.completion_ms()},
          {"calls_per_client", r.calls_per_client()},
          {"gave_up", r.mean_gave_up()},
          {"retries_denied", static_cast<double>(r.retries_denied) / r.runs}};
}

}  // namespace rebound::sim
