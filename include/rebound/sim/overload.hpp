// Overload — a discrete-event simulation of a metastable failure (Bronson et
// al., "Metastable Failures in Distributed Systems", HotOS 2021; Huang et al.,
// "Metastable Failures in the Wild", OSDI 2022) and of the protections that end
// it, with rebound's own RetryBudget, CircuitBreaker, AdaptiveRateLimiter and
// Backoff running on a simulated clock.
//
//   auto options = rebound::sim::make_overload_options({.seed = 7}).value();
//   auto rows = rebound::sim::run_overload(options).value();   // one row per protection
//   rows[0].recovered;      // nullopt: retries alone never recover
//   rows.back().amplification;   // calls the server got per request offered
//
// The model (docs/overload.md): `clients` client processes share a Poisson
// stream of `offered_rps` requests (below the server's capacity). The server
// has `workers` slots, each serving one call in Exp(service_time), and a FIFO
// queue of `queue_limit` calls; a call that finds the queue full is rejected
// at once with 429 (rate_limited). A client gives each attempt
// `attempt_timeout`, and a request `deadline`; it retries timeouts and 429s
// with full-jitter backoff up to `max_attempts`. The server never learns that
// a client gave up: it serves stale calls, which is the sustaining effect —
// once the queue holds more than attempt_timeout of work, every call it
// serves is wasted and the retries keep it full. From `trigger_start` for
// `trigger_length` the server degrades (capacity_drop: service time x
// trigger_factor; latency_spike: every call takes trigger_latency longer),
// then it is healthy again. Each protection is per client process, as in a
// real fleet: `budget` a RetryBudget (default options), `breaker` a
// CircuitBreaker (Polly defaults), `adaptive` an AdaptiveRateLimiter (AWS
// defaults, waits bounded by max_wait), `all` the three together.
//
// Arrivals, request-to-client assignment, jitter streams and service draws
// come from `seed`, so every protection faces the same workload and the same
// seed always prints the same table.
//
// Thread safety: run_overload and simulate_overload are reentrant; results are values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"

namespace rebound::sim {

enum class Protection : std::uint8_t { none, budget, breaker, adaptive, all };
[[nodiscard]] std::string_view to_string(Protection p) noexcept;
[[nodiscard]] std::optional<Protection> parse_protection(std::string_view name) noexcept;
// none, budget, breaker, adaptive, all — the table's rows.
[[nodiscard]] const std::vector<Protection>& overload_protections() noexcept;

enum class Trigger : std::uint8_t { capacity_drop, latency_spike };
[[nodiscard]] std::string_view to_string(Trigger t) noexcept;
[[nodiscard]] std::optional<Trigger> parse_trigger(std::string_view name) noexcept;

struct OverloadOptions {
  std::uint64_t seed = 1;
  int clients = 8;           // client processes, each with its own protections
  double offered_rps = 700;  // requests per second, all clients together
  int workers = 10;          // server slots
  Duration service_time = std::chrono::milliseconds{10};  // mean; capacity = workers / service_time
  int queue_limit = 1000;                           // calls waiting for a slot; beyond it: 429
  Duration network = std::chrono::milliseconds{1};  // one way
  Duration run = std::chrono::seconds{40};          // requests are offered for this long
  Trigger trigger = Trigger::capacity_drop;
  Duration trigger_start = std::chrono::seconds{10};
  Duration trigger_length = std::chrono::seconds{2};
  double trigger_factor = 4;  // capacity_drop: service time multiplied by this
  Duration trigger_latency = std::chrono::milliseconds{300};  // latency_spike: added per call
  Duration attempt_timeout = std::chrono::milliseconds{200};
  Duration deadline = std::chrono::seconds{1};  // per request, from its arrival
  int max_attempts = 4;
  Duration backoff_base = std::chrono::milliseconds{10};  // full jitter
  Duration backoff_cap = std::chrono::milliseconds{200};
  Duration limiter_max_wait = std::chrono::milliseconds{200};  // adaptive: longest token wait
  Duration window = std::chrono::milliseconds{500};            // goodput is measured per window
};

// Validates every field (positive counts and durations, trigger inside the
// run, a window that fits the run...). A permanent Error names the field.
[[nodiscard]] Result<OverloadOptions> make_overload_options(OverloadOptions options);

struct OverloadRow {
  Protection protection = Protection::none;
  std::uint64_t offered = 0;    // requests
  std::uint64_t succeeded = 0;  // requests answered with success within their deadline
  std::uint64_t calls = 0;      // calls that reached the server (rejected ones included)
  std::uint64_t wasted = 0;     // calls the server served after the client gave up on them
  std::uint64_t refused = 0;    // attempts the client's breaker or limiter did not send
  double goodput = 0;           // succeeded / offered
  double amplification = 0;     // calls / offered
  double pre_trigger_goodput = 0;
  // From the end of the trigger until goodput stays >= 90% of its pre-trigger
  // level for the rest of the run; nullopt when it never does.
  std::optional<Duration> recovered;
  std::vector<double> window_goodput;  // per `window`, by request arrival time
};

// One protection over the seeded workload. Fails only on invalid options.
[[nodiscard]] Result<OverloadRow> simulate_overload(const OverloadOptions& options,
                                                    Protection protection);
// One row per protection (default: overload_protections()), in order.
[[nodiscard]] Result<std::vector<OverloadRow>> run_overload(
    const OverloadOptions& options, std::span<const Protection> protections);
[[nodiscard]] Result<std::vector<OverloadRow>> run_overload(const OverloadOptions& options);

}  // namespace rebound::sim
