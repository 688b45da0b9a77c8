// Attempt — what the callable given to retry() learns about the attempt it
// is running: its number and the time it may take.
//
//   auto out = rebound::retry(policy, [&](const rebound::Attempt& a) -> rebound::Status {
//     if (a.number > 1) log("retrying");
//     return db.merge(rows, {.timeout = a.time_left});  // bound the attempt by what is left
//   });
//
// `time_left` is set only when the policy has an attempt_timeout: then it is
// min(attempt_timeout, time to the policy's deadline), never negative. A
// callable that ignores it may overrun the deadline by one attempt's length.
//
// Thread safety: a plain value, made by the loop for each attempt.
#pragma once

#include <optional>

#include "rebound/core/clock.hpp"

namespace rebound {

struct Attempt {
  int number = 1;  // 1-based
  // The time this attempt may take: min(attempt_timeout, time to the
  // deadline), when the policy sets an attempt timeout; nullopt otherwise.
  std::optional<Duration> time_left;
};

}  // namespace rebound
