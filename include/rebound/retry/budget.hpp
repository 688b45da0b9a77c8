// RetryBudget — a token bucket shared by many retry loops so a failing back end
// is not hit by a storm of retries (gRPC retry throttling, AWS retry quota).
//
//   auto budget = rebound::RetryBudget::make({.max_tokens = 100, .retry_cost = 1,
//                                             .success_refund = 0.1}).value();
//   RetryPolicy p = policies::serialization();
//   p.budget = budget;               // every loop using p draws from the bucket
//
// Semantics: the bucket starts full. Every retry costs `retry_cost` tokens
// and is allowed only while the balance after paying stays at or above
// `min_tokens` (gRPC: half the bucket). Every successful call refunds
// `success_refund` tokens, up to `max_tokens`. With the defaults, a back end
// that fails everything sees at most 50 retries from the whole process before
// retries stop, and each 10 successes buy one retry back: retries are capped at
// roughly 10% of calls in a steady state.
//
// Per-class costs (AWS SDK retry quota): a retry after a timeout costs
// `timeout_cost` (default twice retry_cost: a timeout held a server slot for
// the whole attempt), and `class_cost` can price any class differently;
// try_spend(error) picks the price. RetryBudgetOptions::aws() is the AWS SDKs'
// quota: 500 tokens, 5 per retry, 10 per timeout, 1 back per success, retries
// until the bucket is empty.
//
// Thread safety: thread-safe; lock-free (one atomic, CAS loop).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "rebound/core/error.hpp"

namespace rebound {

struct RetryBudgetOptions {
  double max_tokens = 100;
  double retry_cost = 1;
  double success_refund = 0.1;
  // Retries stop when paying would drop the balance below this. Default: half.
  double min_tokens = -1;  // < 0 means max_tokens / 2
  // Cost of a retry after a timeout (classify::is_timeout); < 0 means 2 * retry_cost.
  double timeout_cost = -1;
  // Cost of a retry per ErrorClass (indexed by the enum); 0 means retry_cost.
  std::array<double, kErrorClassCount> class_cost{};

  // The AWS SDKs' retry quota: 500 tokens, 5 per retry, 10 per timeout,
  // 1 refunded per success, no floor.
  [[nodiscard]] static RetryBudgetOptions aws() noexcept {
    return {.max_tokens = 500,
            .retry_cost = 5,
            .success_refund = 1,
            .min_tokens = 0,
            .timeout_cost = 10};
  }
};

class RetryBudget {
 public:
  // Validates options: max_tokens > 0, retry_cost > 0, success_refund >= 0,
  // min_tokens within [0, max_tokens]. Returns a permanent Error naming the field otherwise.
  [[nodiscard]] static Result<std::shared_ptr<RetryBudget>> make(RetryBudgetOptions options);

  // Pays for one retry. Returns false (and pays nothing) when the budget is exhausted.
  [[nodiscard]] bool try_spend() noexcept;
  // Pays for a retry after `failure` at its price (timeout_cost, class_cost,
  // else retry_cost). Returns false (and pays nothing) when exhausted.
  [[nodiscard]] bool try_spend(const Error& failure) noexcept;
  // The price try_spend(failure) would charge, in tokens.
  [[nodiscard]] double cost_of(const Error& failure) const noexcept;

  // Records a successful call: refunds success_refund tokens (capped).
  void on_success() noexcept;

  [[nodiscard]] double tokens() const noexcept;
  [[nodiscard]] std::uint64_t retries_allowed() const noexcept {
    return allowed_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t retries_denied() const noexcept {
    return denied_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] const RetryBudgetOptions& options() const noexcept { return options_; }

  explicit RetryBudget(RetryBudgetOptions options) noexcept;  // prefer make()

 private:
  // Balance in millitokens, so fractional refunds are exact integer adds.
  static constexpr std::int64_t kScale = 1000;
  RetryBudgetOptions options_;
  [[nodiscard]] bool spend(std::int64_t cost) noexcept;
  [[nodiscard]] std::int64_t milli_cost_of(const Error& failure) const noexcept;
  std::int64_t max_ = 0, cost_ = 0, refund_ = 0, floor_ = 0, timeout_cost_ = 0;
  std::array<std::int64_t, kErrorClassCount> class_cost_{};
  std::atomic<std::int64_t> balance_{0};
  std::atomic<std::uint64_t> allowed_{0}, denied_{0};
};

}  // namespace rebound
