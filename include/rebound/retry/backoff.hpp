// Backoff — how long to wait before the next retry.
//
// Each strategy is a small value type describing a distribution; Backoff pairs
// one with its own Rng and the state it needs (retry number, previous delay).
//
//   rebound::Backoff b{rebound::DecorrelatedJitter{.base = 100ms, .cap = 10s}, rebound::Rng{7}};
//   auto d1 = b.next();   // uniform(100ms, 300ms)
//   auto d2 = b.next();   // uniform(100ms, 3 * d1), capped at 10s
//
// Distributions (n = retries so far, starting at 0; exp(n) = min(cap, initial * multiplier^n)):
//   Constant            exactly `delay`.
//   Exponential         exactly exp(n). No jitter: concurrent clients stay in lock step.
//   FullJitter          uniform[0, exp(n)). Mean exp(n)/2. Best spread, may wait ~0.
//   EqualJitter         exp(n)/2 + uniform[0, exp(n)/2). Never below half the schedule.
//   DecorrelatedJitter  AWS: d0 = base; d(n) = min(cap, uniform[base, 3 * d(n-1))).
//                       Grows ~x1.5 per step on average, memory of the last delay.
//   SmoothDecorrelatedJitter
//                       Polly's DecorrelatedJitterBackoffV2 (see docs/retry.md): delay n
//                       is the increment of f(t) = 2^t * tanh(sqrt(4t)) between
//                       t = n-1+u(n-1) and t = n+u(n), u uniform[0,1), scaled so the
//                       median first delay is `median_first`; capped at `cap`.
//                       Exponential growth with jitter, but no clustering at the
//                       base or the cap and no long runs of tiny delays that plain
//                       decorrelated jitter produces.
// Arithmetic is done in double nanoseconds and clamped to the cap before it
// is converted back, so no strategy overflows however many retries it makes.
//
// Thread safety: one thread at a time per Backoff. Copy it (with a split Rng)
// to use it elsewhere.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <variant>

#include "rebound/core/clock.hpp"
#include "rebound/core/random.hpp"

namespace rebound {

struct Constant {
  Duration delay = std::chrono::seconds{1};
};
struct Exponential {
  Duration initial = std::chrono::milliseconds{100};
  Duration maximum = std::chrono::seconds{10};
  double multiplier = 2.0;
};
struct FullJitter {
  Duration initial = std::chrono::milliseconds{100};
  Duration maximum = std::chrono::seconds{10};
  double multiplier = 2.0;
};
struct EqualJitter {
  Duration initial = std::chrono::milliseconds{100};
  Duration maximum = std::chrono::seconds{10};
  double multiplier = 2.0;
};
struct DecorrelatedJitter {
  Duration base = std::chrono::milliseconds{100};
  Duration cap = std::chrono::seconds{10};
};
struct SmoothDecorrelatedJitter {
  Duration median_first = std::chrono::milliseconds{100};
  Duration cap = std::chrono::seconds{10};
};

using BackoffStrategy = std::variant<Constant, Exponential, FullJitter, EqualJitter,
                                     DecorrelatedJitter, SmoothDecorrelatedJitter>;

// The kinds of backoff, named for what they do; each builds one strategy above.
enum class BackoffKind {
  constant,                    // Constant: the same delay every time
  exponential,                 // Exponential: doubling, no jitter
  full_jitter,                 // FullJitter
  equal_jitter,                // EqualJitter
  decorrelated_jitter,         // DecorrelatedJitter
  smooth_decorrelated_jitter,  // SmoothDecorrelatedJitter
};

// The short names the CLI and JSON use: "constant", "exponential", "full",
// "equal", "decorrelated", "smooth".
[[nodiscard]] std::string_view to_string(BackoffKind kind) noexcept;
// Parses a short name, the enumerator's own name ("full_jitter"), or "none"
// (the old name of constant); nullopt for anything else.
[[nodiscard]] std::optional<BackoffKind> parse_backoff_kind(std::string_view name) noexcept;

// Builds the strategy for a kind from an (initial, maximum, multiplier)
// schedule. `constant` is Constant{initial}; decorrelated kinds ignore
// multiplier (their growth is built in).
[[nodiscard]] BackoffStrategy make_strategy(BackoffKind kind, Duration initial, Duration maximum,
                                            double multiplier);

// The largest delay a strategy can ever return.
[[nodiscard]] Duration cap_of(const BackoffStrategy& s) noexcept;

class Backoff {
 public:
  Backoff(BackoffStrategy strategy, Rng rng) noexcept : strategy_(strategy), rng_(rng) {}

  // Returns the delay before the next retry and advances the state.
  Duration next() noexcept;

  // Forgets the history (retry count, previous delay); keeps the Rng stream.
  void reset() noexcept {
    retries_ = 0;
    previous_ns_ = 0;
    previous_formula_ = 0;
  }

  [[nodiscard]] int retries() const noexcept { return retries_; }
  [[nodiscard]] const BackoffStrategy& strategy() const noexcept { return strategy_; }

 private:
  BackoffStrategy strategy_;
  Rng rng_;
  int retries_ = 0;
  double previous_ns_ = 0;       // last delay (decorrelated)
  double previous_formula_ = 0;  // f(t) at the previous step (smooth decorrelated)
};

}  // namespace rebound
