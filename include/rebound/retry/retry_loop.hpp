// retry() — runs a callable under a RetryPolicy and reports what happened.
//
//   auto out = rebound::retry(policy, [&](const rebound::Attempt& a) -> rebound::Result<int> {
//     return db.merge(rows, a.time_left);          // submission *inside* the loop
//   }, {.operation = "merging into stats.box"});
//   if (!out) log(out.error().message);            // names cause, attempts, operation
//   out.report.attempts;                           // how many tries it took
//
// The callable returns Result<T> (or Status) and may take `const Attempt&`.
// After a failure the loop:
//   1. surfaces non-retriable, permanent and unnamed classes at once, with
//      the original error unchanged;
//   2. gives up when the class's own limit, the overall attempt cap, or the
//      deadline is reached, or the shared budget refuses to pay;
//   3. otherwise sleeps the class's next backoff delay — or, for an error
//      with a Retry-After hint, the hint clamped and jittered by
//      policy.pushback (then the schedule restarts); it gives up rather than
//      sleep past the deadline.
// Before every attempt it checks `options.stop` (a stop ends the loop with a
// non_retriable "cancelled" error; a stop during a sleep ends the sleep at
// once), the policy's rate limiter (may wait, bounded) and circuit breaker
// (an open circuit ends the loop with circuit_open; nothing is sent).
// A give-up error keeps the last error's class, code and source, and its
// message says why, how many attempts, which classes, and the operation:
//   "retry budget exhausted after 4 attempts (serialization_conflict x3,
//    quota_exceeded x1) merging into stats.box: could not serialize access …"
//
// Callables that throw go through retry_throwing(), an adapter over the same core.
//
// What the callable learns is an Attempt (attempt.hpp); the per-call inputs
// (operation name, clock, sleeper, seed, stop token) are RetryOptions
// (retry_options.hpp); the result carries a RetryReport (retry_report.hpp).
// The engine that makes the decisions is internal
// (internal/retry_state.hpp, detail::RetryState).
//
// Thread safety: retry() is reentrant; each call owns its state. The policy
// is read-only; its budget and on_retry hook must be thread-safe (they are
// shared by every concurrent call).
#pragma once

#include <exception>
#include <functional>
#include <type_traits>
#include <utility>
#include <variant>

#include "rebound/core/error.hpp"
#include "rebound/retry/attempt.hpp"
#include "rebound/retry/internal/retry_state.hpp"
#include "rebound/retry/policy.hpp"
#include "rebound/retry/retry_options.hpp"
#include "rebound/retry/retry_report.hpp"

namespace rebound {

// Runs f until it succeeds or the policy gives up. f returns Result<T>.
template <class F>
[[nodiscard]] auto retry(const RetryPolicy& policy, F&& f, RetryOptions options = {})
    -> RetryOutcome<typename detail::attempt_result_t<F>::value_type> {
  using R = detail::attempt_result_t<F>;
  detail::RetryState state(policy, options);
  for (;;) {
    if (state.guarded()) {
      if (std::optional<Error> refused = state.admit()) {
        return {std::unexpected(std::move(*refused)), state.report()};
      }
    }
    R r = detail::invoke_attempt(f, state.begin_attempt());
    if (r.has_value()) {
      state.on_success();
      return {std::move(r), state.report()};
    }
    Error error = std::move(r).error();
    std::optional<Duration> delay = state.on_failure(error);
    if (!delay || !state.sleep(*delay, error)) {
      return {std::unexpected(std::move(error)), state.report()};
    }
  }
}

// Maps an exception to an Error. Default: rebound::Exception keeps its Error;
// anything else is `permanent` (unknown exceptions are never retried blindly).
using ExceptionClassifier = std::function<Error(const std::exception_ptr&)>;
[[nodiscard]] Error classify_exception(const std::exception_ptr& e);

// Adapter for callables that throw. Returns f's value; on give-up rethrows the
// last exception f threw (original type), after filling *report if given.
template <class F>
auto retry_throwing(const RetryPolicy& policy, F&& f, RetryOptions options = {},
                    const ExceptionClassifier& classify = classify_exception,
                    RetryReport* report = nullptr) {
  using T = std::remove_cvref_t<decltype(detail::invoke_attempt(f, Attempt{}))>;
  using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  std::exception_ptr last;
  auto out = retry(
      policy,
      [&](const Attempt& a) -> Result<Stored> {
        try {
          if constexpr (std::is_void_v<T>) {
            detail::invoke_attempt(f, a);
            return Stored{};
          } else {
            return detail::invoke_attempt(f, a);
          }
        } catch (...) {
          last = std::current_exception();
          return std::unexpected(classify(last));
        }
      },
      options);
  if (report) *report = out.report;
  if (!out.value) std::rethrow_exception(last);
  if constexpr (!std::is_void_v<T>) return std::move(*out.value);
}

}  // namespace rebound
