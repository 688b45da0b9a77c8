// Pushback — how a retry loop honours a server's "come back later" hint
// (Retry-After, X-RateLimit-Reset) without letting it synchronise a fleet or
// park a client for hours.
//
//   rebound::Pushback p{.max = 300s, .jitter = 0.5};
//   rebound::Rng rng{7};
//   rebound::Duration d = rebound::pushback_delay(p, 30s, rng);   // in [30 s, 45 s)
//   auto hint = rebound::parse_ratelimit_reset("12", wall_now);    // 12 s
//
// The rule (Envoy's rate-limited retry back-off, gRPC's server pushback):
//   delay = min(hint, max) * uniform[1, 1 + jitter)
// so a hint is never shortened (the server asked for at least that long),
// an absurd hint is clamped (default 300 s, as Envoy), and a fleet that got
// the same "Retry-After: 30" comes back spread over [30 s, 45 s), not in one
// wave. After an honoured hint the class's backoff schedule starts over
// (gRPC: the next un-hinted retry waits the initial delay again), because the
// server has just said when it expects to be ready. The worst-case sleep is
// max * (1 + jitter): 450 s with the defaults.
//
// Thread safety: plain values and pure functions; the Rng is the caller's.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "rebound/core/clock.hpp"
#include "rebound/core/random.hpp"

namespace rebound {

struct Pushback {
  bool honour = true;                        // false: ignore server hints, keep the schedule
  Duration max = std::chrono::seconds{300};  // hints above this are clamped to it
  double jitter = 0.5;                       // spread: x uniform[1, 1 + jitter) (Envoy: 1.5)
  bool restart_backoff = true;               // after an honoured hint, the schedule restarts
};

// Validates: max > 0, jitter in [0, 10]. Returns the field's name in the message.
[[nodiscard]] std::optional<std::string_view> invalid_pushback(const Pushback& p) noexcept;

// The delay to sleep for a server hint: min(hint, p.max) * uniform[1, 1 + p.jitter).
// Negative hints count as zero. Never overflows (computed in double ns, capped).
[[nodiscard]] Duration pushback_delay(const Pushback& p, Duration hint, Rng& rng) noexcept;

// Parses X-RateLimit-Reset: a non-negative integer that is either seconds
// until the limit resets (values below 10^9) or a Unix timestamp in seconds
// (10^9 and above: any date after 2001-09-09), the two forms in use
// (Envoy's reset_headers formats SECONDS and UNIX_TIMESTAMP). A timestamp in
// the past yields 0 s. nullopt for anything malformed.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_ratelimit_reset(
    std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace rebound
