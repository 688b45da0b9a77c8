#include "rebound/retry/budget.hpp"

#include <cmath>
#include <string>

#include "rebound/retry/classify.hpp"

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
  if (options.timeout_cost > options.max_tokens || std::isnan(options.timeout_cost)) {
    return bad("timeout_cost", options.timeout_cost,
               "must be <= max_tokens (negative: twice retry_cost)");
  }
  for (std::size_t i = 0; i < kErrorClassCount; ++i) {
    const double c = options.class_cost[i];
    if (!(c >= 0) || c > options.max_tokens) {
      return bad("class_cost[" + std::string(to_string(static_cast<ErrorClass>(i))) + "]", c,
                 "must be in [0, max_tokens]; 0 means retry_cost");
    }
  }
  return std::make_shared<RetryBudget>(options);
}

RetryBudget::RetryBudget(RetryBudgetOptions options) noexcept
    : options_(options),
      max_(to_milli(options.max_tokens)),
      cost_(to_milli(options.retry_cost)),
      refund_(to_milli(options.success_refund)),
      floor_(options.min_tokens < 0 ? max_ / 2 : to_milli(options.min_tokens)),
      timeout_cost_(options.timeout_cost < 0 ? 2 * cost_ : to_milli(options.timeout_cost)),
      balance_(max_) {
  for (std::size_t i = 0; i < kErrorClassCount; ++i) {
    class_cost_[i] = options.class_cost[i] > 0 ? to_milli(options.class_cost[i]) : cost_;
  }
}

bool RetryBudget::try_spend() noexcept { return spend(cost_); }

bool RetryBudget::try_spend(const Error& failure) noexcept { return spend(milli_cost_of(failure)); }

std::int64_t RetryBudget::milli_cost_of(const Error& failure) const noexcept {
  if (classify::is_timeout(failure)) return timeout_cost_;
  const auto i = static_cast<std::size_t>(failure.error_class);
  return i < kErrorClassCount ? class_cost_[i] : cost_;
}

double RetryBudget::cost_of(const Error& failure) const noexcept {
  return static_cast<double>(milli_cost_of(failure)) / kScale;
}

bool RetryBudget::spend(std::int64_t cost) noexcept {
  std::int64_t current = balance_.load(std::memory_order_relaxed);
  do {
    if (current - cost < floor_) {
      denied_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  } while (!balance_.compare_exchange_weak(current, current - cost, std::memory_order_relaxed));
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
