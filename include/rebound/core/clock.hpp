// Clock and Sleeper — injected time, so retry logic never calls now() or sleeps
// directly and tests run in zero wall time.
//
//   rebound::Clock& clock = rebound::steady_clock();   // real default
//   auto t0 = clock.now();
//   rebound::real_sleeper().sleep_for(10ms);
//   bool full = rebound::real_sleeper().sleep_interruptible(5s, stop_source.get_token());
//
// Tests use rebound::testing::FakeClock, whose sleeper advances the clock
// instead of blocking.
//
// Thread safety: the real clock and sleeper are thread-safe and stateless.
// Implementations must be thread-safe when shared across threads.
#pragma once

#include <chrono>
#include <stop_token>

namespace rebound {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time; intervals and deadlines are measured with it.
  [[nodiscard]] virtual TimePoint now() const = 0;
  // Wall time, only to interpret HTTP-date Retry-After values.
  [[nodiscard]] virtual std::chrono::system_clock::time_point wall_now() const = 0;
};

class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void sleep_for(Duration d) = 0;
  // Sleeps `d` or until `stop` is requested, whichever comes first. Returns
  // true when the whole duration passed and no stop was requested, false
  // when stopped (at once if the stop was requested before the call). The
  // real sleeper wakes within microseconds of request_stop(); this default,
  // for sleepers that never block (fakes), sleeps the whole duration first.
  virtual bool sleep_interruptible(Duration d, std::stop_token stop) {
    if (stop.stop_requested()) return false;
    sleep_for(d);
    return !stop.stop_requested();
  }
};

// Process-wide real implementations (function-local statics: no static init order issues).
[[nodiscard]] Clock& steady_clock() noexcept;
// CLOCK_MONOTONIC_COARSE: the same timeline as steady_clock() at the
// resolution of the kernel tick (1-4 ms), for a quarter of the cost. The
// default for bookkeeping that only needs milliseconds: retry deadlines,
// connection ages.
[[nodiscard]] Clock& coarse_steady_clock() noexcept;
[[nodiscard]] Sleeper& real_sleeper() noexcept;

}  // namespace rebound
