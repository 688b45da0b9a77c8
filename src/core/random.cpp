#include "rebound/core/random.hpp"

#include <atomic>
#include <random>

namespace rebound {

Rng Rng::from_entropy() noexcept {
  // One random_device read per process (it can be a syscall), then a counter:
  // every generator gets its own stream without touching the device again, and
  // no generator is shared (or locked) across threads.
  static const std::uint64_t process_seed = [] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }();
  static std::atomic<std::uint64_t> counter{0};
  Rng mixer{process_seed + counter.fetch_add(1, std::memory_order_relaxed) * 0x632be59bd9b4e019ULL};
  return Rng{mixer()};
}

}  // namespace rebound
