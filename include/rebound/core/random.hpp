// Rng — a small, fast, seedable random generator for jitter.
//
//   rebound::Rng rng{42};
//   double u = rng.uniform01();           // [0, 1)
//
// SplitMix64 (Steele, Lea, Flood 2014): 8 bytes of state, so every retry loop
// and every backoff clone can own a generator instead of sharing one locked
// generator across threads (an anti-pattern: contention plus correlated
// jitter). It satisfies std::uniform_random_bit_generator, so <random>
// distributions work with it too.
//
// Thread safety: one thread at a time per object.
#pragma once

#include <cstdint>
#include <limits>

namespace rebound {

class Rng {
 public:
  using result_type = std::uint64_t;

  constexpr explicit Rng(std::uint64_t seed) noexcept : state_(seed) {}

  // A generator seeded from a process-wide entropy source (std::random_device
  // once, then a per-call counter mixed in), for production defaults.
  [[nodiscard]] static Rng from_entropy() noexcept;

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

  constexpr result_type operator()() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform double in [0, 1) with 53 bits of randomness.
  constexpr double uniform01() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  // Uniform double in [lo, hi).
  constexpr double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform01(); }

  // A new generator for a child (a clone of a policy, a thread): derived from
  // this stream so children never share a sequence.
  constexpr Rng split() noexcept { return Rng{(*this)()}; }

 private:
  std::uint64_t state_;
};

}  // namespace rebound
