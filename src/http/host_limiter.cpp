#include "host_limiter.hpp"

#include <chrono>

namespace rebound::http::detail {

Result<HostLimiter::Slot> HostLimiter::acquire(const std::string& host, Duration timeout) {
  std::unique_lock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!freed_.wait_until(lock, deadline, [&] { return in_flight_[host] < max_; })) {
    return fail(Error::make(ErrorClass::transient,
                            "too many requests in flight to " + host +
                                " (max_per_host = " + std::to_string(max_) +
                                "); raise ClientOptions.max_per_host or send fewer at once",
                            "http", "host_limit"));
  }
  ++in_flight_[host];
  return Slot(this, host);
}

void HostLimiter::release(const std::string& host) {
  {
    std::lock_guard lock(mu_);
    if (auto it = in_flight_.find(host); it != in_flight_.end() && --it->second == 0)
      in_flight_.erase(it);
  }
  freed_.notify_all();
}

}  // namespace rebound::http::detail
