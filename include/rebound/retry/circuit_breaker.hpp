// CircuitBreaker — stops sending to a back end that is failing, so a fleet
// stops feeding an overload with calls that cannot succeed, and probes it
// before letting traffic back (Polly v8's advanced circuit breaker).
//
//   auto breaker = rebound::CircuitBreaker::make({}, "api.example.com").value();
//   auto permit = breaker->acquire();
//   if (!permit) return fail(permit.error());     // circuit_open: says when it probes
//   auto r = call();
//   r ? breaker->on_success(*permit) : breaker->on_failure(*permit, r.error());
//
//   RetryPolicy p = policies::transient();
//   p.circuit_breaker = breaker;                   // or: the retry loop does the above
//
// States:
//   closed     every call goes through. Outcomes are counted in a sliding
//              window of `sampling_duration` (ten buckets). When the window
//              holds at least `minimum_throughput` calls and the ratio of
//              counted failures reaches `failure_ratio`, the breaker opens.
//   open       acquire() fails at once with ErrorClass::circuit_open, whose
//              retry_after is the time until the next probe and whose message
//              names the back end, the failure count and that time. After
//              the break it moves to half-open on the next acquire().
//   half-open  at most `half_open_probes` calls go through as probes; the
//              others fail fast (retry_after: a tenth of break_duration). A probe that succeeds (or
//              fails with a class that is not counted: a 404 is not the server's fault) closes the
//              breaker with an empty window; a counted failure re-opens it for a longer break.
// Break n (consecutive trips without a successful probe) lasts
//   min(max_break_duration, break_duration * break_multiplier^(n-1)) * uniform[1, 1 + break_jitter)
// so a fleet of breakers that tripped together does not probe together.
// Defaults are Polly v8's: ratio 0.1 over 30 s with at least 100 calls, 5 s break.
//
// Cost when closed: acquire() is one atomic load; on_success() reads the clock
// and does two relaxed atomic adds (see bench/retry). Counts at a bucket
// boundary are approximate (a racing reset can drop an add), never unsafe.
//
// CircuitBreakers keys breakers by back end (HTTP host:port, warehouse URL):
// one breaker per key, made on first use with the same options.
//
// Thread safety: thread-safe; share one breaker (or one CircuitBreakers) per process.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"
#include "rebound/core/random.hpp"

namespace rebound {

struct CircuitBreakerOptions {
  double failure_ratio = 0.1;                             // open at this ratio of counted failures
  Duration sampling_duration = std::chrono::seconds{30};  // the sliding window
  int minimum_throughput = 100;                           // calls in the window before it can open
  Duration break_duration = std::chrono::seconds{5};      // the first break
  double break_multiplier = 2.0;                          // growth per consecutive trip
  Duration max_break_duration = std::chrono::seconds{60};
  double break_jitter = 0.25;  // each break x uniform[1, 1 + jitter)
  int half_open_probes = 1;    // calls let through at once when half-open
  // The classes that count as the back end's fault. Others (permanent,
  // non_retriable, serialization conflicts) count as successes: the server
  // answered.
  std::vector<ErrorClass> counted = {ErrorClass::transient, ErrorClass::too_many_connections,
                                     ErrorClass::rate_limited, ErrorClass::quota_exceeded};
  Clock* clock = nullptr;             // default: coarse_steady_clock()
  std::optional<std::uint64_t> seed;  // break jitter; default: fresh entropy
};

enum class CircuitState : std::uint8_t { closed, open, half_open };
[[nodiscard]] std::string_view to_string(CircuitState s) noexcept;

// Proof that acquire() let a call through; hand it back with the outcome.
struct CircuitPermit {
  bool probe = false;
};

struct CircuitStats {
  CircuitState state = CircuitState::closed;
  std::uint64_t trips = 0;     // closed/half-open -> open transitions
  std::uint64_t rejected = 0;  // acquire() calls refused
  std::uint64_t probes = 0;    // half-open calls let through
  int window_calls = 0;        // in the current window (closed state)
  int window_failures = 0;
};

class CircuitBreaker {
 public:
  // Validates: failure_ratio in (0, 1], sampling_duration >= 10 ms,
  // minimum_throughput >= 1, break_duration > 0, max_break_duration >=
  // break_duration, break_multiplier >= 1, break_jitter in [0, 10],
  // half_open_probes >= 1, counted names no circuit_open. Permanent Error
  // naming the field otherwise. `name` (the back end) appears in messages.
  [[nodiscard]] static Result<std::shared_ptr<CircuitBreaker>> make(CircuitBreakerOptions options,
                                                                    std::string name = {});

  // Lets a call through (closed, or as a half-open probe), or fails with
  // ErrorClass::circuit_open (code "circuit_open", retry_after = time to the
  // next probe).
  [[nodiscard]] Result<CircuitPermit> acquire();

  void on_success(CircuitPermit permit) { record(permit, nullptr); }
  void on_failure(CircuitPermit permit, const Error& error) { record(permit, &error); }
  // `failure` == nullptr is a success.
  void record(CircuitPermit permit, const Error* failure);
  // Gives a permit back without an outcome (the call was never sent).
  void release(CircuitPermit permit);

  [[nodiscard]] bool counts(ErrorClass c) const noexcept {
    return counted_[static_cast<std::size_t>(c)];
  }
  [[nodiscard]] CircuitState state() const noexcept {
    return static_cast<CircuitState>(state_.load(std::memory_order_acquire));
  }
  [[nodiscard]] CircuitStats stats() const;
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const CircuitBreakerOptions& options() const noexcept { return options_; }

  CircuitBreaker(CircuitBreakerOptions options, std::string name);  // prefer make()

 private:
  static constexpr std::size_t kBuckets = 10;
  struct Bucket {
    std::atomic<std::int64_t> epoch{-1};  // which bucket_ns-long slice of time it holds
    std::atomic<int> calls{0};
    std::atomic<int> failures{0};
  };

  [[nodiscard]] std::int64_t now_ns() const;
  void count(bool failure, std::int64_t now);
  [[nodiscard]] std::pair<int, int> window(std::int64_t now) const;  // (calls, failures)
  void trip_locked(std::int64_t now, int calls, int failures);
  void close_locked();
  [[nodiscard]] Error open_error(std::int64_t now, std::string_view why) const;

  CircuitBreakerOptions options_;
  std::string name_;
  Clock* clock_;
  std::int64_t bucket_ns_;
  std::array<bool, kErrorClassCount> counted_{};
  std::atomic<std::uint8_t> state_{static_cast<std::uint8_t>(CircuitState::closed)};
  std::atomic<std::int64_t> open_until_ns_{0};
  std::array<Bucket, kBuckets> buckets_;
  std::atomic<std::uint64_t> rejected_{0};

  mutable std::mutex mu_;  // transitions, bucket resets, the Rng
  Rng rng_;
  int consecutive_trips_ = 0;
  int probes_in_flight_ = 0;
  std::uint64_t trips_ = 0, probes_ = 0;
  int tripped_calls_ = 0, tripped_failures_ = 0;  // the window that opened it, for messages
};

// One breaker per back-end key, made on first use.
class CircuitBreakers {
 public:
  // Validates the options once (CircuitBreaker::make's rules).
  [[nodiscard]] static Result<std::shared_ptr<CircuitBreakers>> make(CircuitBreakerOptions options);

  // The breaker for `key` ("host:port", a warehouse URL), made on first use.
  [[nodiscard]] std::shared_ptr<CircuitBreaker> for_key(std::string_view key);
  [[nodiscard]] std::size_t size() const;

  explicit CircuitBreakers(CircuitBreakerOptions options) : options_(std::move(options)) {}

 private:
  CircuitBreakerOptions options_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<CircuitBreaker>> breakers_;
  std::uint64_t made_ = 0;  // seeds each new breaker's jitter differently
};

}  // namespace rebound
