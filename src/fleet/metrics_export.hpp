// The fleet's metrics export (private to src/fleet/): one run's counters,
// the HTTP connection counts, the retry budget and the warehouse pool, into
// a metrics::Registry labelled by mode.
#pragma once

#include <optional>

#include "rebound/fleet/fetch.hpp"
#include "rebound/fleet/report.hpp"
#include "rebound/fleet/target.hpp"
#include "rebound/metrics/registry.hpp"
#include "rebound/pool/pool_stats.hpp"
#include "rebound/retry/budget.hpp"

namespace rebound::fleet::detail {

struct RunResources {
  FetchStats http;
  const RetryBudget* budget = nullptr;  // rebound mode
  std::optional<pool::PoolStats> pool;  // rebound mode: the cached warehouse's pool
};

void export_metrics(metrics::Registry& registry, Mode mode, const RunStats& stats,
                    const RunResources& resources);

}  // namespace rebound::fleet::detail
