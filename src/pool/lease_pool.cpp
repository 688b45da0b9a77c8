// Non-template parts of LeasePool: option validation and the pool's own
// error messages (kept here so every instantiation words them the same way).
#include <time.h>

#include <chrono>
#include <string>

#include "rebound/pool/lease_pool.hpp"
#include "rebound/pool/pool_stats.hpp"

namespace rebound::pool {
namespace {

constexpr std::string_view kSource = "pool";

long long to_ms(Duration d) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

std::string quoted(std::string_view name) { return "pool \"" + std::string(name) + "\""; }

Error pool_error(ErrorClass c, PoolFailure f, std::string message) {
  return Error::make(c, std::move(message), std::string(kSource), std::string(to_string(f)))
      .with_reason(f);
}

}  // namespace

std::string_view to_string(PoolFailure f) noexcept {
  switch (f) {
    case PoolFailure::timeout:
      return "timeout";
    case PoolFailure::overflow:
      return "overflow";
    case PoolFailure::broken:
      return "broken";
    case PoolFailure::closed:
      return "closed";
  }
  return "unknown";
}

std::optional<PoolFailure> pool_failure(const Error& e) noexcept {
  return e.reason.as<PoolFailure>();
}

namespace detail {

Clock& coarse_clock() noexcept { return coarse_steady_clock(); }

Status validate_options(const LeasePoolOptions& o, bool has_create) {
  auto bad = [&](std::string what) {
    return fail(Error::permanent(quoted(o.name) + ": " + std::move(what)));
  };
  if (o.name.empty()) return fail(Error::permanent("pool name must not be empty"));
  if (!has_create) return bad("the create hook is required");
  if (o.max_size == 0) return bad("max_size must be at least 1 (got 0)");
  auto negative = [](Duration d) { return d < Duration::zero(); };
  if (negative(o.acquire_timeout))
    return bad("acquire_timeout must not be negative (got " +
               std::to_string(to_ms(o.acquire_timeout)) + " ms)");
  if (negative(o.validate_after_idle))
    return bad("validate_after_idle must not be negative (got " +
               std::to_string(to_ms(o.validate_after_idle)) + " ms)");
  if (o.max_lifetime <= Duration::zero())
    return bad("max_lifetime must be positive (got " + std::to_string(to_ms(o.max_lifetime)) +
               " ms)");
  if (o.leak_threshold <= Duration::zero())
    return bad("leak_threshold must be positive (got " + std::to_string(to_ms(o.leak_threshold)) +
               " ms)");
  return {};
}

Error timeout_error(const LeasePoolOptions& o, Duration waited) {
  return pool_error(ErrorClass::transient, PoolFailure::timeout,
                    quoted(o.name) + " exhausted: all " + std::to_string(o.max_size) +
                        " connections in use for " + std::to_string(to_ms(o.acquire_timeout)) +
                        " ms (waited " + std::to_string(to_ms(waited)) +
                        " ms); raise max_size or release leases sooner");
}

Error overflow_error(const LeasePoolOptions& o, std::size_t waiting) {
  return pool_error(ErrorClass::transient, PoolFailure::overflow,
                    quoted(o.name) + " overflow: " + std::to_string(waiting) +
                        " threads already waiting (max_waiters " + std::to_string(o.max_waiters) +
                        ") for " + std::to_string(o.max_size) +
                        " connections; raise max_size or max_waiters, or shed load");
}

Error closed_error(const LeasePoolOptions& o) {
  return pool_error(ErrorClass::permanent, PoolFailure::closed,
                    quoted(o.name) + " is closed; no new leases");
}

Error broken_error(const LeasePoolOptions& o, std::string_view why) {
  return pool_error(ErrorClass::transient, PoolFailure::broken,
                    quoted(o.name) + ": " + std::string(why));
}

}  // namespace detail
}  // namespace rebound::pool
