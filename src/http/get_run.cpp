// GET runs on the async and the blocking engine; see get_run.hpp.
#include "rebound/http/get_run.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>

#include "rebound/core/redact.hpp"

namespace rebound::http {
namespace {

using SteadyClock = std::chrono::steady_clock;

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

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

Error invalid(std::string what) { return Error::permanent("GET run: " + std::move(what)); }

// What the workers measured: per worker, per URL; merged by finish().
struct Tallies {
  std::vector<std::vector<UrlTally>> per_worker;
  std::vector<std::vector<double>> latencies;  // per worker
};

Tallies tallies_for(const GetRunOptions& options, std::size_t workers) {
  return {.per_worker = std::vector<std::vector<UrlTally>>(
              workers, std::vector<UrlTally>(options.urls.size())),
          .latencies = std::vector<std::vector<double>>(workers)};
}

// Counts one finished GET into its URL's tally.
void record(UrlTally& tally, std::vector<double>& latencies, const Result<Response>& r,
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

Request get_of(const GetRunOptions& options, std::size_t url) {
  return {.method = "GET", .url = options.urls[url], .headers = options.headers};
}

// `concurrency` threads, each sending one GET at a time on the shared client.
Tallies run_blocking(const GetRunOptions& options, Client& client) {
  const std::size_t per_url = options.count;
  const std::size_t jobs = options.urls.size() * per_url;
  const std::size_t workers = options.concurrency;
  Tallies out = tallies_for(options, workers);
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < workers; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t j; (j = next.fetch_add(1, std::memory_order_relaxed)) < jobs;) {
        const std::size_t u = j / per_url;
        const auto t0 = SteadyClock::now();
        auto r = client.send(get_of(options, u));
        record(out.per_worker[t][u], out.latencies[t], r, ms(SteadyClock::now() - t0));
      }
    });
  }
  for (auto& th : threads) th.join();
  return out;
}

// `concurrency` GETs in flight on the async client: each completion, on an
// event thread, sends the next job and records its result.
Tallies run_async(const GetRunOptions& options, AsyncClient& client) {
  const std::size_t per_url = options.count;
  const std::size_t jobs = options.urls.size() * per_url;
  Tallies out = tallies_for(options, 1);
  out.latencies[0].reserve(jobs);
  std::mutex mu;
  std::condition_variable all_done;
  std::size_t finished = 0;  // guarded by mu
  std::atomic<std::size_t> next{0};
  std::function<void()> send_next = [&] {
    const std::size_t j = next.fetch_add(1, std::memory_order_relaxed);
    if (j >= jobs) return;
    const std::size_t u = j / per_url;
    const auto t0 = SteadyClock::now();
    client.send_async(get_of(options, u), [&, u, t0](Result<Response> r) {
      const double latency = ms(SteadyClock::now() - t0);
      // Send the next job before this one counts as finished: once the last
      // one counts, the waiting thread may return and end everything
      // captured here.
      send_next();
      std::lock_guard lock(mu);
      record(out.per_worker[0][u], out.latencies[0], r, latency);
      if (++finished == jobs) all_done.notify_one();
    });
  };
  const std::size_t initial = std::min(jobs, options.concurrency);
  for (std::size_t i = 0; i < initial; ++i) send_next();
  std::unique_lock lock(mu);
  all_done.wait(lock, [&] { return finished == jobs; });
  return out;
}

// Merges the workers' tallies into one report.
GetRunReport finish(const GetRunOptions& options, const Tallies& t, double elapsed_s) {
  GetRunReport report{.per_url = std::vector<UrlTally>(options.urls.size()),
                      .requests = options.urls.size() * options.count,
                      .elapsed_s = elapsed_s};
  for (std::size_t w = 0; w < t.per_worker.size(); ++w) {
    for (std::size_t u = 0; u < report.per_url.size(); ++u) {
      report.per_url[u].merge(t.per_worker[w][u]);
    }
    report.latencies_ms.insert(report.latencies_ms.end(), t.latencies[w].begin(),
                               t.latencies[w].end());
  }
  std::sort(report.latencies_ms.begin(), report.latencies_ms.end());
  for (const UrlTally& p : report.per_url) report.ok += p.ok;
  return report;
}

}  // namespace

Result<GetRunOptions> make_get_run_options(GetRunOptions options) {
  if (options.urls.empty()) return fail(invalid("urls must hold at least one URL"));
  for (const std::string& url : options.urls) {
    if (!is_http_url(url)) {
      return fail(Error::permanent(redact_url(url) + " is not an http:// or https:// URL"));
    }
  }
  if (options.count < 1) return fail(invalid("count must be >= 1 (got 0)"));
  const bool blocking = options.engine == GetEngine::blocking;
  const std::size_t limit = blocking ? kMaxBlockingGetConcurrency : kMaxGetConcurrency;
  if (options.concurrency < 1 || options.concurrency > limit) {
    return fail(invalid("concurrency must be in 1.." + std::to_string(limit) + " on the " +
                        (blocking ? "blocking" : "async") + " engine (got " +
                        std::to_string(options.concurrency) + ")"));
  }
  if (blocking && options.hedge_after > Duration::zero()) {
    return fail(invalid("hedge_after needs the async engine"));
  }
  if (options.hedge_after < Duration::zero()) {
    return fail(invalid("hedge_after must be >= 0 (0: no hedging)"));
  }
  if (options.event_threads < 1 || options.event_threads > 8) {
    return fail(invalid("event_threads must be in 1..8 (got " +
                        std::to_string(options.event_threads) + ")"));
  }
  if (options.timeout <= Duration::zero()) return fail(invalid("timeout must be > 0"));
  return options;
}

Status raise_open_file_limit(const GetRunOptions& options) {
  constexpr std::size_t kDescriptorsBesideConnections = 64;
  const auto needed = static_cast<rlim_t>(options.concurrency + kDescriptorsBesideConnections);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed) return {};
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
    return fail(Error::permanent(
        "concurrency " + std::to_string(options.concurrency) + " needs " + std::to_string(needed) +
        " open files but the hard limit (ulimit -Hn) is " + std::to_string(limit.rlim_max) +
        "; lower the concurrency or raise the limit"));
  }
  limit.rlim_cur = needed;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return fail(Error::permanent("cannot raise the open file limit to " + std::to_string(needed)));
  }
  return {};
}

ClientOptions get_run_client_options(const GetRunOptions& options) {
  const std::size_t in_flight = std::max<std::size_t>(1, options.concurrency);
  return {.connect_timeout = std::min<Duration>(options.timeout, std::chrono::seconds{10}),
          .total_timeout = options.timeout,
          .max_connections = in_flight,
          .max_per_host = in_flight,
          .max_response_bytes =
              std::min<std::size_t>(std::size_t{64} << 20, kGetRunResponseBytes / in_flight),
          .tls = options.tls,
          .clock = options.clock,
          .sleeper = options.sleeper};
}

void UrlTally::merge(const UrlTally& other) {
  requests += other.requests;
  ok += other.ok;
  for (const auto& [k, v] : other.statuses) statuses[k] += v;
  for (const auto& [k, v] : other.errors) errors[k] += v;
  connect_ms += other.connect_ms;
  tls_ms += other.tls_ms;
  first_byte_ms += other.first_byte_ms;
  total_ms += other.total_ms;
  timed += other.timed;
}

double UrlTally::mean(double sum) const noexcept {
  return timed == 0 ? 0.0 : sum / static_cast<double>(timed);
}

std::uint64_t UrlTally::error_count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& [text, count] : errors) n += count;
  return n;
}

double GetRunReport::requests_per_second() const noexcept {
  return elapsed_s > 0 ? static_cast<double>(requests) / elapsed_s : 0.0;
}

std::uint64_t GetRunReport::retries() const noexcept {
  std::uint64_t n = 0;
  for (std::uint64_t r : stats.retries_by_class) n += r;
  return n;
}

Result<GetRunReport> run_gets(const GetRunOptions& requested) {
  auto checked = make_get_run_options(requested);
  if (!checked) return fail(std::move(checked.error()));
  const GetRunOptions& options = *checked;
  const auto start = SteadyClock::now();
  auto seconds = [&] { return std::chrono::duration<double>(SteadyClock::now() - start).count(); };
  if (options.engine == GetEngine::blocking) {
    auto made = Client::make(get_run_client_options(options));
    if (!made) return fail(std::move(made.error()));
    const Tallies t = run_blocking(options, **made);
    GetRunReport report = finish(options, t, seconds());
    report.stats = (*made)->stats();
    return report;
  }
  const bool hedged = options.hedge_after > Duration::zero();
  auto made = AsyncClient::make(
      get_run_client_options(options),
      {.event_threads = options.event_threads,
       .hedge = {.enabled = hedged, .delay = hedged ? options.hedge_after : HedgeOptions{}.delay}});
  if (!made) return fail(std::move(made.error()));
  const Tallies t = run_async(options, **made);
  GetRunReport report = finish(options, t, seconds());
  report.stats = (*made)->stats();
  report.hedges = (*made)->hedge_stats();
  return report;
}

}  // namespace rebound::http
