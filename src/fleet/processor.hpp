// One processor of a fleet run (private to src/fleet/): for each of its
// batches it gets a warehouse client, fetches the batch over HTTP, turns the
// records into rows and writes them through the batch writer, recording what
// happened into its own RunStats shard.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "rebound/fleet/fetch.hpp"
#include "rebound/fleet/run.hpp"
#include "rebound/pool/keyed_cache.hpp"
#include "rebound/retry/budget.hpp"
#include "rebound/warehouse/warehouse.hpp"

namespace rebound::fleet::detail {

using WarehouseCache = pool::KeyedCache<std::string, warehouse::Warehouse>;

// What every processor of one run shares. All members are thread-safe or
// read-only while the processors run.
struct RunContext {
  const Config& config;
  Mode mode;
  std::string table;
  WarehouseCache& cache;  // rebound mode: one client per warehouse URL
  Fetcher& fetcher;
  std::shared_ptr<RetryBudget> budget;  // rebound mode: shared by HTTP and writes
  std::chrono::steady_clock::time_point start;
  const Progress& progress;
  std::atomic<std::uint64_t>& done;
  std::uint64_t total;
};

// Everything one processor records; merged after the threads join.
struct Shard {
  RunStats stats;
  std::map<std::int64_t, Record> fetched;  // external source: every record served
};

// Runs processor `p`'s batches to the end; records into `shard` only.
void run_processor(const RunContext& context, int p, Shard& shard);

}  // namespace rebound::fleet::detail
