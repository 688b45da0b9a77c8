// detail::RetryState — the decisions of the retry loop; see
// include/rebound/retry/internal/retry_state.hpp.
#include "rebound/retry/internal/retry_state.hpp"

#include <algorithm>
#include <string>

namespace rebound {
namespace {

std::string millis(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// "(serialization_conflict x3, quota_exceeded x1)"
std::string class_counts(const RetryReport& report) {
  std::string out = "(";
  for (std::size_t i = 0; i < kErrorClassCount; ++i) {
    if (report.failures[i] == 0) continue;
    if (out.size() > 1) out += ", ";
    out += to_string(static_cast<ErrorClass>(i));
    out += " x" + std::to_string(report.failures[i]);
  }
  return out + ")";
}

}  // namespace

namespace detail {

RetryState::RetryState(const RetryPolicy& policy, const RetryOptions& options) noexcept
    : policy_(policy),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : &coarse_steady_clock()),
      start_(clock_->now()),
      guarded_(options.stop.stop_possible() || policy.circuit_breaker != nullptr ||
               policy.rate_limiter != nullptr) {}

Sleeper& RetryState::sleeper() const noexcept {
  return options_.sleeper != nullptr ? *options_.sleeper : real_sleeper();
}

Rng& RetryState::rng() {
  if (!rng_) rng_ = options_.seed ? Rng{*options_.seed} : Rng::from_entropy();
  return *rng_;
}

// The breaker and limiter refusals keep their own message (it says when to
// come back); after earlier attempts it also says what those were.
Error RetryState::refused(GiveUpReason why, Error error) {
  report_.gave_up = why;
  report_.elapsed = clock_->now() - start_;
  if (report_.attempts > 0) {
    error.message += " (after " + std::to_string(report_.attempts) +
                     (report_.attempts == 1 ? " attempt " : " attempts ") + class_counts(report_) +
                     ")";
  }
  if (!options_.operation.empty()) {
    error.message += ' ';
    error.message += options_.operation;
  }
  return error;
}

Error RetryState::cancelled(std::string what) {
  report_.gave_up = GiveUpReason::cancelled;
  report_.elapsed = clock_->now() - start_;
  if (report_.attempts == 0) {
    what += " before the first attempt";
  } else {
    what += " after " + std::to_string(report_.attempts) +
            (report_.attempts == 1 ? " attempt " : " attempts ") + class_counts(report_);
  }
  if (!options_.operation.empty()) {
    what += ' ';
    what += options_.operation;
  }
  return Error::make(ErrorClass::non_retriable, std::move(what), "rebound", "cancelled");
}

std::optional<Error> RetryState::admit() {
  if (options_.stop.stop_requested()) {
    return cancelled("retry cancelled");
  }
  Duration wait{};
  if (policy_.rate_limiter) {
    auto reserved = policy_.rate_limiter->reserve();
    if (!reserved) return refused(GiveUpReason::send_rate, std::move(reserved).error());
    wait = *reserved;
  }
  if (policy_.circuit_breaker) {
    auto permit = policy_.circuit_breaker->acquire();
    if (!permit) {
      if (policy_.rate_limiter) policy_.rate_limiter->cancel_reservation();
      return refused(GiveUpReason::circuit_open, std::move(permit).error());
    }
    permit_ = *permit;
  }
  if (wait > Duration::zero()) {
    const TimePoint before = clock_->now();
    const bool full = sleeper().sleep_interruptible(wait, options_.stop);
    report_.slept += full ? wait : std::clamp(clock_->now() - before, Duration::zero(), wait);
    if (!full) {
      policy_.rate_limiter->cancel_reservation();
      if (policy_.circuit_breaker) policy_.circuit_breaker->release(permit_);
      return cancelled("retry cancelled while waiting for a send token");
    }
  }
  return std::nullopt;
}

Attempt RetryState::begin_attempt() noexcept {
  ++report_.attempts;
  Attempt attempt{.number = report_.attempts, .time_left = std::nullopt};
  if (policy_.attempt_timeout) {
    const Duration left = policy_.deadline - (clock_->now() - start_);
    attempt.time_left = std::clamp(left, Duration::zero(), *policy_.attempt_timeout);
  }
  return attempt;
}

void RetryState::on_success() noexcept {
  if (policy_.budget) policy_.budget->on_success();
  if (policy_.circuit_breaker) policy_.circuit_breaker->on_success(permit_);
  if (policy_.rate_limiter) policy_.rate_limiter->record(nullptr);
  report_.elapsed = clock_->now() - start_;
}

Backoff& RetryState::backoff_for(std::size_t rule_index) {
  (void)rng();
  if (backoffs_.size() < policy_.rules.size()) backoffs_.resize(policy_.rules.size());
  std::optional<Backoff>& slot = backoffs_[rule_index];
  if (!slot) {
    const ClassRule& rule = policy_.rules[rule_index];
    // Each rule draws from its own stream split off the loop's generator, so
    // one class's retries do not shift another class's schedule.
    slot.emplace(make_strategy(rule.backoff, rule.initial, rule.maximum, rule.multiplier),
                 rng_->split());
  }
  return *slot;
}

void RetryState::give_up(GiveUpReason why, Error& error) {
  report_.gave_up = why;
  std::string reason;
  switch (why) {
    case GiveUpReason::class_limit: {
      const ClassRule* rule = policy_.rule_for(error.error_class);
      reason = "retry limit for " + std::string(to_string(error.error_class)) + " (" +
               std::to_string(rule != nullptr ? rule->max_attempts : 0) + " failures) reached";
      break;
    }
    case GiveUpReason::attempt_limit:
      reason = "retry attempt limit (" + std::to_string(policy_.max_attempts) + ") reached";
      break;
    case GiveUpReason::deadline:
      reason = "retry deadline (" + millis(policy_.deadline) + ") reached";
      break;
    case GiveUpReason::budget_exhausted:
      reason = "retry budget exhausted";
      break;
    case GiveUpReason::cancelled:
      // Nothing retries a cancelled loop: the caller asked it to end.
      error.error_class = ErrorClass::non_retriable;
      error.code = "cancelled";
      error.source = "rebound";
      error.retry_after.reset();
      reason = "retry cancelled";
      break;
    default:
      return;  // none / not_retriable: the original error stands unchanged
  }
  std::string message = reason + " after " + std::to_string(report_.attempts) +
                        (report_.attempts == 1 ? " attempt " : " attempts ") +
                        class_counts(report_);
  if (!options_.operation.empty()) {
    message += ' ';
    message += options_.operation;
  }
  message += ": " + error.message;
  error.message = std::move(message);
}

std::optional<Duration> RetryState::on_failure(Error& error) {
  const ErrorClass c = error.error_class;
  ++report_.failures[static_cast<std::size_t>(c)];
  if (policy_.circuit_breaker) policy_.circuit_breaker->on_failure(permit_, error);
  if (policy_.rate_limiter) policy_.rate_limiter->record(&error);
  const Duration elapsed = clock_->now() - start_;
  report_.elapsed = elapsed;

  const ClassRule* rule = policy_.rule_for(c);
  if (rule == nullptr) {
    report_.gave_up = GiveUpReason::not_retriable;
    return std::nullopt;
  }
  if (rule->max_attempts > 0 && report_.failures_of(c) >= rule->max_attempts) {
    give_up(GiveUpReason::class_limit, error);
    return std::nullopt;
  }
  if (policy_.max_attempts > 0 && report_.attempts >= policy_.max_attempts) {
    give_up(GiveUpReason::attempt_limit, error);
    return std::nullopt;
  }
  const auto rule_index = static_cast<std::size_t>(rule - policy_.rules.data());
  Backoff& backoff = backoff_for(rule_index);
  Duration delay{};
  if (error.retry_after && policy_.pushback.honour) {
    // A server hint: never shorter than asked, clamped, spread so a fleet
    // that got the same hint does not return in one wave. The server said
    // when it expects to be ready, so the schedule starts over (gRPC).
    if (!pushback_rng_) pushback_rng_ = rng().split();
    delay = pushback_delay(policy_.pushback, Duration{*error.retry_after}, *pushback_rng_);
    if (policy_.pushback.restart_backoff) {
      backoff.reset();
    } else {
      (void)backoff.next();
    }
  } else {
    delay = backoff.next();
  }
  if (elapsed + delay >= policy_.deadline) {
    give_up(GiveUpReason::deadline, error);
    return std::nullopt;
  }
  if (policy_.budget && !policy_.budget->try_spend(error)) {
    give_up(GiveUpReason::budget_exhausted, error);
    return std::nullopt;
  }
  if (policy_.on_retry) {
    policy_.on_retry(RetryEvent{.operation = options_.operation,
                                .attempt = report_.attempts,
                                .error_class = c,
                                .delay = delay,
                                .elapsed = elapsed,
                                .error = &error});
  }
  return delay;
}

bool RetryState::sleep(Duration d, Error& error) {
  if (!options_.stop.stop_possible()) {
    sleeper().sleep_for(d);
    report_.slept += d;
    return true;
  }
  const TimePoint before = clock_->now();
  const bool full = sleeper().sleep_interruptible(d, options_.stop);
  report_.slept += full ? d : std::clamp(clock_->now() - before, Duration::zero(), d);
  if (full && !options_.stop.stop_requested()) return true;
  report_.elapsed = clock_->now() - start_;
  give_up(GiveUpReason::cancelled, error);
  return false;
}

}  // namespace detail
}  // namespace rebound
