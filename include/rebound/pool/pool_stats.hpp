// PoolFailure and PoolStats — what a LeasePool reports: the typed reason an
// acquire failed, and the counters tests and metrics read.
//
// clang-format off
//   using rebound::pool::PoolFailure;
//   auto lease = connections->acquire();   // connections: a shared_ptr<LeasePool<Conn>>
//   if (!lease && rebound::pool::pool_failure(lease.error()) == PoolFailure::timeout)
//     log("pool exhausted: " + lease.error().message);
//   const rebound::pool::PoolStats s = connections->stats();
//   log(std::to_string(s.in_use) + " in use, " + std::to_string(s.idle) + " idle, " +
//       std::to_string(s.timeouts) + " timeouts, " + std::to_string(s.evictions) + " evictions");
// clang-format on
//
// Errors produced by the pool itself carry their PoolFailure as a typed
// Error::reason (and, for humans, source "pool" and code to_string(f));
// errors returned by the user's create() hook pass through unchanged (they
// are already classified by their back end).
//
// Thread safety: value types; pool_failure() and to_string() are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"

namespace rebound::pool {

// Why the pool itself refused or lost a connection (Envoy's PoolFailureReason).
enum class PoolFailure : std::uint8_t {
  timeout,   // acquire waited acquire_timeout and every connection stayed in use (transient)
  overflow,  // too many threads already waiting (LeasePoolOptions::max_waiters) (transient)
  broken,    // create() returned no connection or threw (transient)
  closed,    // the pool was closed; no new leases (permanent)
};

// "timeout", "overflow", "broken", "closed" — also the Error::code of pool errors.
[[nodiscard]] std::string_view to_string(PoolFailure f) noexcept;

// The typed reason behind an Error produced by a pool; nullopt for any other
// error, e.g. one returned by the create() hook.
[[nodiscard]] std::optional<PoolFailure> pool_failure(const Error& e) noexcept;

// A consistent snapshot of a pool's counters (taken under the pool's lock).
// Counters only grow; gauges (in_use, idle, connecting) are the current state.
struct PoolStats {
  // --- counters ---
  std::uint64_t created = 0;               // successful create() calls
  std::uint64_t create_failures = 0;       // create() returned an error (slot freed, retried later)
  std::uint64_t reused = 0;                // leases served by an existing idle connection
  std::uint64_t waits = 0;                 // acquires that had to block for a connection
  Duration wait_time{};                    // total real time spent blocked in acquire
  std::uint64_t timeouts = 0;              // acquires that failed with PoolFailure::timeout
  std::uint64_t overflows = 0;             // acquires that failed with PoolFailure::overflow
  std::uint64_t evicted_broken = 0;        // returned after Lease::mark_broken()
  std::uint64_t evicted_idle_invalid = 0;  // idle past validate_after_idle, validate() said no
  std::uint64_t evicted_lifetime = 0;      // older than max_lifetime
  std::uint64_t evictions = 0;             // sum of the three above
  std::uint64_t leaks = 0;                 // leases reported held longer than leak_threshold
  // --- gauges ---
  std::size_t in_use = 0;      // leased (including ones being validated before hand-out)
  std::size_t idle = 0;        // ready to hand out
  std::size_t connecting = 0;  // create() calls in flight (they hold a slot)
  std::size_t closing = 0;     // evicted, destructor still running (they hold a slot)
  std::size_t waiting = 0;     // threads blocked in acquire right now
  std::size_t max_size = 0;    // live() never exceeds this
  bool closed = false;

  [[nodiscard]] std::size_t live() const noexcept { return in_use + idle + connecting + closing; }
};

}  // namespace rebound::pool
