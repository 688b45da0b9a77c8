#include "rebound/retry/circuit_breaker.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace rebound {
namespace {

std::string seconds_text(std::int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ns) / 1e9);
  return buf;
}

Error invalid(const std::string& what) {
  return Error::permanent("invalid circuit breaker option: " + what);
}

}  // namespace

std::string_view to_string(CircuitState s) noexcept {
  switch (s) {
    case CircuitState::closed:
      return "closed";
    case CircuitState::open:
      return "open";
    case CircuitState::half_open:
      return "half_open";
  }
  return "unknown";
}

Result<std::shared_ptr<CircuitBreaker>> CircuitBreaker::make(CircuitBreakerOptions o,
                                                             std::string name) {
  using std::to_string;
  if (!(o.failure_ratio > 0.0 && o.failure_ratio <= 1.0))
    return fail(invalid("failure_ratio = " + to_string(o.failure_ratio) + " (must be in (0, 1])"));
  if (o.sampling_duration < std::chrono::milliseconds{10})
    return fail(invalid("sampling_duration must be >= 10 ms"));
  if (o.minimum_throughput < 1)
    return fail(
        invalid("minimum_throughput = " + to_string(o.minimum_throughput) + " (must be >= 1)"));
  if (o.break_duration <= Duration::zero()) return fail(invalid("break_duration must be > 0"));
  if (o.max_break_duration < o.break_duration)
    return fail(invalid("max_break_duration must be >= break_duration"));
  if (!(o.break_multiplier >= 1.0) || std::isinf(o.break_multiplier))
    return fail(invalid("break_multiplier = " + to_string(o.break_multiplier) +
                        " (must be finite and >= 1)"));
  if (!(o.break_jitter >= 0.0 && o.break_jitter <= 10.0))
    return fail(invalid("break_jitter = " + to_string(o.break_jitter) + " (must be in [0, 10])"));
  if (o.half_open_probes < 1)
    return fail(invalid("half_open_probes = " + to_string(o.half_open_probes) + " (must be >= 1)"));
  for (ErrorClass c : o.counted) {
    if (c == ErrorClass::circuit_open)
      return fail(invalid("counted names circuit_open (the breaker's own refusal)"));
  }
  return std::make_shared<CircuitBreaker>(std::move(o), std::move(name));
}

CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options, std::string name)
    : options_(std::move(options)),
      name_(std::move(name)),
      clock_(options_.clock != nullptr ? options_.clock : &coarse_steady_clock()),
      bucket_ns_(std::max<std::int64_t>(
          1, options_.sampling_duration.count() / static_cast<std::int64_t>(kBuckets))),
      rng_(options_.seed ? Rng{*options_.seed} : Rng::from_entropy()) {
  for (ErrorClass c : options_.counted) counted_[static_cast<std::size_t>(c)] = true;
}

std::int64_t CircuitBreaker::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->now().time_since_epoch())
      .count();
}

Result<CircuitPermit> CircuitBreaker::acquire() {
  if (state() == CircuitState::closed) return CircuitPermit{};  // the hot path: one load
  const std::int64_t now = now_ns();
  std::lock_guard lock(mu_);
  CircuitState s = state();
  if (s == CircuitState::closed) return CircuitPermit{};
  if (s == CircuitState::open) {
    if (now < open_until_ns_.load(std::memory_order_relaxed)) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return fail(open_error(now, {}));
    }
    state_.store(static_cast<std::uint8_t>(CircuitState::half_open), std::memory_order_release);
    probes_in_flight_ = 0;
  }
  if (probes_in_flight_ < options_.half_open_probes) {
    ++probes_in_flight_;
    ++probes_;
    return CircuitPermit{.probe = true};
  }
  rejected_.fetch_add(1, std::memory_order_relaxed);
  return fail(open_error(now, "half-open, waiting for its probe"));
}

void CircuitBreaker::record(CircuitPermit permit, const Error* failure) {
  const bool bad = failure != nullptr && counts(failure->error_class);
  if (permit.probe) {
    const std::int64_t now = now_ns();
    std::lock_guard lock(mu_);
    probes_in_flight_ = std::max(0, probes_in_flight_ - 1);
    if (state() != CircuitState::half_open) return;  // another probe decided already
    if (bad) {
      trip_locked(now, 0, 0);
    } else {
      close_locked();
    }
    return;
  }
  // An outcome of a call let through before the breaker opened says nothing
  // about the back end now.
  if (state() != CircuitState::closed) return;
  const std::int64_t now = now_ns();
  count(bad, now);
  if (!bad) return;
  std::lock_guard lock(mu_);
  if (state() != CircuitState::closed) return;
  const auto [calls, failures] = window(now);
  if (calls >= options_.minimum_throughput &&
      static_cast<double>(failures) >= options_.failure_ratio * static_cast<double>(calls)) {
    trip_locked(now, calls, failures);
  }
}

void CircuitBreaker::release(CircuitPermit permit) {
  if (!permit.probe) return;
  std::lock_guard lock(mu_);
  probes_in_flight_ = std::max(0, probes_in_flight_ - 1);
}

void CircuitBreaker::count(bool failure, std::int64_t now) {
  const std::int64_t idx = now / bucket_ns_;
  Bucket& b = buckets_[static_cast<std::size_t>(idx % static_cast<std::int64_t>(kBuckets))];
  if (b.epoch.load(std::memory_order_acquire) != idx) {
    std::lock_guard lock(mu_);  // once per bucket slice (sampling_duration / 10)
    if (b.epoch.load(std::memory_order_relaxed) != idx) {
      b.calls.store(0, std::memory_order_relaxed);
      b.failures.store(0, std::memory_order_relaxed);
      b.epoch.store(idx, std::memory_order_release);
    }
  }
  b.calls.fetch_add(1, std::memory_order_relaxed);
  if (failure) b.failures.fetch_add(1, std::memory_order_relaxed);
}

std::pair<int, int> CircuitBreaker::window(std::int64_t now) const {
  const std::int64_t idx = now / bucket_ns_;
  int calls = 0, failures = 0;
  for (const Bucket& b : buckets_) {
    const std::int64_t e = b.epoch.load(std::memory_order_acquire);
    if (e > idx - static_cast<std::int64_t>(kBuckets) && e <= idx) {
      calls += b.calls.load(std::memory_order_relaxed);
      failures += b.failures.load(std::memory_order_relaxed);
    }
  }
  return {calls, failures};
}

void CircuitBreaker::trip_locked(std::int64_t now, int calls, int failures) {
  ++consecutive_trips_;
  ++trips_;
  tripped_calls_ = calls;
  tripped_failures_ = failures;
  const double growth = std::pow(options_.break_multiplier, consecutive_trips_ - 1);
  const double base = std::min(static_cast<double>(options_.max_break_duration.count()),
                               static_cast<double>(options_.break_duration.count()) * growth);
  const double spread =
      options_.break_jitter > 0 ? rng_.uniform(1.0, 1.0 + options_.break_jitter) : 1.0;
  open_until_ns_.store(now + std::llround(base * spread), std::memory_order_relaxed);
  state_.store(static_cast<std::uint8_t>(CircuitState::open), std::memory_order_release);
}

void CircuitBreaker::close_locked() {
  // Polly resets the health metrics on close: the failures that opened the
  // breaker must not re-open it on the first new failure.
  for (Bucket& b : buckets_) {
    b.epoch.store(-1, std::memory_order_relaxed);
    b.calls.store(0, std::memory_order_relaxed);
    b.failures.store(0, std::memory_order_relaxed);
  }
  consecutive_trips_ = 0;
  state_.store(static_cast<std::uint8_t>(CircuitState::closed), std::memory_order_release);
}

Error CircuitBreaker::open_error(std::int64_t now, std::string_view why) const {
  const std::int64_t left = std::max<std::int64_t>(0, open_until_ns_.load() - now);
  std::string message =
      "circuit open for " + (name_.empty() ? std::string("this back end") : name_);
  if (!why.empty()) {
    message += " (" + std::string(why) + ")";
  } else if (tripped_calls_ > 0) {
    message += ": " + std::to_string(tripped_failures_) + " of " + std::to_string(tripped_calls_) +
               " calls failed within " +
               seconds_text(std::chrono::nanoseconds{options_.sampling_duration}.count());
  } else {
    message += ": the probe failed";
  }
  message += "; next probe in " + seconds_text(left) + "; not sent";
  Error e = Error::make(ErrorClass::circuit_open, std::move(message), "rebound", "circuit_open");
  // Half-open, the next probe is due when the one in flight answers: ask
  // again after a tenth of the base break rather than at once.
  const std::int64_t wait =
      left > 0 ? left : std::chrono::nanoseconds{options_.break_duration}.count() / 10;
  e.retry_after = std::chrono::ceil<std::chrono::milliseconds>(std::chrono::nanoseconds{wait});
  return e;
}

CircuitStats CircuitBreaker::stats() const {
  std::lock_guard lock(mu_);
  const auto [calls, failures] = window(now_ns());
  return CircuitStats{.state = state(),
                      .trips = trips_,
                      .rejected = rejected_.load(std::memory_order_relaxed),
                      .probes = probes_,
                      .window_calls = calls,
                      .window_failures = failures};
}

Result<std::shared_ptr<CircuitBreakers>> CircuitBreakers::make(CircuitBreakerOptions options) {
  auto probe = CircuitBreaker::make(options);
  if (!probe) return fail(std::move(probe).error());
  return std::make_shared<CircuitBreakers>(std::move(options));
}

std::shared_ptr<CircuitBreaker> CircuitBreakers::for_key(std::string_view key) {
  {
    std::shared_lock lock(mu_);
    auto it = breakers_.find(std::string(key));
    if (it != breakers_.end()) return it->second;
  }
  std::unique_lock lock(mu_);
  auto [it, inserted] = breakers_.try_emplace(std::string(key));
  if (inserted) {
    CircuitBreakerOptions o = options_;
    if (o.seed) o.seed = *o.seed + made_;  // each back end's breaks jitter independently
    ++made_;
    it->second = std::make_shared<CircuitBreaker>(std::move(o), std::string(key));
  }
  return it->second;
}

std::size_t CircuitBreakers::size() const {
  std::shared_lock lock(mu_);
  return breakers_.size();
}

}  // namespace rebound
