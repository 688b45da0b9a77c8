// RecordingSleeper — a Sleeper that returns at once and records every sleep,
// for tests where many threads sleep on the real clock's timeline (a shared
// FakeClock would add all their sleeps to one time line).
//
//   rebound::testing::RecordingSleeper sleeper;
//   auto client = rebound::http::Client::make({.sleeper = &sleeper}).value();
//   ... 32 threads get "Retry-After: 30" ...
//   sleeper.sleeps();   // 32 delays in [30 s, 45 s), spread out
//
// An interruptible sleep whose stop was already requested records nothing
// and returns false, as the real sleeper would wake at once.
//
// Thread safety: thread-safe.
#pragma once

#include <mutex>
#include <stop_token>
#include <vector>

#include "rebound/core/clock.hpp"

namespace rebound::testing {

class RecordingSleeper final : public Sleeper {
 public:
  void sleep_for(Duration d) override {
    std::lock_guard lock(mu_);
    sleeps_.push_back(d);
  }
  bool sleep_interruptible(Duration d, std::stop_token stop) override {
    if (stop.stop_requested()) return false;
    sleep_for(d);
    return true;
  }
  [[nodiscard]] std::vector<Duration> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Duration> sleeps_;
};

}  // namespace rebound::testing
