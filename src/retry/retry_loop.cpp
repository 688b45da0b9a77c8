#include "rebound/retry/retry_loop.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace rebound {
namespace {

constexpr std::array<std::string_view, 6> kGiveUpNames = {
    "none", "not_retriable", "class_limit", "attempt_limit", "deadline", "budget_exhausted"};

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

std::string_view to_string(GiveUpReason r) noexcept {
  const auto i = static_cast<std::size_t>(r);
  return i < kGiveUpNames.size() ? kGiveUpNames[i] : std::string_view{"unknown"};
}

Error classify_exception(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const Exception& ex) {
    return ex.error();
  } catch (const std::exception& ex) {
    return Error::permanent(ex.what());
  } catch (...) {
    return Error::permanent("unknown exception (not derived from std::exception)");
  }
}

namespace detail {

RetryState::RetryState(const RetryPolicy& policy, const RetryOptions& options) noexcept
    : policy_(policy),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : &coarse_steady_clock()),
      start_(clock_->now()) {}

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
  report_.elapsed = clock_->now() - start_;
}

Backoff& RetryState::backoff_for(std::size_t rule_index) {
  if (!rng_) rng_ = options_.seed ? Rng{*options_.seed} : Rng::from_entropy();
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
  // The schedule advances even when a hint wins, so the next un-hinted delay
  // continues the progression instead of restarting it.
  const auto rule_index = static_cast<std::size_t>(rule - policy_.rules.data());
  const Duration scheduled = backoff_for(rule_index).next();
  const Duration delay = error.retry_after ? Duration{*error.retry_after} : scheduled;
  if (elapsed + delay >= policy_.deadline) {
    give_up(GiveUpReason::deadline, error);
    return std::nullopt;
  }
  if (policy_.budget && !policy_.budget->try_spend()) {
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

void RetryState::sleep(Duration d) {
  Sleeper& sleeper = options_.sleeper != nullptr ? *options_.sleeper : real_sleeper();
  sleeper.sleep_for(d);
  report_.slept += d;
}

}  // namespace detail
}  // namespace rebound
