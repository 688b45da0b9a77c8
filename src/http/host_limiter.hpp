// Private: caps the requests in flight to one host:port (ClientOptions::max_per_host).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"

namespace rebound::http::detail {

class HostLimiter {
 public:
  explicit HostLimiter(std::size_t max_per_host) : max_(max_per_host) {}

  class Slot {
   public:
    Slot() = default;
    Slot(HostLimiter* owner, std::string host) : owner_(owner), host_(std::move(host)) {}
    Slot(Slot&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), host_(std::move(other.host_)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (owner_ != nullptr) owner_->release(host_);
    }

   private:
    HostLimiter* owner_ = nullptr;
    std::string host_;
  };

  // Waits (real time) up to `timeout` for a slot; a transient Error naming
  // the host and the limit when none frees up.
  [[nodiscard]] Result<Slot> acquire(const std::string& host, Duration timeout);

 private:
  void release(const std::string& host);
  std::size_t max_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::unordered_map<std::string, std::size_t> in_flight_;
};

}  // namespace rebound::http::detail
