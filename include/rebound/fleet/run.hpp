// Fleet run — one run of N concurrent processors, the naive way or the
// rebound way, over the same workload.
//
//   Config config{...};
//   RunStats naive = run(config, Mode::naive, progress);
//   RunStats rebound = run(config, Mode::rebound, progress);
//
// Each processor repeats, for each of its batches: get a warehouse client,
// fetch the batch's records over HTTP, turn them into rows, and write them
// through the batch writer into the shared target table. The two modes differ
// only in how they do it:
//   naive    a fresh warehouse client (new connection) per operation, a new
//            HTTP connection per request, a fixed-delay 3-attempt loop that
//            retries whatever fails;
//   rebound  one cached client per warehouse URL (keyed cache + bounded pool),
//            one pooled HTTP client, the composed retry policy (quota outer,
//            serialization inner, transient) with decorrelated jitter and a
//            shared retry budget, and a circuit breaker on the source that
//            makes processors wait for its probe during an outage instead of
//            burning their retries (docs/overload.md).
//
// Thread safety: run starts and joins its own threads; call it from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "rebound/fleet/report.hpp"
#include "rebound/fleet/target.hpp"
#include "rebound/fleet/workload.hpp"
#include "rebound/metrics/registry.hpp"

namespace rebound::fleet {

struct Config {
  Workload workload;
  std::string warehouse_url;   // sqlite path/URL or postgresql://…
  std::string source_url;      // base URL; GET {source_url}/batch?processor=P&batch=B
  bool builtin_source = true;  // the source serves Workload records (expected rows known)
  double scale = 0.01;         // retry delays: the reference presets' seconds × scale
  std::size_t pool_size = 8;   // rebound: warehouse connections per URL
  metrics::Registry* registry = nullptr;  // counters of both runs, labelled by mode
  // The source's trigger window (built-in source), for the recovery row.
  std::chrono::milliseconds trigger_after{0};
  std::chrono::milliseconds trigger_for{0};  // 0: no trigger
};

// Called after each finished operation with (done, total), from worker threads.
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Runs one mode to completion and checks the target table. Errors that stop
// the whole run (the warehouse cannot be opened or the target cannot be
// created) are returned; per-operation failures are counted in RunStats.
[[nodiscard]] Result<RunStats> run(const Config& config, Mode mode, const Progress& progress);

}  // namespace rebound::fleet
