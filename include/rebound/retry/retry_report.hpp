// RetryReport — what one retry() call did: how many attempts, which error
// classes failed how often, how long it slept, and why it stopped
// (GiveUpReason). RetryOutcome<T> is retry()'s return: the callable's last
// Result<T> together with that report.
//
//   auto out = rebound::retry(policy, [&] { return fetch(url); });
//   if (!out && out.report.gave_up == rebound::GiveUpReason::deadline) { /* too slow */ }
//   metrics.add("retries", out.report.retries());          // attempts - 1
//   metrics.add("conflicts", out.report.failures_of(rebound::ErrorClass::serialization_conflict));
//
// The report is filled on every path, success or give-up; `slept` counts only
// the time the loop's own sleeper was asked to wait (or, for an interrupted
// sleep, the part that passed), `elapsed` the injected clock's time from the
// first attempt to the end.
//
// Thread safety: plain values; copy freely, one thread at a time per object.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"

namespace rebound {

// Why retry() stopped.
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

// "none", "not_retriable", … (the enumerator's name); "unknown" out of range.
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

// retry()'s result: the callable's value (or the final error) and the report.
template <class T>
struct RetryOutcome {
  Result<T> value;
  RetryReport report;

  explicit operator bool() const noexcept { return value.has_value(); }
  [[nodiscard]] const Error& error() const { return value.error(); }
};

}  // namespace rebound
