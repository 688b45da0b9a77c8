// rebound herd --scenario overload [--seed 1] [--trigger capacity_drop|latency_spike] [--json]
// The same seeded workload under each protection: how much work it wastes
// and whether the system recovers after the trigger. Simulated time.
#include "herd_overload.hpp"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "rebound/sim/overload.hpp"

namespace rebound::cli {
namespace {

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string recovered_text(const sim::OverloadRow& r) {
  return r.recovered ? fmt::format("{:.0f} ms", ms(*r.recovered)) : std::string("never");
}

void print_table(const sim::OverloadOptions& o, const std::vector<sim::OverloadRow>& rows) {
  const double capacity = o.workers * 1000.0 / ms(o.service_time);
  fmt::print(
      "rebound herd --scenario overload: seed {}, {} clients offer {:.0f} req/s to a server of "
      "{:.0f} req/s ({} slots, queue {}).\ntrigger: {} from {:.0f} s for {:.0f} s; attempt timeout "
      "{:.0f} ms, deadline {:.0f} ms, up to {} attempts; run {:.0f} s (simulated).\n\n",
      o.seed, o.clients, o.offered_rps, capacity, o.workers, o.queue_limit, to_string(o.trigger),
      ms(o.trigger_start) / 1000, ms(o.trigger_length) / 1000, ms(o.attempt_timeout),
      ms(o.deadline), o.max_attempts, ms(o.run) / 1000);
  fmt::print("{:<10} {:>8} {:>8} {:>8} {:>13} {:>8} {:>8} {:>12}\n", "protection", "offered",
             "calls", "goodput", "amplification", "wasted", "refused", "recovered");
  for (const sim::OverloadRow& r : rows) {
    fmt::print("{:<10} {:>8} {:>8} {:>8.3f} {:>13.2f} {:>8} {:>8} {:>12}\n",
               to_string(r.protection), r.offered, r.calls, r.goodput, r.amplification, r.wasted,
               r.refused, recovered_text(r));
  }
  fmt::print(
      "\ngoodput: requests that succeeded within their deadline / offered; amplification: calls "
      "the server received / offered;\nwasted: calls served after the client gave up; recovered: "
      "from the end of the trigger until goodput stays >= 90% of its pre-trigger level.\n");
}

// Keys in the documented order: {"scenario", "rows": [{"protection", "calls",
// "offered", "goodput", "amplification", "recovered_ms"}]}.
nlohmann::ordered_json to_json(const std::vector<sim::OverloadRow>& rows) {
  nlohmann::ordered_json doc = {{"scenario", "overload"},
                                {"rows", nlohmann::ordered_json::array()}};
  for (const sim::OverloadRow& r : rows) {
    doc["rows"].push_back(
        {{"protection", std::string(to_string(r.protection))},
         {"calls", r.calls},
         {"offered", r.offered},
         {"goodput", r.goodput},
         {"amplification", r.amplification},
         {"recovered_ms", r.recovered ? nlohmann::ordered_json(std::llround(ms(*r.recovered)))
                                      : nlohmann::ordered_json(nullptr)}});
  }
  return doc;
}

}  // namespace

int run_overload_command(const OverloadArgs& a) {
  const auto trigger = sim::parse_trigger(a.trigger);
  if (!trigger) {
    std::cerr << "rebound herd: --trigger must be capacity_drop or latency_spike (got '"
              << a.trigger << "')\n";
    return kUsage;
  }
  auto options = sim::make_overload_options({.seed = a.seed, .trigger = *trigger});
  if (!options) {
    std::cerr << "rebound herd: " << options.error().message << "\n";
    return kUsage;
  }
  auto rows = sim::run_overload(*options);
  if (!rows) {
    std::cerr << "rebound herd: " << rows.error().message << "\n";
    return kUsage;
  }
  if (a.json) {
    std::cout << to_json(*rows).dump(2) << "\n";
  } else {
    print_table(*options, *rows);
  }
  return kOk;
}

}  // namespace rebound::cli
