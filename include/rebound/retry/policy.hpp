// RetryPolicy — *whether* and *how long*: which error classes are retried, on
// which schedule, up to which limits.
//
// A policy holds one ClassRule per group of error classes. Each rule has its
// own schedule (initial, maximum, multiplier, jitter) and its own attempt
// limit; all rules share one deadline, one overall attempt cap and one
// optional budget. This is how "quota outer, serialization inner" is
// expressed in one loop:
//
//   RetryPolicy p = policies::compose(policies::quota(), policies::serialization());
//   // serialization conflicts: 1s..60s, retried until the deadline;
//   // quota errors: 5s..120s, at most 6 failures; one 600s deadline.
//
// Two nested loops (quota around serialization) also work, but their attempt
// limits multiply: the inner loop starts afresh on every outer retry. The
// composed form never lets a class fail more than its own limit. See
// docs/retry.md.
//
// Classes that no rule names are not retried; non_retriable and permanent
// can never be named (make_policy rejects them).
//
// Overload protection (docs/overload.md), each opt-in: `pushback` says how
// server hints (Retry-After) are honoured — clamped and jittered by default;
// `circuit_breaker` and `rate_limiter` are checked before every attempt (a
// refusal ends the loop with circuit_open / rate_limited, nothing sent) and
// learn from every outcome; the budget charges per-class costs.
//
// Thread safety: immutable after construction; share freely. A shared budget
// is itself thread-safe; on_retry may be called from many threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rebound/core/error.hpp"
#include "rebound/retry/adaptive_rate.hpp"
#include "rebound/retry/backoff.hpp"
#include "rebound/retry/budget.hpp"
#include "rebound/retry/circuit_breaker.hpp"
#include "rebound/retry/pushback.hpp"

namespace rebound {

struct ClassRule {
  std::vector<ErrorClass> classes;
  Duration initial = std::chrono::seconds{1};
  Duration maximum = std::chrono::seconds{60};
  double multiplier = 2.0;
  BackoffKind backoff = BackoffKind::decorrelated_jitter;
  // At most this many attempts may fail with one of `classes`; the failure
  // that reaches it is returned. 0 means no per-class limit (deadline only).
  int max_attempts = 10;
};

// What on_retry sees before each sleep.
struct RetryEvent {
  std::string_view operation;
  int attempt = 0;  // the attempt that just failed, 1-based
  ErrorClass error_class = ErrorClass::transient;
  Duration delay{};    // what the loop will sleep now
  Duration elapsed{};  // since the loop started
  const Error* error = nullptr;
};

struct RetryPolicy {
  std::vector<ClassRule> rules;
  Duration deadline = std::chrono::seconds{300};  // overall, from the first attempt
  int max_attempts = 0;                           // overall cap; 0 = none
  // When set, each attempt is told min(attempt_timeout, time left) as its
  // budget (Attempt::timeout); the callable applies it to its I/O.
  std::optional<Duration> attempt_timeout;
  std::shared_ptr<RetryBudget> budget;  // optional, shared across loops
  std::function<void(const RetryEvent&)> on_retry;
  Pushback pushback;                                  // server hints: clamped, jittered
  std::shared_ptr<CircuitBreaker> circuit_breaker;    // optional: one per back end
  std::shared_ptr<AdaptiveRateLimiter> rate_limiter;  // optional: one per back end

  // The rule that retries `c`, or nullptr.
  [[nodiscard]] const ClassRule* rule_for(ErrorClass c) const noexcept;
};

// Validates a policy: positive durations, maximum >= initial, multiplier >= 1,
// no class in two rules, no non_retriable/permanent rule, non-negative limits.
// Returns a permanent Error that names the offending field.
[[nodiscard]] Result<RetryPolicy> make_policy(RetryPolicy policy);

namespace policies {

// The reference presets (docs/retry.md) take a `scale`: the preset is built
// in real seconds and passed through scaled(preset, scale), so 0.001 turns
// seconds into milliseconds for tests and demos.

// Every duration of `policy` multiplied by `factor`: each rule's initial and
// maximum delay, the deadline and the attempt timeout. One rounding rule for
// all of rebound: to the nearest nanosecond, and a duration that was positive
// stays at least 1 µs, so no factor turns a backoff into a busy loop.
// Attempt limits, budget and hooks are kept. factor must be finite and > 0;
// anything else returns the policy unchanged.
[[nodiscard]] RetryPolicy scaled(RetryPolicy policy, double factor);

// SERIALIZATION_RETRY: initial 1 s, max 60 s, x2, deadline 300 s,
// decorrelated jitter, no attempt limit (the deadline ends it, as in
// google-api-core's retry.Retry).
[[nodiscard]] RetryPolicy serialization(double scale = 1.0);

// QUOTA_RETRY: longer waits for sustained limits: initial 5 s,
// max 120 s, x2, deadline 600 s, at most 6 quota failures. Also retries
// rate_limited (HTTP 429), honouring Retry-After.
[[nodiscard]] RetryPolicy quota(double scale = 1.0);

// Transient failures (network, 5xx, restarts, too many connections): 3
// attempts, 100 ms .. 5 s exponential with full jitter, deadline 60 s. The
// HTTP client's default.
[[nodiscard]] RetryPolicy transient(double scale = 1.0);

// One policy with the rules of both: each class keeps its own schedule and
// limit; the deadline is the longer of the two, overall caps add up,
// on_retry/budget/attempt_timeout/circuit_breaker/rate_limiter come from
// `outer` when set, else `inner`; pushback comes from `outer`.
// A class named by both keeps `inner`'s rule (the more specific one).
[[nodiscard]] RetryPolicy compose(RetryPolicy outer, RetryPolicy inner);

}  // namespace policies

}  // namespace rebound
