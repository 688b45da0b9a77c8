// FakeClock — a Clock and Sleeper for tests: sleeping advances time instantly
// and is recorded, so retry tests run in zero wall time and can assert the
// exact sequence of delays.
//
//   rebound::testing::FakeClock clock;
//   auto out = rebound::retry(policy, f, {.clock = &clock, .sleeper = &clock, .seed = 1});
//   EXPECT_EQ(clock.sleeps(), (std::vector<rebound::Duration>{100ms, 240ms}));
//
// Cancellation: sleep_interruptible() records and advances like sleep_for(),
// but a stop scheduled with stop_at(t, source) ends a sleep exactly at t (the
// partial sleep is recorded, the source is stopped), so a test can assert
// that a loop stopped within one tick of the request, in zero wall time.
//
// Thread safety: thread-safe (a mutex guards time and the record), so it can
// stand in for the real clock in multi-threaded tests.
#pragma once

#include <algorithm>
#include <mutex>
#include <optional>
#include <stop_token>
#include <vector>

#include "rebound/core/clock.hpp"

namespace rebound::testing {

class FakeClock final : public Clock, public Sleeper {
 public:
  FakeClock() = default;

  [[nodiscard]] TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  [[nodiscard]] std::chrono::system_clock::time_point wall_now() const override {
    std::lock_guard lock(mu_);
    return wall_epoch_ + (now_ - TimePoint{});
  }
  void sleep_for(Duration d) override {
    std::lock_guard lock(mu_);
    sleeps_.push_back(d);
    now_ += d;
  }
  bool sleep_interruptible(Duration d, std::stop_token stop) override {
    std::optional<std::stop_source> fire;
    {
      std::lock_guard lock(mu_);
      if (stop.stop_requested()) return false;
      if (!stop_at_ || now_ + d < *stop_at_) {
        sleeps_.push_back(d);
        now_ += d;
        return true;
      }
      const Duration partial = std::max(Duration::zero(), *stop_at_ - now_);
      sleeps_.push_back(partial);
      now_ += partial;
      stop_at_.reset();
      fire = std::move(stop_source_);
    }
    fire->request_stop();  // outside the lock: stop callbacks may read the clock
    return !stop.stop_requested();
  }
  // The next interruptible sleep that would reach `at` ends there and calls
  // source.request_stop() (as another thread would at that instant).
  void stop_at(TimePoint at, std::stop_source source) {
    std::lock_guard lock(mu_);
    stop_at_ = at;
    stop_source_ = std::move(source);
  }
  // Moves time forward without recording a sleep (time spent "working").
  void advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  // Sets the wall time that corresponds to the current monotonic time.
  void set_wall(std::chrono::system_clock::time_point wall) {
    std::lock_guard lock(mu_);
    wall_epoch_ = wall - (now_ - TimePoint{});
  }
  [[nodiscard]] std::vector<Duration> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }
  [[nodiscard]] Duration total_slept() const {
    std::lock_guard lock(mu_);
    Duration total{};
    for (Duration d : sleeps_) total += d;
    return total;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_{std::chrono::hours{1}};
  std::chrono::system_clock::time_point wall_epoch_{
      std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};
  std::vector<Duration> sleeps_;
  std::optional<TimePoint> stop_at_;
  std::optional<std::stop_source> stop_source_;
};

}  // namespace rebound::testing
