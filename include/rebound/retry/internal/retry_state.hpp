// detail::RetryState — the non-template engine behind retry(): every
// decision of the loop (admission, per-class limits, backoff, Retry-After,
// deadline, budget, cancellation, give-up messages) lives here, so the
// retry() template is only "call, ask, sleep". Internal: included by
// retry_loop.hpp and by loops that drive the engine themselves (the async
// HTTP client runs one per transfer from its event thread). Not an API;
// it may change with any release.
//
//   rebound::detail::RetryState state(policy, options);  // both must outlive it
//   for (;;) {
//     if (state.guarded()) {
//       if (std::optional<Error> refused = state.admit()) return *refused;
//     }
//     auto r = call(state.begin_attempt());
//     if (r) { state.on_success(); break; }
//     Error e = r.error();
//     auto delay = state.on_failure(e);  // nullopt: e is now the final error
//     if (!delay || !state.sleep(*delay, e)) return e;
//   }
//
// Thread safety: one thread at a time per RetryState. It refers to the
// policy and options it was made with (no copies); the policy's budget,
// breaker, limiter and on_retry hook are shared and must be thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"
#include "rebound/core/random.hpp"
#include "rebound/retry/attempt.hpp"
#include "rebound/retry/backoff.hpp"
#include "rebound/retry/policy.hpp"
#include "rebound/retry/retry_options.hpp"
#include "rebound/retry/retry_report.hpp"

namespace rebound::detail {

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

// Calls f with the attempt when it takes one, else with no argument.
template <class F>
decltype(auto) invoke_attempt(F& f, const Attempt& a) {
  if constexpr (std::is_invocable_v<F&, const Attempt&>) {
    return f(a);
  } else {
    return f();
  }
}

// The Result<T> type f returns.
template <class F>
using attempt_result_t =
    std::remove_cvref_t<decltype(invoke_attempt(std::declval<F&>(), Attempt{}))>;

}  // namespace rebound::detail
