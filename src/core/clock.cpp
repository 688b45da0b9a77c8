#include "rebound/core/clock.hpp"

#include <time.h>

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
