#include "rebound/retry/adaptive_rate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace rebound {
namespace {

Error invalid(const std::string& what) {
  return Error::permanent("invalid adaptive rate option: " + what);
}

std::string fixed(double v, const char* unit) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f %s", v, unit);
  return buf;
}

}  // namespace

namespace cubic {

double zero_point(double w_max, double beta, double scale_constant) noexcept {
  return std::cbrt(w_max * (1.0 - beta) / scale_constant);
}

double success_rate(double seconds_since_throttle, double w_max, double beta,
                    double scale_constant) noexcept {
  const double k = zero_point(w_max, beta, scale_constant);
  const double x = seconds_since_throttle - k;
  return scale_constant * x * x * x + w_max;
}

}  // namespace cubic

Result<std::shared_ptr<AdaptiveRateLimiter>> AdaptiveRateLimiter::make(AdaptiveRateOptions o,
                                                                       std::string name) {
  using std::to_string;
  if (!(o.beta > 0.0 && o.beta < 1.0))
    return fail(invalid("beta = " + to_string(o.beta) + " (must be in (0, 1))"));
  if (!(o.scale_constant > 0.0) || std::isinf(o.scale_constant))
    return fail(invalid("scale_constant = " + to_string(o.scale_constant) + " (must be > 0)"));
  if (!(o.smoothing > 0.0 && o.smoothing <= 1.0))
    return fail(invalid("smoothing = " + to_string(o.smoothing) + " (must be in (0, 1])"));
  if (!(o.min_rate > 0.0) || std::isinf(o.min_rate))
    return fail(invalid("min_rate = " + to_string(o.min_rate) + " (must be > 0 requests/s)"));
  if (o.measure_interval <= Duration::zero()) return fail(invalid("measure_interval must be > 0"));
  if (!(o.max_rate_scale >= 1.0) || std::isinf(o.max_rate_scale))
    return fail(invalid("max_rate_scale = " + to_string(o.max_rate_scale) + " (must be >= 1)"));
  if (o.max_wait < Duration::zero()) return fail(invalid("max_wait must be >= 0"));
  for (ErrorClass c : o.throttling) {
    if (c == ErrorClass::circuit_open)
      return fail(invalid("throttling names circuit_open (never a server response)"));
  }
  return std::make_shared<AdaptiveRateLimiter>(std::move(o), std::move(name));
}

AdaptiveRateLimiter::AdaptiveRateLimiter(AdaptiveRateOptions options, std::string name)
    : options_(std::move(options)),
      name_(std::move(name)),
      clock_(options_.clock != nullptr ? options_.clock : &coarse_steady_clock()) {
  for (ErrorClass c : options_.throttling) throttling_[static_cast<std::size_t>(c)] = true;
  const double interval = std::chrono::duration<double>(options_.measure_interval).count();
  last_bucket_ = std::floor(now_s() / interval) * interval;
}

double AdaptiveRateLimiter::now_s() const {
  return std::chrono::duration<double>(clock_->now().time_since_epoch()).count();
}

void AdaptiveRateLimiter::refill_locked(double now) {
  if (last_refill_ < 0) {
    last_refill_ = now;
    return;
  }
  capacity_ = std::min(max_capacity_, capacity_ + (now - last_refill_) * rate_);
  last_refill_ = now;
}

void AdaptiveRateLimiter::set_rate_locked(double rate, double now) {
  refill_locked(now);
  rate_ = std::max(rate, options_.min_rate);
  max_capacity_ = std::max(1.0, rate);
  capacity_ = std::min(capacity_, max_capacity_);
}

double AdaptiveRateLimiter::measure_locked(double now) {
  const double interval = std::chrono::duration<double>(options_.measure_interval).count();
  const double bucket = std::floor(now / interval) * interval;
  count_ += 1;
  if (bucket > last_bucket_) {
    const double current = count_ / (bucket - last_bucket_);
    measured_ = current * options_.smoothing + measured_ * (1.0 - options_.smoothing);
    count_ = 0;
    last_bucket_ = bucket;
  }
  return measured_;
}

void AdaptiveRateLimiter::record(const Error* failure) {
  const double now = now_s();
  const bool throttled = failure != nullptr && is_throttling(failure->error_class);
  std::lock_guard lock(mu_);
  const double measured = measure_locked(now);
  double rate = 0;
  if (!throttled) {
    const double x = now - last_throttle_ - k_;
    rate = options_.scale_constant * x * x * x + w_max_;
  } else {
    const double to_use = enabled() ? std::min(measured, rate_) : measured;
    w_max_ = to_use;
    k_ = cubic::zero_point(w_max_, options_.beta, options_.scale_constant);
    last_throttle_ = now;
    rate = to_use * options_.beta;
    ++throttles_;
    enabled_.store(true, std::memory_order_release);
  }
  set_rate_locked(std::min(rate, options_.max_rate_scale * measured), now);
}

Result<Duration> AdaptiveRateLimiter::reserve() {
  if (!enabled()) return Duration::zero();  // never throttled: no limit yet
  const double now = now_s();
  std::lock_guard lock(mu_);
  refill_locked(now);
  capacity_ -= 1;
  if (capacity_ >= 0) return Duration::zero();
  const double wait_s = -capacity_ / rate_;
  const auto wait = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(wait_s));
  if (wait > options_.max_wait) {
    capacity_ += 1;
    ++refused_;
    Error e = Error::make(
        ErrorClass::rate_limited,
        "client-side send rate for " + (name_.empty() ? std::string("this back end") : name_) +
            " is " + fixed(rate_, "requests/s") + " after throttling; the next token is " +
            fixed(wait_s, "s") + " away, over max_wait " +
            fixed(std::chrono::duration<double>(options_.max_wait).count(), "s") + "; not sent",
        "rebound", "client_send_rate");
    e.retry_after = std::chrono::ceil<std::chrono::milliseconds>(wait);
    return fail(std::move(e));
  }
  ++waits_;
  return wait;
}

void AdaptiveRateLimiter::cancel_reservation() {
  std::lock_guard lock(mu_);
  capacity_ = std::min(max_capacity_, capacity_ + 1);
}

Status AdaptiveRateLimiter::acquire(Sleeper& sleeper, std::stop_token stop) {
  auto wait = reserve();
  if (!wait) return fail(std::move(wait).error());
  if (*wait <= Duration::zero()) return {};
  if (!sleeper.sleep_interruptible(*wait, stop)) {
    cancel_reservation();
    return fail(Error::make(ErrorClass::non_retriable,
                            "cancelled while waiting for a send token for " + name_, "rebound",
                            "cancelled"));
  }
  return {};
}

AdaptiveRateStats AdaptiveRateLimiter::stats() const {
  std::lock_guard lock(mu_);
  return AdaptiveRateStats{.enabled = enabled(),
                           .rate = enabled() ? rate_ : 0.0,
                           .measured = measured_,
                           .w_max = w_max_,
                           .throttles = throttles_,
                           .waits = waits_,
                           .refused = refused_};
}

Result<std::shared_ptr<AdaptiveRateLimiters>> AdaptiveRateLimiters::make(
    AdaptiveRateOptions options) {
  auto probe = AdaptiveRateLimiter::make(options);
  if (!probe) return fail(std::move(probe).error());
  return std::make_shared<AdaptiveRateLimiters>(std::move(options));
}

std::shared_ptr<AdaptiveRateLimiter> AdaptiveRateLimiters::for_key(std::string_view key) {
  {
    std::shared_lock lock(mu_);
    auto it = limiters_.find(std::string(key));
    if (it != limiters_.end()) return it->second;
  }
  std::unique_lock lock(mu_);
  auto [it, inserted] = limiters_.try_emplace(std::string(key));
  if (inserted) it->second = std::make_shared<AdaptiveRateLimiter>(options_, std::string(key));
  return it->second;
}

}  // namespace rebound
