// Fleet source — the built-in HTTP data source `rebound fleet` starts on
// loopback when no --source is given.
//
//   auto source = Source::start(workload, {.error_rate = 0.05, .latency = 2ms}).value();
//   source->url();   // "http://127.0.0.1:41234"
//   // GET /batch?processor=3&batch=1 -> {"records": [...]} (Workload::batch)
//
// Faults are injected per request with the configured rates, decided by a
// hash of (seed, path, how many times that path was asked), so both runs of
// the fleet meet the same faults on the same requests:
//   error_rate     503 Service Unavailable
//   throttle_rate  429 Too Many Requests with Retry-After: 1
//   drop_rate      connection closed without a response
//   slow_rate      response delayed by `slow_delay`
// The trigger: from `trigger_after` for `trigger_for` after mark_run_start(),
// the source is degraded — every /batch request is answered 503 — then it is
// healthy again (a short outage, the trigger of a metastable failure; see
// docs/overload.md). A zero `trigger_for` means no trigger.
// `latency` models the network between a processor and a remote API: every
// response waits one round trip, and every new connection waits four more
// (a DNS lookup — requests.get caches none —, the TCP handshake and the two
// round trips of a TLS 1.2 handshake) before its first request is answered. Loopback has
// no round trip of its own, so without it a new connection costs almost
// nothing and pooling would look pointless; with it the comparison is the one
// docs/fleet.md describes against a real API. Set it to 0 for raw loopback.
//
// Thread safety: thread-safe; the server runs its own threads and stops in
// the destructor.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "rebound/core/error.hpp"

#include "rebound/fleet/workload.hpp"

namespace rebound::fleet {

struct FaultRates {
  double error_rate = 0.05;
  double throttle_rate = 0.01;
  double drop_rate = 0.03;
  double slow_rate = 0.02;
  std::chrono::milliseconds slow_delay{30};
  std::chrono::microseconds latency{2000};
  std::chrono::milliseconds trigger_after{0};  // since mark_run_start()
  std::chrono::milliseconds trigger_for{0};    // 0: no trigger
};

class Source {
 public:
  virtual ~Source() = default;
  [[nodiscard]] virtual std::string url() const = 0;
  [[nodiscard]] virtual std::uint64_t requests() const = 0;
  [[nodiscard]] virtual std::uint64_t faults() const = 0;
  // Starts the trigger's clock: call it when a run begins, so every run meets
  // the same outage at the same point.
  virtual void mark_run_start() = 0;

  // Starts the server on 127.0.0.1 and an ephemeral port. Errors: rates
  // outside [0, 1] or summing above 1 (permanent), or the socket (transient).
  [[nodiscard]] static Result<std::unique_ptr<Source>> start(Workload workload, FaultRates faults);
};

}  // namespace rebound::fleet
