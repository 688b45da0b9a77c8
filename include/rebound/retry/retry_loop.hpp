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
// Thread safety: retry() is reentrant; each call owns its state. The policy
// is read-only; its budget and on_retry hook must be thread-safe (they are
// shared by every concurrent call).
#pragma once

#include <array>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"
#include "rebound/retry/backoff.hpp"
#include "rebound/retry/policy.hpp"

namespace rebound {

enum class GiveUpReason : std::uint8_t {
  none,              // succeeded
  not_retriable,     // the class is not retried by this policy
  class_limit,       // the class reached its ClassRule::max_attempts
  attempt_limit,     // RetryPolicy::max_attempts reached
  deadline,          // the next sleep would pass the deadline
  budget_exhausted,  // the shared RetryBudget refused
  cancelled,         // options.stop was requested
  circuit_open,      // the policy's circuit breaker refused the attempt
  send_rate,         // the policy's rate limiter refused (wait over its max_wait)
};

[[nodiscard]] std::string_view to_string(GiveUpReason r) noexcept;

struct RetryReport {
  int attempts = 0;
  std::array<int, kErrorClassCount> failures{};  // per ErrorClass
  Duration slept{};
  Duration elapsed{};
  GiveUpReason gave_up = GiveUpReason::none;

  [[nodiscard]] int failures_of(ErrorClass c) const noexcept {
    return failures[static_cast<std::size_t>(c)];
  }
  [[nodiscard]] int retries() const noexcept { return attempts > 0 ? attempts - 1 : 0; }
};

// What the callable learns about the attempt it is running.
struct Attempt {
  int number = 1;  // 1-based
  // The time this attempt may take: min(attempt_timeout, time to the
  // deadline), when the policy sets an attempt timeout; nullopt otherwise.
  std::optional<Duration> time_left;
};

struct RetryOptions {
  std::string_view operation = {};    // "merging into stats.box" — used in give-up messages
  Clock* clock = nullptr;             // default: coarse_steady_clock(), ms resolution
  Sleeper* sleeper = nullptr;         // default: real_sleeper()
  std::optional<std::uint64_t> seed;  // jitter seed; default: fresh entropy per call
  std::stop_token stop = {};          // cancels the loop: checked between attempts, ends sleeps
};

template <class T>
struct RetryOutcome {
  Result<T> value;
  RetryReport report;

  explicit operator bool() const noexcept { return value.has_value(); }
  [[nodiscard]] const Error& error() const { return value.error(); }
};

namespace detail {

// The non-template engine: every decision of the loop lives here, so the
// template below is only "call, ask, sleep".
class RetryState {
 public:
  RetryState(const RetryPolicy& policy, const RetryOptions& options) noexcept;

  // True when admit() has anything to check (a stop token, a breaker, a limiter).
  [[nodiscard]] bool guarded() const noexcept { return guarded_; }
  // Before an attempt: the stop token, the rate limiter (may sleep), the
  // circuit breaker. Returns the error that ends the loop, or nullopt to go on.
  [[nodiscard]] std::optional<Error> admit();
  [[nodiscard]] Attempt begin_attempt() noexcept;
  void on_success() noexcept;
  // Returns the delay to sleep before the next attempt, or nullopt to give
  // up (then `error` has been rewritten into the final error).
  [[nodiscard]] std::optional<Duration> on_failure(Error& error);
  // Sleeps (interruptibly when a stop token is set). Returns false when
  // cancelled; then `error` has been rewritten into the final error.
  [[nodiscard]] bool sleep(Duration d, Error& error);
  [[nodiscard]] const RetryReport& report() const noexcept { return report_; }

 private:
  [[nodiscard]] Backoff& backoff_for(std::size_t rule_index);
  [[nodiscard]] Rng& rng();
  [[nodiscard]] Sleeper& sleeper() const noexcept;
  void give_up(GiveUpReason why, Error& error);
  [[nodiscard]] Error refused(GiveUpReason why, Error error);
  [[nodiscard]] Error cancelled(std::string what);

  const RetryPolicy& policy_;
  const RetryOptions& options_;  // the caller's, alive for the whole loop: no stop_token copy
  Clock* clock_;
  TimePoint start_;
  RetryReport report_;
  std::optional<Rng> rng_;                        // seeded lazily: the success path never pays
  std::optional<Rng> pushback_rng_;               // split off rng_ on the first hint
  std::vector<std::optional<Backoff>> backoffs_;  // one per rule, created on first use
  bool guarded_ = false;
  CircuitPermit permit_{};
};

template <class F>
decltype(auto) invoke_attempt(F& f, const Attempt& a) {
  if constexpr (std::is_invocable_v<F&, const Attempt&>) {
    return f(a);
  } else {
    return f();
  }
}

template <class F>
using attempt_result_t =
    std::remove_cvref_t<decltype(invoke_attempt(std::declval<F&>(), Attempt{}))>;

}  // namespace detail

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
