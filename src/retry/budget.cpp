#include "rebound/retry/budget.hpp"

#include <cmath>
#include <string>

namespace rebound {
namespace {

std::int64_t to_milli(double tokens) {
  return static_cast<std::int64_t>(std::llround(tokens * 1000));
}

}  // namespace

Result<std::shared_ptr<RetryBudget>> RetryBudget::make(RetryBudgetOptions options) {
  auto bad = [](std::string field, double value, std::string_view rule) {
    return fail(Error::permanent("invalid retry budget: " + field + " = " + std::to_string(value) +
                                 " (" + std::string(rule) + ")"));
  };
  if (!(options.max_tokens > 0) || options.max_tokens > 1e12) {
    return bad("max_tokens", options.max_tokens, "must be in (0, 1e12]");
  }
  if (!(options.retry_cost > 0) || options.retry_cost > options.max_tokens) {
    return bad("retry_cost", options.retry_cost, "must be in (0, max_tokens]");
  }
  if (!(options.success_refund >= 0) || options.success_refund > options.max_tokens) {
    return bad("success_refund", options.success_refund, "must be in [0, max_tokens]");
  }
  if (options.min_tokens > options.max_tokens || std::isnan(options.min_tokens)) {
    return bad("min_tokens", options.min_tokens,
               "must be <= max_tokens (negative: half of max_tokens)");
  }
  return std::make_shared<RetryBudget>(options);
}

RetryBudget::RetryBudget(RetryBudgetOptions options) noexcept
    : options_(options),
      max_(to_milli(options.max_tokens)),
      cost_(to_milli(options.retry_cost)),
      refund_(to_milli(options.success_refund)),
      floor_(options.min_tokens < 0 ? max_ / 2 : to_milli(options.min_tokens)),
      balance_(max_) {}

bool RetryBudget::try_spend() noexcept {
  std::int64_t current = balance_.load(std::memory_order_relaxed);
  do {
    if (current - cost_ < floor_) {
      denied_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  } while (!balance_.compare_exchange_weak(current, current - cost_, std::memory_order_relaxed));
  allowed_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void RetryBudget::on_success() noexcept {
  if (refund_ == 0) return;
  std::int64_t current = balance_.load(std::memory_order_relaxed);
  while (current < max_) {
    const std::int64_t next = std::min(max_, current + refund_);
    if (balance_.compare_exchange_weak(current, next, std::memory_order_relaxed)) return;
  }
}

double RetryBudget::tokens() const noexcept {
  return static_cast<double>(balance_.load(std::memory_order_relaxed)) / kScale;
}

}  // namespace rebound
