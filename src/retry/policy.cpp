#include "rebound/retry/policy.hpp"

#include <array>
#include <cmath>
#include <string>

namespace rebound {
namespace {

Duration scaled(Duration d, double scale) {
  return Duration{static_cast<Duration::rep>(std::llround(static_cast<double>(d.count()) * scale))};
}

std::string millis(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

Error invalid(const std::string& what) { return Error::permanent("invalid retry policy: " + what); }

}  // namespace

const ClassRule* RetryPolicy::rule_for(ErrorClass c) const noexcept {
  for (const ClassRule& rule : rules) {
    for (ErrorClass named : rule.classes) {
      if (named == c) return &rule;
    }
  }
  return nullptr;
}

Result<RetryPolicy> make_policy(RetryPolicy policy) {
  if (policy.deadline <= Duration::zero()) {
    return fail(invalid("deadline = " + millis(policy.deadline) + " (must be > 0)"));
  }
  if (policy.max_attempts < 0) {
    return fail(
        invalid("max_attempts = " + std::to_string(policy.max_attempts) + " (must be >= 0)"));
  }
  if (policy.attempt_timeout && *policy.attempt_timeout <= Duration::zero()) {
    return fail(invalid("attempt_timeout = " + millis(*policy.attempt_timeout) + " (must be > 0)"));
  }
  if (auto why = invalid_pushback(policy.pushback)) return fail(invalid(std::string(*why)));
  std::array<bool, kErrorClassCount> seen{};
  for (std::size_t i = 0; i < policy.rules.size(); ++i) {
    const ClassRule& rule = policy.rules[i];
    const std::string where = "rule " + std::to_string(i) + ": ";
    if (rule.classes.empty()) return fail(invalid(where + "names no error class"));
    for (ErrorClass c : rule.classes) {
      if (c == ErrorClass::non_retriable || c == ErrorClass::permanent ||
          c == ErrorClass::circuit_open) {
        return fail(invalid(where + std::string(to_string(c)) + " errors can never be retried"));
      }
      auto& flag = seen[static_cast<std::size_t>(c)];
      if (flag) return fail(invalid(where + std::string(to_string(c)) + " is named by two rules"));
      flag = true;
    }
    if (rule.initial <= Duration::zero()) {
      return fail(invalid(where + "initial = " + millis(rule.initial) + " (must be > 0)"));
    }
    if (rule.maximum < rule.initial) {
      return fail(invalid(where + "maximum = " + millis(rule.maximum) +
                          " is below initial = " + millis(rule.initial)));
    }
    if (!(rule.multiplier >= 1.0) || std::isinf(rule.multiplier)) {
      return fail(invalid(where + "multiplier = " + std::to_string(rule.multiplier) +
                          " (must be finite and >= 1)"));
    }
    if (rule.max_attempts < 0) {
      return fail(invalid(where + "max_attempts = " + std::to_string(rule.max_attempts) +
                          " (must be >= 0)"));
    }
  }
  return policy;
}

namespace policies {

RetryPolicy serialization(double scale) {
  return RetryPolicy{
      .rules = {ClassRule{.classes = {ErrorClass::serialization_conflict},
                          .initial = scaled(std::chrono::seconds{1}, scale),
                          .maximum = scaled(std::chrono::seconds{60}, scale),
                          .multiplier = 2.0,
                          .backoff = BackoffKind::decorrelated_jitter,
                          // Like the reference platform's retry.Retry: the deadline, not a
                          // count, ends it (decorrelated jitter fits about a
                          // dozen attempts into 300 s).
                          .max_attempts = 0}},
      .deadline = scaled(std::chrono::seconds{300}, scale),
  };
}

RetryPolicy quota(double scale) {
  return RetryPolicy{
      .rules = {ClassRule{.classes = {ErrorClass::quota_exceeded, ErrorClass::rate_limited},
                          .initial = scaled(std::chrono::seconds{5}, scale),
                          .maximum = scaled(std::chrono::seconds{120}, scale),
                          .multiplier = 2.0,
                          .backoff = BackoffKind::decorrelated_jitter,
                          .max_attempts = 6}},
      .deadline = scaled(std::chrono::seconds{600}, scale),
  };
}

RetryPolicy transient(double scale) {
  return RetryPolicy{
      .rules = {ClassRule{.classes = {ErrorClass::transient, ErrorClass::too_many_connections,
                                      ErrorClass::rate_limited},
                          .initial = scaled(std::chrono::milliseconds{100}, scale),
                          .maximum = scaled(std::chrono::seconds{5}, scale),
                          .multiplier = 2.0,
                          .backoff = BackoffKind::full_jitter,
                          .max_attempts = 3}},
      .deadline = scaled(std::chrono::seconds{60}, scale),
      .max_attempts = 3,
  };
}

RetryPolicy compose(RetryPolicy outer, RetryPolicy inner) {
  RetryPolicy out;
  out.rules = inner.rules;
  for (ClassRule rule : outer.rules) {
    // Drop classes the inner (more specific) policy already handles.
    std::erase_if(rule.classes, [&](ErrorClass c) { return inner.rule_for(c) != nullptr; });
    if (!rule.classes.empty()) out.rules.push_back(std::move(rule));
  }
  out.deadline = std::max(outer.deadline, inner.deadline);
  out.max_attempts = (outer.max_attempts == 0 || inner.max_attempts == 0)
                         ? 0
                         : outer.max_attempts + inner.max_attempts;
  out.attempt_timeout = outer.attempt_timeout ? outer.attempt_timeout : inner.attempt_timeout;
  out.budget = outer.budget ? outer.budget : inner.budget;
  out.on_retry = outer.on_retry ? outer.on_retry : inner.on_retry;
  out.pushback = outer.pushback;
  out.circuit_breaker = outer.circuit_breaker ? outer.circuit_breaker : inner.circuit_breaker;
  out.rate_limiter = outer.rate_limiter ? outer.rate_limiter : inner.rate_limiter;
  return out;
}

}  // namespace policies
}  // namespace rebound
