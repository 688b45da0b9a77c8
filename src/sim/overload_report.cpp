// The overload table and its JSON; see overload_report.hpp.
#include "rebound/sim/overload_report.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ostream>
#include <string>

namespace rebound::sim {
namespace {

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string recovered_text(const OverloadRow& r) {
  return r.recovered ? fmt::format("{:.0f} ms", ms(*r.recovered)) : std::string("never");
}

}  // namespace

void print_overload_table(std::ostream& out, const OverloadOptions& o,
                          std::span<const OverloadRow> rows) {
  const double capacity = o.workers * 1000.0 / ms(o.service_time);
  out << fmt::format(
      "rebound herd --scenario overload: seed {}, {} clients offer {:.0f} req/s to a server of "
      "{:.0f} req/s ({} slots, queue {}).\ntrigger: {} from {:.0f} s for {:.0f} s; attempt timeout "
      "{:.0f} ms, deadline {:.0f} ms, up to {} attempts; run {:.0f} s (simulated).\n\n",
      o.seed, o.clients, o.offered_rps, capacity, o.workers, o.queue_limit, to_string(o.trigger),
      ms(o.trigger_start) / 1000, ms(o.trigger_length) / 1000, ms(o.attempt_timeout),
      ms(o.deadline), o.max_attempts, ms(o.run) / 1000);
  out << fmt::format("{:<10} {:>8} {:>8} {:>8} {:>13} {:>8} {:>8} {:>12}\n", "protection",
                     "offered", "calls", "goodput", "amplification", "wasted", "refused",
                     "recovered");
  for (const OverloadRow& r : rows) {
    out << fmt::format("{:<10} {:>8} {:>8} {:>8.3f} {:>13.2f} {:>8} {:>8} {:>12}\n",
                       to_string(r.protection), r.offered, r.calls, r.goodput, r.amplification,
                       r.wasted, r.refused, recovered_text(r));
  }
  out << "\ngoodput: requests that succeeded within their deadline / offered; amplification: "
         "calls the server received / offered;\nwasted: calls served after the client gave up; "
         "recovered: from the end of the trigger until goodput stays >= 90% of its pre-trigger "
         "level.\n";
}

nlohmann::ordered_json overload_json(std::span<const OverloadRow> rows) {
  nlohmann::ordered_json doc = {{"scenario", "overload"},
                                {"rows", nlohmann::ordered_json::array()}};
  for (const OverloadRow& r : rows) {
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

}  // namespace rebound::sim
