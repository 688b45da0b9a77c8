#include "rebound/fleet/report.hpp"

#include <fmt/format.h>

#include "rebound/metrics/summary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <ostream>

namespace rebound::fleet {
namespace {

std::string duration_text(double ns) {
  if (ns < 1e3) return fmt::format("{:.0f} ns", ns);
  if (ns < 1e6) return fmt::format("{:.1f} µs", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:.2f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

std::string percent(double fraction) { return fmt::format("{:.1f}%", fraction * 100); }

double ratio(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

double reuse_rate(const RunStats& r) {
  return ratio(r.http_reused_connections, r.http_reused_connections + r.http_new_connections);
}

double retry_success(const RunStats& r) {
  return r.operations_retried == 0 ? 1.0 : ratio(r.operations_recovered, r.operations_retried);
}

std::string rows_text(const RunStats& r) {
  std::string text = fmt::format("{}/{}", r.rows_in_table, r.rows_expected);
  if (r.rows_lost > 0) text += fmt::format(" ({} lost)", r.rows_lost);
  if (r.rows_wrong > 0) text += fmt::format(" ({} wrong)", r.rows_wrong);
  return text;
}

std::size_t display_width(const std::string& s) {
  // Count UTF-8 code points, not bytes, so "µs" lines up.
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::optional<double> recovery_ms(const RunStats& run) {
  if (run.trigger_end_ms < 0 || run.timeline.empty()) return std::nullopt;
  constexpr double kWindow = 200;  // ms: ~50 attempts at the default size, so noise stays small
  double last = 0;
  for (const AttemptMark& m : run.timeline) last = std::max(last, m.at_ms);
  const auto windows = static_cast<std::size_t>(last / kWindow) + 1;
  std::vector<double> ok(windows, 0), all(windows, 0);
  double pre_ok = 0, pre_all = 0;
  for (const AttemptMark& m : run.timeline) {
    const auto w = static_cast<std::size_t>(m.at_ms / kWindow);
    all[w] += 1;
    ok[w] += m.ok ? 1 : 0;
    if (m.at_ms < run.trigger_start_ms) {
      pre_all += 1;
      pre_ok += m.ok ? 1 : 0;
    }
  }
  const double level = pre_all > 0 ? pre_ok / pre_all : 1.0;
  const auto first = static_cast<std::size_t>(std::ceil(run.trigger_end_ms / kWindow));
  if (first >= windows) return std::nullopt;  // the run ended inside the trigger
  // Walk back from the end while windows are healthy; empty windows (all
  // processors waiting for a breaker's probe) neither break nor prove it.
  std::size_t from = windows;
  while (from > first && (all[from - 1] == 0 || ok[from - 1] / all[from - 1] >= 0.9 * level))
    --from;
  if (from == windows) return std::nullopt;
  return std::max(0.0, static_cast<double>(from) * kWindow - run.trigger_end_ms);
}

std::vector<SuccessRow> success_rows(const RunStats& naive, const RunStats& rebound) {
  std::vector<SuccessRow> rows;
  // Medians: the first lookup of the rebound run creates the client, and
  // every processor that asked at that instant waited for it; the median is
  // the cost of the steady state, as the "(cached)" target of docs/fleet.md means.
  const double fresh = metrics::percentile(naive.client_acquire_ns, 0.50);
  const double cached = metrics::percentile(rebound.client_acquire_ns, 0.50);
  const double speedup = cached > 0 ? fresh / cached : 0;
  rows.push_back({.metric = "client acquisition (median)",
                  .naive = duration_text(fresh) + " fresh",
                  .rebound = duration_text(cached) + fmt::format(" cached ({:.0f}x)", speedup),
                  .target = "< 1 ms cached, > 200x faster",
                  .pass = cached < 1e6 && speedup > 200});

  const double naive_p50 = metrics::percentile(naive.http_latency_ms, 0.50);
  const double pooled_p50 = metrics::percentile(rebound.http_latency_ms, 0.50);
  const double http_speedup = pooled_p50 > 0 ? naive_p50 / pooled_p50 : 0;
  rows.push_back({.metric = "HTTP latency p50",
                  .naive = fmt::format("{:.2f} ms new conn", naive_p50),
                  .rebound = fmt::format("{:.2f} ms pooled ({:.1f}x)", pooled_p50, http_speedup),
                  .target = "4x lower",
                  .pass = !rebound.http_latency_ms.empty() && http_speedup >= 4});
  rows.push_back(
      {.metric = "HTTP latency p99",
       .naive = fmt::format("{:.2f} ms", metrics::percentile(naive.http_latency_ms, 0.99)),
       .rebound = fmt::format("{:.2f} ms", metrics::percentile(rebound.http_latency_ms, 0.99)),
       .target = "(info)",
       .pass = true,
       .scored = false});
  rows.push_back({.metric = "connection reuse",
                  .naive = percent(reuse_rate(naive)),
                  .rebound = percent(reuse_rate(rebound)),
                  .target = "> 90%",
                  .pass = reuse_rate(rebound) > 0.90});
  rows.push_back({.metric = "retry success rate",
                  .naive = fmt::format("{} ({}/{})", percent(retry_success(naive)),
                                       naive.operations_recovered, naive.operations_retried),
                  .rebound = fmt::format("{} ({}/{})", percent(retry_success(rebound)),
                                         rebound.operations_recovered, rebound.operations_retried),
                  .target = "> 95%",
                  .pass = retry_success(rebound) > 0.95});
  rows.push_back({.metric = "too-many-connections errors",
                  .naive = std::to_string(naive.too_many_connections),
                  .rebound = std::to_string(rebound.too_many_connections),
                  .target = "0",
                  .pass = rebound.too_many_connections == 0});
  rows.push_back({.metric = "rows written / expected",
                  .naive = rows_text(naive),
                  .rebound = rows_text(rebound),
                  .target = "exact",
                  .pass = rebound.rows_in_table == rebound.rows_expected &&
                          rebound.rows_lost == 0 && rebound.rows_wrong == 0 &&
                          rebound.rows_expected > 0});
  // With fewer than two retries there are no gaps to compare: nothing to fail.
  const bool few_retries = rebound.retry_delays_ms.size() < 2;
  const double naive_spread = metrics::coefficient_of_variation(naive.retry_delays_ms);
  const double rebound_spread = metrics::coefficient_of_variation(rebound.retry_delays_ms);
  rows.push_back({.metric = "retry spread (CV of waits)",
                  .naive = fmt::format("{:.2f}", naive_spread),
                  .rebound = few_retries ? std::string("n/a (no retries)")
                                         : fmt::format("{:.2f}", rebound_spread),
                  .target = "> 0.25 (gaps vary)",
                  .pass = few_retries || rebound_spread > 0.25});
  rows.push_back({.metric = "operations failed",
                  .naive = fmt::format("{}/{}", naive.operations_failed, naive.operations),
                  .rebound = fmt::format("{}/{}", rebound.operations_failed, rebound.operations),
                  .target = "0",
                  .pass = rebound.operations_failed == 0});
  if (rebound.trigger_end_ms >= 0) {
    auto text = [](const RunStats& r) {
      if (r.wall_seconds * 1000 <= r.trigger_end_ms) return std::string("n/a (run ended first)");
      const std::optional<double> ms = recovery_ms(r);
      return ms ? fmt::format("{:.0f} ms", *ms) : std::string("never");
    };
    // A run shorter than the trigger has nothing to recover from: not scored.
    const bool outlived = rebound.wall_seconds * 1000 > rebound.trigger_end_ms;
    const std::optional<double> recovered = recovery_ms(rebound);
    rows.push_back({.metric = "recovery after the trigger",
                    .naive = text(naive),
                    .rebound = text(rebound) + (outlived && recovered ? " (recovered)" : ""),
                    .target = "recovers within the run",
                    .pass = !outlived || recovered.has_value(),
                    .scored = outlived});
  }
  rows.push_back({.metric = "wall time",
                  .naive = fmt::format("{:.2f} s", naive.wall_seconds),
                  .rebound = fmt::format("{:.2f} s", rebound.wall_seconds),
                  .target = "(info)",
                  .pass = true,
                  .scored = false});
  return rows;
}

bool all_pass(const std::vector<SuccessRow>& rows) {
  return std::all_of(rows.begin(), rows.end(),
                     [](const SuccessRow& r) { return !r.scored || r.pass; });
}

void print_table(std::ostream& out, const std::vector<SuccessRow>& rows) {
  const std::vector<std::string> header = {"metric", "naive", "rebound", "target", "rebound"};
  std::vector<std::vector<std::string>> cells = {header};
  for (const SuccessRow& r : rows) {
    cells.push_back(
        {r.metric, r.naive, r.rebound, r.target, r.scored ? (r.pass ? "PASS" : "FAIL") : "-"});
  }
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& row : cells) {
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], display_width(row[i]));
  }
  auto line = [&](const std::vector<std::string>& row) {
    std::string text = "|";
    for (std::size_t i = 0; i < row.size(); ++i) {
      text += ' ' + row[i] + std::string(width[i] - display_width(row[i]), ' ') + " |";
    }
    out << text << '\n';
  };
  line(cells[0]);
  std::string rule = "|";
  for (std::size_t w : width) rule += std::string(w + 2, '-') + '|';
  out << rule << '\n';
  for (std::size_t i = 1; i < cells.size(); ++i) line(cells[i]);
}

nlohmann::json to_json(const RunStats& r) {
  const std::optional<double> recovered = recovery_ms(r);
  return {
      {"mode", r.mode},
      {"trigger_ms", r.trigger_end_ms < 0 ? nlohmann::json(nullptr)
                                          : nlohmann::json({r.trigger_start_ms, r.trigger_end_ms})},
      {"recovered_ms", recovered ? nlohmann::json(*recovered) : nlohmann::json(nullptr)},
      {"client_acquire_ns",
       {{"p50", metrics::percentile(r.client_acquire_ns, 0.50)},
        {"mean", metrics::mean(r.client_acquire_ns)},
        {"max", metrics::percentile(r.client_acquire_ns, 1.0)}}},
      {"http_latency_ms",
       {{"p50", metrics::percentile(r.http_latency_ms, 0.50)},
        {"p99", metrics::percentile(r.http_latency_ms, 0.99)},
        {"count", r.http_latency_ms.size()}}},
      {"http_requests", r.http_requests},
      {"http_new_connections", r.http_new_connections},
      {"http_reused_connections", r.http_reused_connections},
      {"connection_reuse_rate", reuse_rate(r)},
      {"operations", r.operations},
      {"operations_retried", r.operations_retried},
      {"operations_recovered", r.operations_recovered},
      {"operations_failed", r.operations_failed},
      {"retry_success_rate", retry_success(r)},
      {"retries", r.retries},
      {"conflicts", r.conflicts},
      {"too_many_connections", r.too_many_connections},
      {"rows_expected", r.rows_expected},
      {"rows_in_table", r.rows_in_table},
      {"rows_lost", r.rows_lost},
      {"rows_wrong", r.rows_wrong},
      {"retry_spread_cv", metrics::coefficient_of_variation(r.retry_delays_ms)},
      {"wall_seconds", r.wall_seconds},
      {"sample_errors", r.sample_errors},
  };
}

nlohmann::json to_json(const std::vector<SuccessRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const SuccessRow& r : rows) {
    out.push_back({{"metric", r.metric},
                   {"naive", r.naive},
                   {"rebound", r.rebound},
                   {"target", r.target},
                   {"scored", r.scored},
                   {"pass", r.pass}});
  }
  return out;
}

std::string timeline_svg(const RunStats& naive, const RunStats& rebound, int processors) {
  constexpr double kWidth = 900, kLane = 6, kLeft = 70, kTop = 30, kGap = 40;
  const double lanes_height = kLane * std::max(processors, 1);
  const double height = kTop * 2 + lanes_height * 2 + kGap + 20;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n",
      kWidth + kLeft + 20, height);
  // One time axis for both panels, so the two runs compare at a glance.
  double end_ms = 1;
  for (const RunStats* run : {&naive, &rebound}) {
    for (const AttemptMark& m : run->timeline) end_ms = std::max(end_ms, m.at_ms);
  }
  auto panel = [&](const RunStats& run, double top) {
    svg += fmt::format("<text x=\"4\" y=\"{:.0f}\" font-weight=\"bold\">{}</text>\n", top - 8,
                       run.mode);
    svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"end\">{:.0f} ms</text>\n",
                       kLeft + kWidth, top - 8, end_ms);
    svg += fmt::format(
        "<rect x=\"{:.0f}\" y=\"{:.0f}\" width=\"{:.0f}\" height=\"{:.0f}\" fill=\"none\" "
        "stroke=\"#999\"/>\n",
        kLeft, top, kWidth, lanes_height);
    for (const AttemptMark& m : run.timeline) {
      const double x = kLeft + m.at_ms / end_ms * kWidth;
      const double y = top + kLane * m.processor + kLane / 2;
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\"/>\n", x, y,
                         m.ok ? "1.5" : "2.2",
                         m.ok ? "#2a9d4b" : (m.kind == "http" ? "#e08a00" : "#d62828"));
    }
  };
  panel(naive, kTop);
  panel(rebound, kTop + lanes_height + kGap);
  svg += fmt::format(
      "<text x=\"{:.0f}\" y=\"{:.0f}\">one lane per processor · green: attempt succeeded · red: "
      "write "
      "conflict/failure · orange: HTTP failure</text>\n</svg>\n",
      kLeft, height - 8);
  return svg;
}

}  // namespace rebound::fleet
