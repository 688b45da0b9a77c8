// Text and JSON of a GET run; see get_report.hpp.
#include "rebound/http/get_report.hpp"

#include <fmt/format.h>

#include <ostream>

#include "rebound/core/redact.hpp"
#include "rebound/metrics/summary.hpp"

namespace rebound::http {
namespace {

nlohmann::json url_json(const std::string& url, const UrlTally& p) {
  nlohmann::json statuses = nlohmann::json::object();
  for (const auto& [status, n] : p.statuses) statuses[std::to_string(status)] = n;
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [text, n] : p.errors) errors[text] = n;
  return {{"url", redact_url(url)},
          {"requests", p.requests},
          {"ok", p.ok},
          {"failed", p.requests - p.ok},
          {"status_counts", statuses},
          {"errors", errors},
          {"mean_ms",
           {{"connect", p.mean(p.connect_ms)},
            {"tls", p.mean(p.tls_ms)},
            {"first_byte", p.mean(p.first_byte_ms)},
            {"total", p.mean(p.total_ms)}}}};
}

nlohmann::json summary_json(const GetRunOptions& options, const GetRunReport& run) {
  const std::vector<double>& all = run.latencies_ms;
  const ClientStats& stats = run.stats;
  const bool blocking = options.engine == GetEngine::blocking;
  return {{"requests", run.requests},
          {"ok", run.ok},
          {"failed", run.requests - run.ok},
          {"concurrency", options.concurrency},
          {"elapsed_s", run.elapsed_s},
          {"requests_per_second", run.requests_per_second()},
          {"latency_ms",
           {{"p50", metrics::percentile(all, 0.50)},
            {"p90", metrics::percentile(all, 0.90)},
            {"p99", metrics::percentile(all, 0.99)},
            {"max", all.empty() ? 0.0 : all.back()}}},
          {"new_connections", stats.new_connections},
          {"reused_connections", stats.reused_connections},
          {"reuse_rate", stats.reuse_rate()},
          {"attempts", stats.attempts},
          {"retries", run.retries()},
          {"engine", blocking ? "blocking" : "async"},
          {"event_threads", blocking ? std::size_t{0} : options.event_threads},
          {"hedges",
           {{"sent", run.hedges.sent},
            {"won", run.hedges.won},
            {"denied", run.hedges.denied},
            {"cancelled", run.hedges.cancelled}}}};
}

void print_url(std::ostream& out, const std::string& url, const UrlTally& p) {
  out << redact_url(url) << "\n  " << p.requests << " requests:";
  for (const auto& [status, n] : p.statuses) out << "  " << status << " x" << n;
  if (const std::uint64_t errs = p.error_count(); errs > 0) out << "  error x" << errs;
  out << "\n";
  if (p.timed > 0) {
    out << fmt::format("  mean ms: connect {:.3f}  tls {:.3f}  first byte {:.3f}  total {:.3f}\n",
                       p.mean(p.connect_ms), p.mean(p.tls_ms), p.mean(p.first_byte_ms),
                       p.mean(p.total_ms));
  }
  for (const auto& [text, n] : p.errors) out << "  error x" << n << ": " << text << "\n";
}

}  // namespace

void print_get_report(std::ostream& out, const GetRunOptions& options, const GetRunReport& run) {
  for (std::size_t u = 0; u < run.per_url.size(); ++u) {
    print_url(out, options.urls[u], run.per_url[u]);
  }
  const std::vector<double>& all = run.latencies_ms;
  const ClientStats& stats = run.stats;
  out << fmt::format(
      "summary: {} requests, {} ok, {} failed in {:.3f} s ({:.1f} req/s, concurrency {})\n"
      "latency ms: p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  max {:.3f}\n"
      "connections: {} new, {} reused (reuse {:.1f}%), {} retries\n",
      run.requests, run.ok, run.requests - run.ok, run.elapsed_s, run.requests_per_second(),
      options.concurrency, metrics::percentile(all, 0.50), metrics::percentile(all, 0.90),
      metrics::percentile(all, 0.99), all.empty() ? 0.0 : all.back(), stats.new_connections,
      stats.reused_connections, 100.0 * stats.reuse_rate(), run.retries());
}

nlohmann::json get_report_json(const GetRunOptions& options, const GetRunReport& run) {
  nlohmann::json doc;
  doc["urls"] = nlohmann::json::array();
  for (std::size_t u = 0; u < run.per_url.size(); ++u) {
    doc["urls"].push_back(url_json(options.urls[u], run.per_url[u]));
  }
  doc["headers"] = nlohmann::json::array();
  for (const auto& [name, value] : options.headers) {
    doc["headers"].push_back({{"name", name}, {"value", redact_header(name, value)}});
  }
  doc["summary"] = summary_json(options, run);
  return doc;
}

}  // namespace rebound::http
