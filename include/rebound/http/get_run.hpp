// GET run — N GETs of every URL with C in flight on one pooled client,
// measured: status counts, mean connect/TLS/first-byte/total times per URL,
// every request's latency, the client's connection reuse and the hedges. The
// workload behind `rebound get`; report text and JSON are in get_report.hpp.
//
//   auto options = rebound::http::make_get_run_options(
//       {.urls = {"http://127.0.0.1:8080/a"}, .count = 1000, .concurrency = 100}).value();
//   auto report = rebound::http::run_gets(options).value();
//   report.ok == report.requests;            // every GET answered 2xx/3xx
//   report.stats.reuse_rate();               // from the one client of the run
//   rebound::metrics::percentile(report.latencies_ms, 0.99);
//
// Engines: `async` keeps `concurrency` GETs in flight on one AsyncClient
// driven by `event_threads` event threads (each completion sends the next
// GET); `blocking` runs `concurrency` threads, each sending one GET at a time
// on one shared blocking Client (for comparisons). Every response is
// buffered whole, so the responses in flight share kGetRunResponseBytes: each
// may be up to min(64 MiB, kGetRunResponseBytes / concurrency).
//
// Thread safety: run_gets is reentrant (each call owns its client and
// threads); options and reports are plain values.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"
#include "rebound/core/headers.hpp"
#include "rebound/http/async_client.hpp"
#include "rebound/http/client.hpp"

namespace rebound::http {

enum class GetEngine : std::uint8_t { async, blocking };

// Past a few thousand connections to one server a run measures the kernel
// and the server, not the client; one thread per request stops at 1024.
inline constexpr std::size_t kMaxGetConcurrency = 10000;
inline constexpr std::size_t kMaxBlockingGetConcurrency = 1024;
// The memory bound of the bodies in flight (16 threads x 64 MiB once
// reached 1.4 GB).
inline constexpr std::size_t kGetRunResponseBytes = std::size_t{512} << 20;

struct GetRunOptions {
  std::vector<std::string> urls;  // http:// or https://, each fetched `count` times
  std::size_t count = 1;
  std::size_t concurrency = 1;  // GETs in flight (async) or threads (blocking)
  Headers headers;              // sent with every GET
  GetEngine engine = GetEngine::async;
  std::size_t event_threads = 1;  // async only, 1..8
  // Async only: hedge a GET unanswered this long (0: never). A hedge uses
  // one of the `concurrency` connections, so it waits when all are busy.
  Duration hedge_after{};
  Duration timeout = std::chrono::seconds{30};  // per attempt (connect: at most 10 s of it)
  TlsOptions tls;
  // Retry loop injection (tests: testing::FakeClock, so retried GETs take
  // no wall time); the real ones when null. See ClientOptions.
  Clock* clock = nullptr;
  Sleeper* sleeper = nullptr;
};

// Validates: at least one URL, each http:// or https:// (case-insensitive);
// count >= 1; concurrency in 1..kMaxGetConcurrency (kMaxBlockingGetConcurrency
// for the blocking engine); no hedging on the blocking engine; event_threads
// in 1..8; a positive timeout. A permanent Error names the field, and a URL
// only redacted.
[[nodiscard]] Result<GetRunOptions> make_get_run_options(GetRunOptions options);

// Open connections need file descriptors: `concurrency` connections plus
// curl's and the process's own (64 more). Raises the soft RLIMIT_NOFILE to
// fit, up to the hard limit; an Error (permanent) naming both numbers when
// the hard limit is too low. Call it before run_gets with a large concurrency.
[[nodiscard]] Status raise_open_file_limit(const GetRunOptions& options);

// The client a run uses: `concurrency` connections (in total and per host),
// the run's timeouts and TLS, and the per-response cap described above.
[[nodiscard]] ClientOptions get_run_client_options(const GetRunOptions& options);

// What the GETs of one URL got.
struct UrlTally {
  std::uint64_t requests = 0;
  std::uint64_t ok = 0;                         // 2xx and 3xx
  std::map<int, std::uint64_t> statuses;        // HTTP status -> count
  std::map<std::string, std::uint64_t> errors;  // error text (redacted) -> count
  // Sums over the responses (errors have no timing), in milliseconds:
  double connect_ms = 0, tls_ms = 0, first_byte_ms = 0, total_ms = 0;
  std::uint64_t timed = 0;  // responses in the sums

  void merge(const UrlTally& other);
  // sum / timed, 0 before any response: tally.mean(tally.total_ms).
  [[nodiscard]] double mean(double sum) const noexcept;
  [[nodiscard]] std::uint64_t error_count() const noexcept;
};

struct GetRunReport {
  std::vector<UrlTally> per_url;     // in the order of GetRunOptions::urls
  std::vector<double> latencies_ms;  // every GET, sorted ascending
  std::uint64_t requests = 0;
  std::uint64_t ok = 0;
  double elapsed_s = 0;  // from making the client to the last answer
  ClientStats stats;
  HedgeStats hedges;  // all zero on the blocking engine

  [[nodiscard]] double requests_per_second() const noexcept;
  [[nodiscard]] std::uint64_t retries() const noexcept;  // over every error class
};

// Sends every GET (URL by URL, `count` each) on the engine options ask for
// and waits for the last answer. A failed GET is counted, not returned: the
// only error is a client that cannot be made (options refused, e.g. an
// unreadable CA file), or options make_get_run_options refuses.
[[nodiscard]] Result<GetRunReport> run_gets(const GetRunOptions& options);

}  // namespace rebound::http
