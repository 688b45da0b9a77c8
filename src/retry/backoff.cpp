#include "rebound/retry/backoff.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace rebound {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

double ns(Duration d) noexcept { return static_cast<double>(d.count()); }

// Converts a delay in nanoseconds back to a Duration, saturating at `cap`:
// NaN and infinities (2^t for a large t) become the cap, negatives become 0.
Duration clamp_to(double value_ns, Duration cap) noexcept {
  const double cap_ns = ns(cap);
  if (!(value_ns < cap_ns)) return cap;  // also catches NaN
  if (value_ns <= 0) return Duration::zero();
  return Duration{static_cast<Duration::rep>(value_ns)};
}

// min(cap, initial * multiplier^n) in nanoseconds, without overflow: pow()
// saturates to +inf, and min() then picks the cap.
double exponential_ns(Duration initial, Duration maximum, double multiplier, int n) noexcept {
  return std::min(ns(maximum), ns(initial) * std::pow(multiplier, n));
}

// Polly's DecorrelatedJitterBackoffV2 shape: f(t) = 2^t * tanh(sqrt(p * t)).
constexpr double kPollyP = 4.0;
// The first delay is f(u), u uniform[0,1), and f is increasing, so its median
// is f(0.5) = sqrt(2) * tanh(sqrt(2)) = 1.2564. Polly scales by 1/1.4, which
// puts the real median at 0.9x the requested one; we divide by f(0.5) so
// `median_first` means exactly what it says.
constexpr double kPollyScale = 1.0 / 1.2563669098108798;  // 1 / f(0.5)
// From about step 1000 on, 2^t leaves the range of double; every delay that
// far along is far above any representable cap, so return the cap directly.
constexpr int kPollyMaxStep = 1000;

// Indexed by BackoffKind: the short names, then the enumerators' own names.
constexpr std::array<std::string_view, 6> kShortNames = {"constant", "exponential",  "full",
                                                         "equal",    "decorrelated", "smooth"};
constexpr std::array<std::string_view, 6> kLongNames = {
    "constant",     "exponential",         "full_jitter",
    "equal_jitter", "decorrelated_jitter", "smooth_decorrelated_jitter"};

}  // namespace

std::string_view to_string(BackoffKind kind) noexcept {
  const auto i = static_cast<std::size_t>(kind);
  return i < kShortNames.size() ? kShortNames[i] : std::string_view{"unknown"};
}

std::optional<BackoffKind> parse_backoff_kind(std::string_view name) noexcept {
  if (name == "none") return BackoffKind::constant;  // the old name, still accepted
  for (std::size_t i = 0; i < kShortNames.size(); ++i) {
    if (kShortNames[i] == name || kLongNames[i] == name) return static_cast<BackoffKind>(i);
  }
  return std::nullopt;
}

BackoffStrategy make_strategy(BackoffKind kind, Duration initial, Duration maximum,
                              double multiplier) {
  switch (kind) {
    case BackoffKind::constant:
      return Constant{.delay = initial};
    case BackoffKind::exponential:
      return Exponential{.initial = initial, .maximum = maximum, .multiplier = multiplier};
    case BackoffKind::full_jitter:
      return FullJitter{.initial = initial, .maximum = maximum, .multiplier = multiplier};
    case BackoffKind::equal_jitter:
      return EqualJitter{.initial = initial, .maximum = maximum, .multiplier = multiplier};
    case BackoffKind::decorrelated_jitter:
      return DecorrelatedJitter{.base = initial, .cap = maximum};
    case BackoffKind::smooth_decorrelated_jitter:
      return SmoothDecorrelatedJitter{.median_first = initial, .cap = maximum};
  }
  return DecorrelatedJitter{.base = initial, .cap = maximum};
}

Duration cap_of(const BackoffStrategy& s) noexcept {
  return std::visit(Overloaded{
                        [](const Constant& c) { return c.delay; },
                        [](const Exponential& e) { return e.maximum; },
                        [](const FullJitter& e) { return e.maximum; },
                        [](const EqualJitter& e) { return e.maximum; },
                        [](const DecorrelatedJitter& d) { return d.cap; },
                        [](const SmoothDecorrelatedJitter& d) { return d.cap; },
                    },
                    s);
}

Duration Backoff::next() noexcept {
  const int n = retries_++;
  return std::visit(
      Overloaded{
          [](const Constant& c) { return c.delay; },
          [n](const Exponential& e) {
            return clamp_to(exponential_ns(e.initial, e.maximum, e.multiplier, n), e.maximum);
          },
          [&](const FullJitter& e) {
            const double top = exponential_ns(e.initial, e.maximum, e.multiplier, n);
            return clamp_to(rng_.uniform(0, top), e.maximum);
          },
          [&](const EqualJitter& e) {
            const double half = exponential_ns(e.initial, e.maximum, e.multiplier, n) / 2;
            return clamp_to(half + rng_.uniform(0, half), e.maximum);
          },
          [&](const DecorrelatedJitter& d) {
            // AWS: sleep = min(cap, random_between(base, sleep * 3)), sleep starts at base.
            const double previous = n == 0 ? ns(d.base) : previous_ns_;
            const double upper = std::max(ns(d.base), previous * 3);
            const Duration delay = clamp_to(rng_.uniform(ns(d.base), upper), d.cap);
            previous_ns_ = ns(delay);
            return delay;
          },
          [&](const SmoothDecorrelatedJitter& d) {
            if (n >= kPollyMaxStep) return d.cap;
            const double t = n + rng_.uniform01();
            const double formula = std::pow(2.0, t) * std::tanh(std::sqrt(kPollyP * t));
            const double increment = formula - previous_formula_;
            previous_formula_ = formula;
            return clamp_to(increment * kPollyScale * ns(d.median_first), d.cap);
          },
      },
      strategy_);
}

}  // namespace rebound
