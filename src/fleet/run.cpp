#include "rebound/fleet/run.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "metrics_export.hpp"
#include "processor.hpp"
#include "rebound/fleet/bigquery.hpp"
#include "rebound/fleet/target.hpp"
#include "rebound/retry/retry_loop.hpp"
#include "rebound/warehouse/open.hpp"

namespace rebound::fleet {
namespace {

namespace wh = rebound::warehouse;

// Appends a processor's shard to the run's totals.
void merge_into(RunStats& total, const RunStats& s) {
  auto append = [](auto& into, const auto& from) {
    into.insert(into.end(), from.begin(), from.end());
  };
  append(total.client_acquire_ns, s.client_acquire_ns);
  append(total.http_latency_ms, s.http_latency_ms);
  append(total.retry_delays_ms, s.retry_delays_ms);
  append(total.timeline, s.timeline);
  for (const auto& e : s.sample_errors) {
    if (total.sample_errors.size() < 5) total.sample_errors.push_back(e);
  }
  total.http_requests += s.http_requests;
  total.operations += s.operations;
  total.operations_retried += s.operations_retried;
  total.operations_recovered += s.operations_recovered;
  total.operations_failed += s.operations_failed;
  total.too_many_connections += s.too_many_connections;
  total.conflicts += s.conflicts;
  total.retries += s.retries;
}

// Starts one thread per processor, each recording into its own shard (so
// workers never contend on shared statistics), and merges after they join.
// `served` collects every record an external source handed out.
RunStats run_processors(const detail::RunContext& context, std::map<std::int64_t, Record>& served) {
  const auto processors = static_cast<std::size_t>(context.config.workload.processors);
  std::vector<detail::Shard> shards(processors);
  std::vector<std::thread> threads;
  threads.reserve(processors);
  for (std::size_t p = 0; p < processors; ++p) {
    threads.emplace_back(
        [&, p] { detail::run_processor(context, static_cast<int>(p), shards[p]); });
  }
  for (std::thread& t : threads) t.join();
  RunStats stats;
  stats.mode = to_string(context.mode);
  for (detail::Shard& shard : shards) {
    merge_into(stats, shard.stats);
    served.merge(shard.fetched);
  }
  return stats;
}

}  // namespace

Result<RunStats> run(const Config& config, Mode mode, const Progress& progress) {
  const Workload& work = config.workload;
  const std::string table = target_table(mode);

  // Setup with a client of its own, outside the measured operations.
  auto setup = open_for_mode(config.warehouse_url, Mode::rebound, config.scale, 1);
  if (!setup) return fail(setup.error());
  if (auto prepared = retry(target_retry_policy(), [&]() { return prepare_target(**setup, table); },
                            {.operation = "preparing " + table});
      !prepared) {
    return fail(prepared.error());
  }

  // rebound: one client per warehouse URL, made once, shared by every processor.
  auto cache = detail::WarehouseCache::make({
      .create = [&](const std::string& url) -> Result<std::shared_ptr<wh::Warehouse>> {
        return open_for_mode(url, Mode::rebound, config.scale, config.pool_size);
      },
  });
  if (!cache) return fail(cache.error());
  // One budget for every processor's HTTP and write retries. A dead back end
  // gets at most 500 retries from the whole fleet before retries stop; each
  // success buys one back, so healthy contention (conflicts that resolve)
  // never starves, while a storm against a failing server is capped.
  auto budget = RetryBudget::make({.max_tokens = 1000, .retry_cost = 1, .success_refund = 1});
  if (!budget) return fail(budget.error());
  const bool naive = mode == Mode::naive;
  auto fetcher = make_fetcher(naive ? FetchMode::new_connection_each_request : FetchMode::pooled,
                              {.scale = config.scale, .budget = *budget});
  if (!fetcher) return fail(fetcher.error());

  std::atomic<std::uint64_t> done{0};
  const auto start = std::chrono::steady_clock::now();
  const detail::RunContext context{
      .config = config,
      .mode = mode,
      .table = table,
      .cache = **cache,
      .fetcher = **fetcher,
      .budget = *budget,
      .start = start,
      .progress = progress,
      .done = done,
      .total =
          static_cast<std::uint64_t>(work.processors) * static_cast<std::uint64_t>(work.batches),
  };
  std::map<std::int64_t, Record> served;
  RunStats stats = run_processors(context, served);
  stats.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (config.trigger_for.count() > 0) {
    stats.trigger_start_ms = static_cast<double>(config.trigger_after.count());
    stats.trigger_end_ms = static_cast<double>((config.trigger_after + config.trigger_for).count());
  }
  const FetchStats http = (*fetcher)->stats();
  stats.http_new_connections = http.new_connections;
  stats.http_reused_connections = http.reused_connections;

  if (config.builtin_source) {
    if (auto checked = check_rows(**setup, table, work.expected(), stats); !checked)
      return fail(checked.error());
  } else {
    // An external source: the rows expected are the distinct records it
    // served to this run (a batch that could not be fetched is counted as
    // a failed operation, not as rows expected). Values depend on which
    // write of a key landed last, so only presence and duplicates count.
    if (auto checked = check_rows(**setup, table, served, stats, /*check_values=*/false); !checked)
      return fail(checked.error());
  }
  if (config.registry != nullptr) {
    detail::RunResources resources{.http = http};
    if (!naive) {
      resources.budget = budget->get();
      if (auto w = (*cache)->find(config.warehouse_url)) resources.pool = w->pool_stats();
    }
    detail::export_metrics(*config.registry, mode, stats, resources);
  }
  return stats;
}

}  // namespace rebound::fleet
