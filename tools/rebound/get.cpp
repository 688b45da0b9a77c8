// rebound get — fetch URLs with one pooled client and report timings and reuse:
//   rebound get URL... [-n N] [--concurrency C] [--json] [--header 'K: V']...
//               [--timeout SECONDS] [--cacert FILE] [--insecure]
//               [--event-threads T] [--hedge-ms MS] [--blocking]
// The run is rebound::http::run_gets (include/rebound/http/get_run.hpp) and
// its report print_get_report / get_report_json (get_report.hpp); this file
// parses the flags, calls them and prints. Exit code 0 when every request
// got a 2xx/3xx, 1 otherwise, 2 for a bad command line.
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_output.hpp"
#include "commands.hpp"
#include "rebound/core/headers.hpp"
#include "rebound/http/get_report.hpp"
#include "rebound/http/get_run.hpp"

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

// The command line first, before any request: a bad header, URL or
// combination is a usage error (exit 2) naming the option, and never echoes
// a secret. An empty optional (after saying why) for a bad one.
std::optional<http::GetRunOptions> check_args(const GetArgs& args) {
  http::GetRunOptions options{
      .urls = args.urls,
      .count = static_cast<std::size_t>(args.count),
      .concurrency = static_cast<std::size_t>(args.concurrency),
      .engine = args.blocking ? http::GetEngine::blocking : http::GetEngine::async,
      .event_threads = static_cast<std::size_t>(args.event_threads),
      .hedge_after = args.hedge_ms > 0
                         ? std::chrono::duration_cast<Duration>(
                               std::chrono::duration<double, std::milli>(args.hedge_ms))
                         : Duration::zero(),
      .timeout =
          std::chrono::duration_cast<Duration>(std::chrono::duration<double>(args.timeout_seconds)),
      .tls = {.ca_file = args.cacert, .insecure_skip_verify = args.insecure}};
  for (const std::string& line : args.headers) {
    auto header = parse_header_option(line);
    if (!header) {
      std::cerr << "rebound get: --header: " << header.error().message << "\n";
      return std::nullopt;
    }
    options.headers.push_back(std::move(*header));
  }
  if (args.blocking && options.concurrency > http::kMaxBlockingGetConcurrency) {
    std::cerr << "rebound get: --blocking runs one thread per request in flight; --concurrency "
              << args.concurrency << " is over its limit of " << http::kMaxBlockingGetConcurrency
              << "\n";
    return std::nullopt;
  }
  if (args.blocking && args.hedge_ms > 0) {
    std::cerr << "rebound get: --hedge-ms needs the async engine; drop --blocking\n";
    return std::nullopt;
  }
  auto checked = http::make_get_run_options(std::move(options));
  if (!checked) {
    std::cerr << "rebound get: " << checked.error().message << "\n";
    return std::nullopt;
  }
  if (auto raised = http::raise_open_file_limit(*checked); !raised) {
    std::cerr << "rebound get: --concurrency: " << raised.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*checked);
}

int run_get(const GetArgs& args) {
  const std::optional<http::GetRunOptions> options = check_args(args);
  if (!options) return kUsage;
  auto report = http::run_gets(*options);
  if (!report) {
    std::cerr << "rebound get: " << report.error().message << "\n";
    return kUsage;
  }
  if (args.json) {
    std::cout << json_text(http::get_report_json(*options, *report), 2) << "\n";
  } else {
    http::print_get_report(std::cout, *options, *report);
  }
  return report->ok == report->requests ? kOk : kFailure;
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
      ->check(CLI::Range(1, static_cast<int>(http::kMaxGetConcurrency)));
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
