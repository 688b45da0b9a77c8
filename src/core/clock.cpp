#include "rebound/core/clock.hpp"

#include <time.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace rebound {
namespace {

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::now();
  }
};

class CoarseSteadyClock final : public Clock {
 public:
  TimePoint now() const override {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return TimePoint{std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec}};
  }
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::now();
  }
};

class ThreadSleeper final : public Sleeper {
 public:
  void sleep_for(Duration d) override {
    if (d > Duration::zero()) std::this_thread::sleep_for(d);
  }
  bool sleep_interruptible(Duration d, std::stop_token stop) override {
    if (stop.stop_requested()) return false;
    if (!stop.stop_possible()) {
      sleep_for(d);
      return true;
    }
    // condition_variable_any registers a stop callback that notifies it, so
    // request_stop() ends the wait at once. The predicate is "stopped":
    // nothing else ever notifies this local condition variable.
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    (void)cv.wait_for(lock, stop, d, [] { return false; });
    return !stop.stop_requested();
  }
};

}  // namespace

Clock& steady_clock() noexcept {
  static SteadyClock clock;
  return clock;
}

Clock& coarse_steady_clock() noexcept {
  static CoarseSteadyClock clock;
  return clock;
}

Sleeper& real_sleeper() noexcept {
  static ThreadSleeper sleeper;
  return sleeper;
}

}  // namespace rebound
