// rebound get — fetch URLs with one pooled client and report timings and reuse:
//   rebound get URL... [-n N] [--concurrency C] [--json] [--header 'K: V']...
//               [--timeout SECONDS] [--cacert FILE] [--insecure]
// Each URL is fetched N times by C threads sharing one http::Client. Prints
// per-URL status counts and mean connect/TLS/first-byte/total times, then
// latency percentiles, requests/s and the connection reuse rate. URLs and
// headers are redacted before they are printed. Exit code 0 when every
// request got a 2xx/3xx, 1 otherwise, 2 for a bad command line.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "rebound/core/redact.hpp"
#include "rebound/http/client.hpp"

namespace rebound::cli {
namespace {

struct GetArgs {
  std::vector<std::string> urls;
  int count = 1;
  int concurrency = 1;
  bool json = false;
  std::vector<std::string> headers;
  double timeout_seconds = 30.0;
  std::string cacert;
  bool insecure = false;
};

struct UrlTally {
  std::uint64_t requests = 0;
  std::uint64_t ok = 0;
  std::map<int, std::uint64_t> statuses;        // HTTP status -> count
  std::map<std::string, std::uint64_t> errors;  // error text (already redacted) -> count
  double connect_ms = 0, tls_ms = 0, first_byte_ms = 0, total_ms = 0;  // sums over responses
  std::uint64_t timed = 0;                                             // responses in the sums

  void merge(const UrlTally& o) {
    requests += o.requests;
    ok += o.ok;
    for (const auto& [k, v] : o.statuses) statuses[k] += v;
    for (const auto& [k, v] : o.errors) errors[k] += v;
    connect_ms += o.connect_ms;
    tls_ms += o.tls_ms;
    first_byte_ms += o.first_byte_ms;
    total_ms += o.total_ms;
    timed += o.timed;
  }
  [[nodiscard]] double mean(double sum) const {
    return timed == 0 ? 0.0 : sum / static_cast<double>(timed);
  }
};

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

std::string fixed(double v, int digits = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// "Name: value" -> pair; nullopt-like empty name for a malformed line.
std::pair<std::string, std::string> split_header(const std::string& line) {
  const auto colon = line.find(':');
  if (colon == std::string::npos || colon == 0) return {};
  std::string name = line.substr(0, colon);
  std::string value = line.substr(colon + 1);
  const auto first = value.find_first_not_of(" \t");
  value = first == std::string::npos ? "" : value.substr(first);
  return {name, value};
}

int run_get(const GetArgs& args) {
  http::Headers headers;
  for (const std::string& line : args.headers) {
    auto header = split_header(line);
    if (header.first.empty()) {
      std::cerr << "rebound get: --header must look like 'Name: value', got '"
                << redact_header("x", line) << "'\n";
      return kUsage;
    }
    headers.push_back(std::move(header));
  }
  const auto timeout =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(args.timeout_seconds));
  auto made =
      http::Client::make({.connect_timeout = std::min<Duration>(timeout, std::chrono::seconds{10}),
                          .total_timeout = timeout,
                          .max_connections = static_cast<std::size_t>(args.concurrency),
                          .max_per_host = static_cast<std::size_t>(args.concurrency),
                          .tls = {.ca_file = args.cacert, .insecure_skip_verify = args.insecure}});
  if (!made) {
    std::cerr << "rebound get: " << made.error().message << "\n";
    return kUsage;
  }
  http::Client& client = **made;

  const std::size_t per_url = static_cast<std::size_t>(args.count);
  const std::size_t jobs = args.urls.size() * per_url;
  std::atomic<std::size_t> next{0};
  std::vector<std::vector<UrlTally>> tallies(static_cast<std::size_t>(args.concurrency),
                                             std::vector<UrlTally>(args.urls.size()));
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(args.concurrency));

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < static_cast<std::size_t>(args.concurrency); ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t j; (j = next.fetch_add(1, std::memory_order_relaxed)) < jobs;) {
        const std::size_t u = j / per_url;
        UrlTally& tally = tallies[t][u];
        const auto t0 = std::chrono::steady_clock::now();
        auto r = client.send({.method = "GET", .url = args.urls[u], .headers = headers});
        latencies[t].push_back(ms(std::chrono::steady_clock::now() - t0));
        ++tally.requests;
        if (!r) {
          ++tally.errors[r.error().describe()];
          continue;
        }
        ++tally.statuses[r->status];
        if (r->status >= 200 && r->status < 400) ++tally.ok;
        tally.connect_ms += ms(r->timing.connect);
        tally.tls_ms += ms(r->timing.tls);
        tally.first_byte_ms += ms(r->timing.first_byte);
        tally.total_ms += ms(r->timing.total);
        ++tally.timed;
      }
    });
  }
  for (auto& th : threads) th.join();
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<UrlTally> per(args.urls.size());
  std::vector<double> all;
  for (std::size_t t = 0; t < tallies.size(); ++t) {
    for (std::size_t u = 0; u < per.size(); ++u) per[u].merge(tallies[t][u]);
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
  }
  std::sort(all.begin(), all.end());
  std::uint64_t ok = 0;
  for (const UrlTally& p : per) ok += p.ok;
  const std::uint64_t failed = jobs - ok;
  const http::ClientStats stats = client.stats();
  std::uint64_t retries = 0;
  for (std::uint64_t r : stats.retries_by_class) retries += r;
  const double rps = elapsed_s > 0 ? static_cast<double>(jobs) / elapsed_s : 0.0;

  if (args.json) {
    nlohmann::json doc;
    doc["urls"] = nlohmann::json::array();
    for (std::size_t u = 0; u < per.size(); ++u) {
      const UrlTally& p = per[u];
      nlohmann::json statuses = nlohmann::json::object();
      for (const auto& [status, n] : p.statuses) statuses[std::to_string(status)] = n;
      nlohmann::json errors = nlohmann::json::object();
      for (const auto& [text, n] : p.errors) errors[text] = n;
      doc["urls"].push_back({{"url", redact_url(args.urls[u])},
                             {"requests", p.requests},
                             {"ok", p.ok},
                             {"failed", p.requests - p.ok},
                             {"status_counts", statuses},
                             {"errors", errors},
                             {"mean_ms",
                              {{"connect", p.mean(p.connect_ms)},
                               {"tls", p.mean(p.tls_ms)},
                               {"first_byte", p.mean(p.first_byte_ms)},
                               {"total", p.mean(p.total_ms)}}}});
    }
    nlohmann::json shown_headers = nlohmann::json::array();
    for (const auto& [name, value] : headers) {
      shown_headers.push_back({{"name", name}, {"value", redact_header(name, value)}});
    }
    doc["headers"] = shown_headers;
    doc["summary"] = {{"requests", jobs},
                      {"ok", ok},
                      {"failed", failed},
                      {"concurrency", args.concurrency},
                      {"elapsed_s", elapsed_s},
                      {"requests_per_second", rps},
                      {"latency_ms",
                       {{"p50", percentile(all, 0.50)},
                        {"p90", percentile(all, 0.90)},
                        {"p99", percentile(all, 0.99)},
                        {"max", all.empty() ? 0.0 : all.back()}}},
                      {"new_connections", stats.new_connections},
                      {"reused_connections", stats.reused_connections},
                      {"reuse_rate", stats.reuse_rate()},
                      {"attempts", stats.attempts},
                      {"retries", retries}};
    std::cout << doc.dump(2) << "\n";
  } else {
    for (std::size_t u = 0; u < per.size(); ++u) {
      const UrlTally& p = per[u];
      std::cout << redact_url(args.urls[u]) << "\n  " << p.requests << " requests:";
      for (const auto& [status, n] : p.statuses) std::cout << "  " << status << " x" << n;
      if (!p.errors.empty()) {
        std::uint64_t errs = 0;
        for (const auto& [text, n] : p.errors) errs += n;
        std::cout << "  error x" << errs;
      }
      std::cout << "\n";
      if (p.timed > 0) {
        std::cout << "  mean ms: connect " << fixed(p.mean(p.connect_ms), 3) << "  tls "
                  << fixed(p.mean(p.tls_ms), 3) << "  first byte "
                  << fixed(p.mean(p.first_byte_ms), 3) << "  total " << fixed(p.mean(p.total_ms), 3)
                  << "\n";
      }
      for (const auto& [text, n] : p.errors) std::cout << "  error x" << n << ": " << text << "\n";
    }
    std::cout << "summary: " << jobs << " requests, " << ok << " ok, " << failed << " failed in "
              << fixed(elapsed_s, 3) << " s (" << fixed(rps, 1) << " req/s, concurrency "
              << args.concurrency << ")\n"
              << "latency ms: p50 " << fixed(percentile(all, 0.50), 3) << "  p90 "
              << fixed(percentile(all, 0.90), 3) << "  p99 " << fixed(percentile(all, 0.99), 3)
              << "  max " << fixed(all.empty() ? 0.0 : all.back(), 3) << "\n"
              << "connections: " << stats.new_connections << " new, " << stats.reused_connections
              << " reused (reuse " << fixed(100.0 * stats.reuse_rate(), 1) << "%), " << retries
              << " retries\n";
  }
  return failed == 0 ? kOk : kFailure;
}

}  // namespace

void add_get_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<GetArgs>();
  CLI::App* cmd = app.add_subcommand(
      "get", "Fetch URLs with one pooled client (keep-alive, retries); report timings and reuse");
  cmd->add_option("url", args->urls, "http:// or https:// URLs")->required();
  cmd->add_option("-n,--count", args->count, "requests per URL")->check(CLI::PositiveNumber);
  cmd->add_option("-c,--concurrency", args->concurrency, "threads sharing the client")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--json", args->json, "print one JSON document on stdout");
  cmd->add_option("-H,--header", args->headers, "extra request header 'Name: value' (repeatable)");
  cmd->add_option("--timeout", args->timeout_seconds, "total timeout per attempt, in seconds")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--cacert", args->cacert, "trust the CA certificates in this PEM file")
      ->check(CLI::ExistingFile);
  cmd->add_flag("-k,--insecure", args->insecure, "skip TLS certificate verification (unsafe)");
  cmd->callback([args, &exit_code] { exit_code = run_get(*args); });
}

}  // namespace rebound::cli
