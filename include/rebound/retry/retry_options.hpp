// RetryOptions — the per-call inputs of retry() that are not policy: the
// operation's name for messages, the injected clock, sleeper and jitter seed,
// and a stop token.
//
//   rebound::testing::FakeClock clock;  // a Clock and a Sleeper: sleeping advances it
//   auto out = rebound::retry(policy, call, {.operation = "merging into stats.box",
//                                            .clock = &clock,
//                                            .sleeper = &clock,
//                                            .seed = 42});  // same seed, same sleeps
//
// Defaults: the coarse steady clock (ms resolution), the real sleeper, fresh
// entropy for the jitter, no stop token. `operation` ends up in every give-up
// message ("… after 4 attempts (…) merging into stats.box: …").
//
// Thread safety: a plain value. The clock and sleeper it points at must
// outlive the call; retry() reads them from the calling thread only. The
// stop token may be requested from any thread (it ends a sleep at once).
#pragma once

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string_view>

#include "rebound/core/clock.hpp"

namespace rebound {

struct RetryOptions {
  std::string_view operation = {};    // "merging into stats.box" — used in give-up messages
  Clock* clock = nullptr;             // default: coarse_steady_clock(), ms resolution
  Sleeper* sleeper = nullptr;         // default: real_sleeper()
  std::optional<std::uint64_t> seed;  // jitter seed; default: fresh entropy per call
  std::stop_token stop = {};          // cancels the loop: checked between attempts, ends sleeps
};

}  // namespace rebound
