// Fleet fetch — how a processor gets its batch over HTTP, the naive way (a
// new connection per request, a fixed-delay 3-attempt loop around it) or the
// rebound way (one pooled client shared by every processor, retries built in).
//
//   auto fetcher = make_fetcher(FetchMode::pooled, {.scale = 0.01, .budget = budget}).value();
//   FetchOutcome got = fetcher->fetch(url, on_retry);
//   got.body; got.attempts; got.latency_ms;     // latency of the attempt that answered
//
// Thread safety: a Fetcher is thread-safe; fetch() may run on many threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "rebound/retry/budget.hpp"
#include "rebound/retry/policy.hpp"

namespace rebound::fleet {

enum class FetchMode { new_connection_each_request, pooled };

struct FetchOptions {
  double scale = 0.01;                  // retry delays: the reference presets' seconds × scale
  std::shared_ptr<RetryBudget> budget;  // pooled mode: shared with the writes
  // Pooled mode: a circuit breaker on the source. While it is open a fetch
  // waits for the probe time the breaker names (jittered, bounded by the
  // quota deadline) and asks again, instead of burning its retries on an
  // outage. Its break is Polly's 5 s times `scale`, its window 5 s times
  // `scale` (a fleet run lasts about a second), its ratio 0.5 because the
  // built-in source fails ~9% of requests by design.
  bool circuit_breaker = true;
};

struct FetchOutcome {
  Result<std::string> body;
  int attempts = 0;
  double latency_ms = 0;  // the successful attempt, connection setup included
};

struct FetchStats {
  std::uint64_t new_connections = 0;
  std::uint64_t reused_connections = 0;
};

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // GETs url; on_retry runs before each retry sleep (on the calling thread).
  [[nodiscard]] virtual FetchOutcome fetch(
      const std::string& url, const std::function<void(const RetryEvent&)>& on_retry) = 0;
  [[nodiscard]] virtual FetchStats stats() const = 0;
};

[[nodiscard]] Result<std::unique_ptr<Fetcher>> make_fetcher(FetchMode mode, FetchOptions options);

// The naive loop (docs/fleet.md), used for both the naive fetches and the naive
// writes: a fixed 5 s (× scale) delay, three attempts, and it retries whatever
// fails. (rebound refuses to name non_retriable/permanent in a rule, so
// "whatever" is every retriable class; the fleet's workload makes no others.)
[[nodiscard]] RetryPolicy naive_policy(double scale);

// Checks that a source answers at all (any HTTP status) within a few seconds;
// the error names the URL (redacted) and what failed.
[[nodiscard]] Status probe_source(const std::string& base_url);

}  // namespace rebound::fleet
