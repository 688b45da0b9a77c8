// AdaptiveRateLimiter — a client-side send-rate limiter that backs off when
// the back end throttles and grows back on a cubic curve: the AWS SDKs'
// "adaptive" retry mode (a token bucket whose fill rate follows CUBIC, the
// TCP congestion-control curve of Ha, Rhee and Xu, 2008).
//
//   auto limiter = rebound::AdaptiveRateLimiter::make({.max_wait = 2s}, "api.example.com").value();
//   if (auto ok = limiter->acquire(rebound::real_sleeper(), stop); !ok) return fail(ok.error());
//   auto r = call();
//   limiter->record(r ? nullptr : &r.error());   // learns from every response
//
//   RetryPolicy p = policies::transient();
//   p.rate_limiter = limiter;                      // or: the retry loop does the above
//
// Until the first throttling response (a `throttling` class: rate_limited,
// quota_exceeded) the limiter is off and acquire() returns at once. From then
// on, with t = seconds since the last throttle and the AWS constants
// (beta 0.7, C 0.4, smoothing 0.8, floor 0.5 req/s):
//   measured   = smoothed send rate: every half second,
//                measured = 0.8 * (responses / elapsed) + 0.2 * measured
//   on throttle  w_max = (enabled ? min(measured, rate) : measured);
//                rate = beta * w_max;   K = cbrt(w_max * (1 - beta) / C)
//   on success   rate = C * (t - K)^3 + w_max
//   always       rate = max(floor, min(rate, 2 * measured))
// The bucket holds at most max(1, rate) tokens and fills at `rate` per
// second; each send takes one. A caller that finds it empty waits for its
// token (a reservation: waiters are served in order) when the wait is at
// most `max_wait`, else fails at once with rate_limited (code
// "client_send_rate", retry_after = the wait it would have needed).
// `max_wait = 0` fails fast whenever the bucket is empty.
//
// Thread safety: thread-safe; share one limiter per back end (AdaptiveRateLimiters keys them).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"

namespace rebound {

struct AdaptiveRateOptions {
  double beta = 0.7;            // multiplicative decrease on a throttle
  double scale_constant = 0.4;  // C: how fast the cubic grows back
  double smoothing = 0.8;       // weight of the newest measured-rate sample
  double min_rate = 0.5;        // requests per second the limiter never goes below
  Duration measure_interval = std::chrono::milliseconds{500};  // measured-rate buckets
  double max_rate_scale = 2.0;                  // never above this multiple of the measured rate
  Duration max_wait = std::chrono::seconds{5};  // longest acquire() wait; 0 = fail fast
  std::vector<ErrorClass> throttling = {ErrorClass::rate_limited, ErrorClass::quota_exceeded};
  Clock* clock = nullptr;  // default: coarse_steady_clock() (ms resolution is plenty)
};

// The AWS adaptive-mode formulas, for tests and the simulator.
namespace cubic {
// K = cbrt(w_max * (1 - beta) / C): seconds after a throttle until the rate is back at w_max.
[[nodiscard]] double zero_point(double w_max, double beta, double scale_constant) noexcept;
// C * (t - K)^3 + w_max
[[nodiscard]] double success_rate(double seconds_since_throttle, double w_max, double beta,
                                  double scale_constant) noexcept;
}  // namespace cubic

struct AdaptiveRateStats {
  bool enabled = false;
  double rate = 0;      // current fill rate, requests per second (0 while not enabled)
  double measured = 0;  // smoothed measured send rate
  double w_max = 0;     // rate at the last throttle
  std::uint64_t throttles = 0, waits = 0, refused = 0;
};

class AdaptiveRateLimiter {
 public:
  // Validates: beta in (0, 1), scale_constant > 0, smoothing in (0, 1],
  // min_rate > 0, measure_interval > 0, max_rate_scale >= 1, max_wait >= 0.
  [[nodiscard]] static Result<std::shared_ptr<AdaptiveRateLimiter>> make(
      AdaptiveRateOptions options, std::string name = {});

  // Takes a token. Returns how long the caller must wait before sending
  // (zero: now), or rate_limited "client_send_rate" when that wait would pass
  // max_wait. A returned wait is already reserved; give it back with
  // cancel_reservation() if the caller does not send after all.
  [[nodiscard]] Result<Duration> reserve();
  void cancel_reservation();

  // reserve(), then sleeps the wait on `sleeper`; a stop request ends the
  // wait, gives the token back and returns non_retriable "cancelled".
  [[nodiscard]] Status acquire(Sleeper& sleeper, std::stop_token stop = {});

  // Learns from a response: nullptr = success; a throttling class cuts the
  // rate; any other failure counts as an answered request.
  void record(const Error* failure);
  [[nodiscard]] bool is_throttling(ErrorClass c) const noexcept {
    return throttling_[static_cast<std::size_t>(c)];
  }

  [[nodiscard]] bool enabled() const noexcept { return enabled_.load(std::memory_order_acquire); }
  [[nodiscard]] AdaptiveRateStats stats() const;
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  AdaptiveRateLimiter(AdaptiveRateOptions options, std::string name);  // prefer make()

 private:
  [[nodiscard]] double now_s() const;
  void refill_locked(double now);
  void set_rate_locked(double rate, double now);
  double measure_locked(double now);

  AdaptiveRateOptions options_;
  std::string name_;
  Clock* clock_;
  std::array<bool, kErrorClassCount> throttling_{};
  std::atomic<bool> enabled_{false};

  mutable std::mutex mu_;
  // Token bucket.
  double rate_ = 0, capacity_ = 0, max_capacity_ = 1, last_refill_ = -1;
  // CUBIC.
  double w_max_ = 0, k_ = 0, last_throttle_ = 0;
  // Measured send rate.
  double measured_ = 0, count_ = 0;
  double last_bucket_ = -1;
  std::uint64_t throttles_ = 0, waits_ = 0, refused_ = 0;
};

// One limiter per back-end key, made on first use.
class AdaptiveRateLimiters {
 public:
  [[nodiscard]] static Result<std::shared_ptr<AdaptiveRateLimiters>> make(
      AdaptiveRateOptions options);
  [[nodiscard]] std::shared_ptr<AdaptiveRateLimiter> for_key(std::string_view key);

  explicit AdaptiveRateLimiters(AdaptiveRateOptions options) : options_(std::move(options)) {}

 private:
  AdaptiveRateOptions options_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<AdaptiveRateLimiter>> limiters_;
};

}  // namespace rebound
