#include "rebound/retry/policy.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

namespace rebound {
namespace {

// The one rounding rule of scaled(): nearest nanosecond, positive stays >= 1 µs.
Duration scale_duration(Duration d, double factor) {
  if (d <= Duration::zero()) return d;
  const double ns = static_cast<double>(d.count()) * factor;
  constexpr double kMin = 1000;  // 1 µs
  constexpr auto kMax = static_cast<double>(std::numeric_limits<Duration::rep>::max());
  return Duration{static_cast<Duration::rep>(std::llround(std::clamp(ns, kMin, kMax / 2)))};
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

RetryPolicy scaled(RetryPolicy policy, double factor) {
  if (!(factor > 0) || std::isinf(factor)) return policy;
  for (ClassRule& rule : policy.rules) {
    rule.initial = scale_duration(rule.initial, factor);
    rule.maximum = scale_duration(rule.maximum, factor);
  }
  policy.deadline = scale_duration(policy.deadline, factor);
  if (policy.attempt_timeout)
    policy.attempt_timeout = scale_duration(*policy.attempt_timeout, factor);
  return policy;
}

RetryPolicy serialization(double scale) {
  return scaled(
      RetryPolicy{
          .rules = {ClassRule{.classes = {ErrorClass::serialization_conflict},
                              .initial = std::chrono::seconds{1},
                              .maximum = std::chrono::seconds{60},
                              .multiplier = 2.0,
                              .backoff = BackoffKind::decorrelated_jitter,
                              // Like google-api-core's retry.Retry: the deadline, not a
                              // count, ends it (decorrelated jitter fits about a
                              // dozen attempts into 300 s).
                              .max_attempts = 0}},
          .deadline = std::chrono::seconds{300},
      },
      scale);
}

RetryPolicy quota(double scale) {
  return scaled(
      RetryPolicy{
          .rules = {ClassRule{.classes = {ErrorClass::quota_exceeded, ErrorClass::rate_limited},
                              .initial = std::chrono::seconds{5},
                              .maximum = std::chrono::seconds{120},
                              .multiplier = 2.0,
                              .backoff = BackoffKind::decorrelated_jitter,
                              .max_attempts = 6}},
          .deadline = std::chrono::seconds{600},
      },
      scale);
}

RetryPolicy transient(double scale) {
  return scaled(
      RetryPolicy{
          .rules = {ClassRule{.classes = {ErrorClass::transient, ErrorClass::too_many_connections,
                                          ErrorClass::rate_limited},
                              .initial = std::chrono::milliseconds{100},
                              .maximum = std::chrono::seconds{5},
                              .multiplier = 2.0,
                              .backoff = BackoffKind::full_jitter,
                              .max_attempts = 3}},
          .deadline = std::chrono::seconds{60},
          .max_attempts = 3,
      },
      scale);
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
