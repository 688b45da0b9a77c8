// rebound get — fetch URLs with one pooled client and report timings and reuse:
//   rebound get URL... [-n N] [--concurrency C] [--json] [--header 'K: V']...
//               [--timeout SECONDS] [--cacert FILE] [--insecure]
//               [--event-threads T] [--hedge-ms MS] [--blocking]
// Each URL is fetched N times with C requests in flight on one
// http::AsyncClient driven by T event threads (default 1), or, with
// --blocking, by C threads sharing one blocking http::Client. Prints
// per-URL status counts and mean connect/TLS/first-byte/total times, then
// latency percentiles, requests/s and the connection reuse rate. URLs and
// headers are redacted before they are printed. Exit code 0 when every
// request got a 2xx/3xx, 1 otherwise, 2 for a bad command line.
#include <fmt/format.h>
#include <sys/resource.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli_output.hpp"
#include "commands.hpp"
#include "rebound/core/redact.hpp"
#include "rebound/http/async_client.hpp"
#include "rebound/http/client.hpp"
#include "rebound/http/header_line.hpp"
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
  int event_threads = 1;
  double hedge_ms = 0;  // 0: no hedging
  bool blocking = false;
};

// Open connections need descriptors: C connections plus curl's and ours.
constexpr int kDescriptorsPerRun = 64;
// Past a few thousand connections to one server the run measures the kernel
// and the server, not the client; one thread per request stops at 1024.
constexpr int kMaxConcurrency = 10000;
constexpr int kMaxBlockingConcurrency = 1024;
// Memory bound for the bodies in flight: every response is buffered whole,
// so the per-response cap is the total divided by the requests in flight
// (never more than the client's 64 MiB default). 16 threads x 64 MiB reached
// 1.4 GB before.
constexpr std::size_t kTotalResponseBytes = std::size_t{512} << 20;

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

std::size_t per_response_cap(int concurrency) {
  return std::min<std::size_t>(std::size_t{64} << 20,
                               kTotalResponseBytes / static_cast<std::size_t>(concurrency));
}

bool is_http_url(std::string_view url) {
  auto starts = [&](std::string_view scheme) {
    if (url.size() < scheme.size()) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(url[i])) != scheme[i]) return false;
    }
    return true;
  };
  return starts("http://") || starts("https://");
}

// Raises the soft descriptor limit to fit `needed` (up to the hard limit).
bool ensure_descriptors(int needed) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return true;
  if (limit.rlim_cur >= static_cast<rlim_t>(needed)) return true;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < static_cast<rlim_t>(needed)) {
    std::cerr << "rebound get: --concurrency " << needed - kDescriptorsPerRun << " needs " << needed
              << " open files but the hard limit (ulimit -Hn) is " << limit.rlim_max
              << "; lower --concurrency or raise the limit\n";
    return false;
  }
  limit.rlim_cur = static_cast<rlim_t>(needed);
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

// The command line first, before any request: a bad header, URL or
// combination is a usage error (exit 2) naming the option, and never echoes
// a secret. An empty optional (after saying why) for a bad one.
std::optional<Headers> check_args(const GetArgs& args) {
  Headers headers;
  for (const std::string& line : args.headers) {
    auto header = http::parse_header_option(line);
    if (!header) {
      std::cerr << "rebound get: --header: " << header.error().message << "\n";
      return std::nullopt;
    }
    headers.push_back(std::move(*header));
  }
  for (const std::string& url : args.urls) {
    if (!is_http_url(url)) {
      std::cerr << "rebound get: " << redact_url(url) << " is not an http:// or https:// URL\n";
      return std::nullopt;
    }
  }
  if (args.blocking && args.concurrency > kMaxBlockingConcurrency) {
    std::cerr << "rebound get: --blocking runs one thread per request in flight; --concurrency "
              << args.concurrency << " is over its limit of " << kMaxBlockingConcurrency << "\n";
    return std::nullopt;
  }
  if (args.blocking && args.hedge_ms > 0) {
    std::cerr << "rebound get: --hedge-ms needs the async engine; drop --blocking\n";
    return std::nullopt;
  }
  if (!ensure_descriptors(args.concurrency + kDescriptorsPerRun)) return std::nullopt;
  return headers;
}

http::ClientOptions client_options(const GetArgs& args) {
  const auto timeout =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(args.timeout_seconds));
  return {.connect_timeout = std::min<Duration>(timeout, std::chrono::seconds{10}),
          .total_timeout = timeout,
          .max_connections = static_cast<std::size_t>(args.concurrency),
          .max_per_host = static_cast<std::size_t>(args.concurrency),
          .max_response_bytes = per_response_cap(args.concurrency),
          .tls = {.ca_file = args.cacert, .insecure_skip_verify = args.insecure}};
}

struct GetRun {
  std::vector<UrlTally> per_url;
  std::vector<double> latencies_ms;  // every request, sorted
  std::uint64_t requests = 0;
  std::uint64_t ok = 0;
  double elapsed_s = 0;
  http::ClientStats stats;
  http::HedgeStats hedges;
};

// What the workers measured: per worker, per URL; merged by finish().
struct Tallies {
  std::vector<std::vector<UrlTally>> per_worker;
  std::vector<std::vector<double>> latencies;  // per worker
};

Tallies tallies_for(const GetArgs& args, std::size_t workers) {
  return {.per_worker =
              std::vector<std::vector<UrlTally>>(workers, std::vector<UrlTally>(args.urls.size())),
          .latencies = std::vector<std::vector<double>>(workers)};
}

// Counts one finished request into its URL's tally.
void record(UrlTally& tally, std::vector<double>& latencies, const Result<http::Response>& r,
            double latency_ms) {
  latencies.push_back(latency_ms);
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

// C threads, each sending one request at a time on the shared blocking client.
Tallies run_blocking(const GetArgs& args, const Headers& headers, http::Client& client) {
  const auto per_url = static_cast<std::size_t>(args.count);
  const std::size_t jobs = args.urls.size() * per_url;
  const auto workers = static_cast<std::size_t>(args.concurrency);
  Tallies out = tallies_for(args, workers);
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < workers; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t j; (j = next.fetch_add(1, std::memory_order_relaxed)) < jobs;) {
        const std::size_t u = j / per_url;
        const auto t0 = std::chrono::steady_clock::now();
        auto r = client.send({.method = "GET", .url = args.urls[u], .headers = headers});
        record(out.per_worker[t][u], out.latencies[t], r,
               ms(std::chrono::steady_clock::now() - t0));
      }
    });
  }
  for (auto& th : threads) th.join();
  return out;
}

// C requests in flight on the async client: each completion, on an event
// thread, records its result and sends the next job.
Tallies run_async(const GetArgs& args, const Headers& headers, http::AsyncClient& client) {
  const auto per_url = static_cast<std::size_t>(args.count);
  const std::size_t jobs = args.urls.size() * per_url;
  Tallies out = tallies_for(args, 1);
  out.latencies[0].reserve(jobs);
  std::mutex mu;
  std::condition_variable all_done;
  std::size_t finished = 0;  // guarded by mu
  std::atomic<std::size_t> next{0};
  std::function<void()> send_next = [&] {
    const std::size_t j = next.fetch_add(1, std::memory_order_relaxed);
    if (j >= jobs) return;
    const std::size_t u = j / per_url;
    const auto t0 = std::chrono::steady_clock::now();
    client.send_async({.method = "GET", .url = args.urls[u], .headers = headers},
                      [&, u, t0](Result<http::Response> r) {
                        const double latency = ms(std::chrono::steady_clock::now() - t0);
                        // Send the next job before this one counts as
                        // finished: once the last one counts, the waiting
                        // thread may return and end everything captured here.
                        send_next();
                        std::lock_guard lock(mu);
                        record(out.per_worker[0][u], out.latencies[0], r, latency);
                        if (++finished == jobs) all_done.notify_one();
                      });
  };
  const std::size_t initial = std::min(jobs, static_cast<std::size_t>(args.concurrency));
  for (std::size_t i = 0; i < initial; ++i) send_next();
  std::unique_lock lock(mu);
  all_done.wait(lock, [&] { return finished == jobs; });
  return out;
}

// Merges the workers' tallies into one run.
GetRun finish(const GetArgs& args, const Tallies& t, double elapsed_s) {
  GetRun run{.per_url = std::vector<UrlTally>(args.urls.size()),
             .requests = args.urls.size() * static_cast<std::size_t>(args.count),
             .elapsed_s = elapsed_s};
  for (std::size_t w = 0; w < t.per_worker.size(); ++w) {
    for (std::size_t u = 0; u < run.per_url.size(); ++u) run.per_url[u].merge(t.per_worker[w][u]);
    run.latencies_ms.insert(run.latencies_ms.end(), t.latencies[w].begin(), t.latencies[w].end());
  }
  std::sort(run.latencies_ms.begin(), run.latencies_ms.end());
  for (const UrlTally& p : run.per_url) run.ok += p.ok;
  return run;
}

// Runs every request on the engine args ask for; an error when the client
// cannot be made (its options were refused).
Result<GetRun> fetch_all(const GetArgs& args, const Headers& headers) {
  const http::ClientOptions options = client_options(args);
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (args.blocking) {
    auto made = http::Client::make(options);
    if (!made) return fail(std::move(made.error()));
    const Tallies t = run_blocking(args, headers, **made);
    GetRun run = finish(args, t, seconds());
    run.stats = (*made)->stats();
    return run;
  }
  const auto hedge = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, std::milli>(args.hedge_ms));
  auto made = http::AsyncClient::make(
      options, {.event_threads = static_cast<std::size_t>(args.event_threads),
                .hedge = {.enabled = args.hedge_ms > 0, .delay = hedge}});
  if (!made) return fail(std::move(made.error()));
  const Tallies t = run_async(args, headers, **made);
  GetRun run = finish(args, t, seconds());
  run.stats = (*made)->stats();
  run.hedges = (*made)->hedge_stats();
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

void print_json(const GetArgs& args, const Headers& headers, const GetRun& run) {
  nlohmann::json doc;
  doc["urls"] = nlohmann::json::array();
  for (std::size_t u = 0; u < run.per_url.size(); ++u)
    doc["urls"].push_back(url_json(args.urls[u], run.per_url[u]));
  doc["headers"] = nlohmann::json::array();
  for (const auto& [name, value] : headers)
    doc["headers"].push_back({{"name", name}, {"value", redact_header(name, value)}});
  const std::vector<double>& all = run.latencies_ms;
  const http::ClientStats& stats = run.stats;
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
                    {"retries", retries_of(stats)},
                    {"engine", args.blocking ? "blocking" : "async"},
                    {"event_threads", args.blocking ? 0 : args.event_threads},
                    {"hedges",
                     {{"sent", run.hedges.sent},
                      {"won", run.hedges.won},
                      {"denied", run.hedges.denied},
                      {"cancelled", run.hedges.cancelled}}}};
  std::cout << json_text(doc, 2) << "\n";
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

void print_text(const GetArgs& args, const GetRun& run) {
  for (std::size_t u = 0; u < run.per_url.size(); ++u) print_url(args.urls[u], run.per_url[u]);
  const std::vector<double>& all = run.latencies_ms;
  const http::ClientStats& stats = run.stats;
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
  const std::optional<Headers> headers = check_args(args);
  if (!headers) return kUsage;
  auto run = fetch_all(args, *headers);
  if (!run) {
    std::cerr << "rebound get: " << run.error().message << "\n";
    return kUsage;
  }
  if (args.json) {
    print_json(args, *headers, *run);
  } else {
    print_text(args, *run);
  }
  return run->ok == run->requests ? kOk : kFailure;
}

}  // namespace

void add_get_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<GetArgs>();
  CLI::App* cmd = app.add_subcommand(
      "get", "Fetch URLs with one pooled client (keep-alive, retries); report timings and reuse");
  cmd->add_option("url", args->urls, "http:// or https:// URLs")->required();
  cmd->add_option("-n,--count", args->count, "requests per URL")->check(CLI::PositiveNumber);
  cmd->add_option("-c,--concurrency", args->concurrency,
                  "requests in flight (async) or threads sharing the client (--blocking); "
                  "responses in flight share a 512 MiB cap, so each may be up to "
                  "min(64 MiB, 512 MiB / concurrency)")
      ->check(CLI::Range(1, kMaxConcurrency));
  cmd->add_option("--event-threads", args->event_threads,
                  "event threads driving the async client (1 or 2 is plenty)")
      ->check(CLI::Range(1, 8));
  cmd->add_option("--hedge-ms", args->hedge_ms,
                  "send a second GET when the first has not answered after MS ms (async only)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--blocking", args->blocking,
                "one thread per request in flight on the blocking client (for comparisons)");
  cmd->add_flag("--json", args->json, "print one JSON document on stdout");
  cmd->add_option("-H,--header", args->headers, "extra request header 'Name: value' (repeatable)");
  cmd->add_option("--timeout", args->timeout_seconds, "total timeout per attempt, in seconds")
      ->check(finite_range(0.001, 86400));
  cmd->add_option("--cacert", args->cacert, "trust the CA certificates in this PEM file")
      ->check(CLI::ExistingFile);
  cmd->add_flag("-k,--insecure", args->insecure, "skip TLS certificate verification (unsafe)");
  cmd->callback([args, &exit_code] { exit_code = run_get(*args); });
}

}  // namespace rebound::cli
