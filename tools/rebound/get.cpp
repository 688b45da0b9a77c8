// rebound get — fetch URLs with one pooled client and report timings and reuse:
//   rebound get URL... [-n N] [--concurrency C] [--json] [--header 'K: V']...
//               [--timeout SECONDS] [--cacert FILE] [--insecure]
// Each URL is fetched N times by C threads sharing one http::Client. Prints
// per-URL status counts and mean connect/TLS/first-byte/total times, then
// latency percentiles, requests/s and the connection reuse rate. URLs and
// headers are redacted before they are printed. Exit code 0 when every
// request got a 2xx/3xx, 1 otherwise, 2 for a bad command line.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "rebound/core/redact.hpp"
#include "rebound/http/client.hpp"
#include "rebound/metrics/summary.hpp"

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

// Parses the --header lines; an empty optional (after saying why) for a bad one.
std::optional<Headers> parse_headers(const GetArgs& args) {
  Headers headers;
  for (const std::string& line : args.headers) {
    auto header = parse_header_line(line);
    if (!header) {
      std::cerr << "rebound get: --header must look like 'Name: value', got '"
                << redact_header("x", line) << "'\n";
      return std::nullopt;
    }
    headers.push_back(std::move(*header));
  }
  return headers;
}

Result<std::shared_ptr<http::Client>> make_client(const GetArgs& args) {
  const auto timeout =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(args.timeout_seconds));
  return http::Client::make(
      {.connect_timeout = std::min<Duration>(timeout, std::chrono::seconds{10}),
       .total_timeout = timeout,
       .max_connections = static_cast<std::size_t>(args.concurrency),
       .max_per_host = static_cast<std::size_t>(args.concurrency),
       .tls = {.ca_file = args.cacert, .insecure_skip_verify = args.insecure}});
}

struct GetRun {
  std::vector<UrlTally> per_url;
  std::vector<double> latencies_ms;  // every request, sorted
  std::uint64_t requests = 0;
  std::uint64_t ok = 0;
  double elapsed_s = 0;
};

void record(UrlTally& tally, const Result<http::Response>& r) {
  ++tally.requests;
  if (!r) {
    ++tally.errors[r.error().describe()];
    return;
  }
  ++tally.statuses[r->status];
  if (r->status >= 200 && r->status < 400) ++tally.ok;
  tally.connect_ms += ms(r->timing.connect);
  tally.tls_ms += ms(r->timing.tls);
  tally.first_byte_ms += ms(r->timing.first_byte);
  tally.total_ms += ms(r->timing.total);
  ++tally.timed;
}

// Each URL args.count times, by args.concurrency threads sharing `client`;
// each thread tallies on its own and the tallies merge after the join.
GetRun fetch_all(const GetArgs& args, http::Client& client, const Headers& headers) {
  const auto threads_n = static_cast<std::size_t>(args.concurrency);
  const auto per_url = static_cast<std::size_t>(args.count);
  const std::size_t jobs = args.urls.size() * per_url;
  std::atomic<std::size_t> next{0};
  std::vector<std::vector<UrlTally>> tallies(threads_n, std::vector<UrlTally>(args.urls.size()));
  std::vector<std::vector<double>> latencies(threads_n);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t j; (j = next.fetch_add(1, std::memory_order_relaxed)) < jobs;) {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = client.send({.method = "GET", .url = args.urls[j / per_url], .headers = headers});
        latencies[t].push_back(ms(std::chrono::steady_clock::now() - t0));
        record(tallies[t][j / per_url], r);
      }
    });
  }
  for (auto& th : threads) th.join();
  GetRun run{.per_url = std::vector<UrlTally>(args.urls.size()), .requests = jobs};
  run.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (std::size_t t = 0; t < threads_n; ++t) {
    for (std::size_t u = 0; u < run.per_url.size(); ++u) run.per_url[u].merge(tallies[t][u]);
    run.latencies_ms.insert(run.latencies_ms.end(), latencies[t].begin(), latencies[t].end());
  }
  std::sort(run.latencies_ms.begin(), run.latencies_ms.end());
  for (const UrlTally& p : run.per_url) run.ok += p.ok;
  return run;
}

std::uint64_t retries_of(const http::ClientStats& stats) {
  std::uint64_t retries = 0;
  for (std::uint64_t r : stats.retries_by_class) retries += r;
  return retries;
}

double rate(const GetRun& run) {
  return run.elapsed_s > 0 ? static_cast<double>(run.requests) / run.elapsed_s : 0.0;
}

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

void print_json(const GetArgs& args, const Headers& headers, const GetRun& run,
                const http::ClientStats& stats) {
  nlohmann::json doc;
  doc["urls"] = nlohmann::json::array();
  for (std::size_t u = 0; u < run.per_url.size(); ++u)
    doc["urls"].push_back(url_json(args.urls[u], run.per_url[u]));
  doc["headers"] = nlohmann::json::array();
  for (const auto& [name, value] : headers)
    doc["headers"].push_back({{"name", name}, {"value", redact_header(name, value)}});
  const std::vector<double>& all = run.latencies_ms;
  doc["summary"] = {{"requests", run.requests},
                    {"ok", run.ok},
                    {"failed", run.requests - run.ok},
                    {"concurrency", args.concurrency},
                    {"elapsed_s", run.elapsed_s},
                    {"requests_per_second", rate(run)},
                    {"latency_ms",
                     {{"p50", metrics::percentile(all, 0.50)},
                      {"p90", metrics::percentile(all, 0.90)},
                      {"p99", metrics::percentile(all, 0.99)},
                      {"max", all.empty() ? 0.0 : all.back()}}},
                    {"new_connections", stats.new_connections},
                    {"reused_connections", stats.reused_connections},
                    {"reuse_rate", stats.reuse_rate()},
                    {"attempts", stats.attempts},
                    {"retries", retries_of(stats)}};
  std::cout << doc.dump(2) << "\n";
}

void print_url(const std::string& url, const UrlTally& p) {
  std::cout << redact_url(url) << "\n  " << p.requests << " requests:";
  for (const auto& [status, n] : p.statuses) std::cout << "  " << status << " x" << n;
  std::uint64_t errs = 0;
  for (const auto& [text, n] : p.errors) errs += n;
  if (errs > 0) std::cout << "  error x" << errs;
  std::cout << "\n";
  if (p.timed > 0) {
    std::cout << fmt::format(
        "  mean ms: connect {:.3f}  tls {:.3f}  first byte {:.3f}  total {:.3f}\n",
        p.mean(p.connect_ms), p.mean(p.tls_ms), p.mean(p.first_byte_ms), p.mean(p.total_ms));
  }
  for (const auto& [text, n] : p.errors) std::cout << "  error x" << n << ": " << text << "\n";
}

void print_text(const GetArgs& args, const GetRun& run, const http::ClientStats& stats) {
  for (std::size_t u = 0; u < run.per_url.size(); ++u) print_url(args.urls[u], run.per_url[u]);
  const std::vector<double>& all = run.latencies_ms;
  std::cout << fmt::format(
      "summary: {} requests, {} ok, {} failed in {:.3f} s ({:.1f} req/s, concurrency {})\n"
      "latency ms: p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  max {:.3f}\n"
      "connections: {} new, {} reused (reuse {:.1f}%), {} retries\n",
      run.requests, run.ok, run.requests - run.ok, run.elapsed_s, rate(run), args.concurrency,
      metrics::percentile(all, 0.50), metrics::percentile(all, 0.90),
      metrics::percentile(all, 0.99), all.empty() ? 0.0 : all.back(), stats.new_connections,
      stats.reused_connections, 100.0 * stats.reuse_rate(), retries_of(stats));
}

int run_get(const GetArgs& args) {
  const std::optional<Headers> headers = parse_headers(args);
  if (!headers) return kUsage;
  auto client = make_client(args);
  if (!client) {
    std::cerr << "rebound get: " << client.error().message << "\n";
    return kUsage;
  }
  const GetRun run = fetch_all(args, **client, *headers);
  const http::ClientStats stats = (*client)->stats();
  if (args.json) {
    print_json(args, *headers, run, stats);
  } else {
    print_text(args, run, stats);
  }
  return run.ok == run.requests ? kOk : kFailure;
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
