#include "metrics_export.hpp"

namespace rebound::fleet::detail {
namespace {

void export_pool(metrics::Registry& reg, const pool::PoolStats& ps) {
  reg.counter("rebound_pool_connections_created_total", "Warehouse connections created")
      .inc(ps.created);
  reg.counter("rebound_pool_leases_reused_total", "Leases served by an idle connection")
      .inc(ps.reused);
  reg.counter("rebound_pool_waits_total", "Acquires that waited").inc(ps.waits);
  reg.counter("rebound_pool_timeouts_total", "Acquires that timed out").inc(ps.timeouts);
}

}  // namespace

void export_metrics(metrics::Registry& reg, Mode mode, const RunStats& stats,
                    const RunResources& resources) {
  const metrics::Labels mode_label = {{"mode", to_string(mode)}};
  reg.counter("rebound_fleet_operations_total", "Processor operations (fetch + write)", mode_label)
      .inc(stats.operations);
  reg.counter("rebound_fleet_operations_failed_total", "Operations that failed after retries",
              mode_label)
      .inc(stats.operations_failed);
  reg.counter("rebound_fleet_retries_total", "Retries (HTTP and warehouse)", mode_label)
      .inc(stats.retries);
  reg.counter("rebound_fleet_conflicts_total", "Serialization conflicts seen", mode_label)
      .inc(stats.conflicts);
  reg.counter("rebound_fleet_too_many_connections_total", "Too-many-connections errors", mode_label)
      .inc(stats.too_many_connections);
  reg.counter("rebound_http_connections_new_total", "New HTTP connections", mode_label)
      .inc(resources.http.new_connections);
  reg.counter("rebound_http_connections_reused_total", "Reused HTTP connections", mode_label)
      .inc(resources.http.reused_connections);
  reg.gauge("rebound_fleet_rows_in_table", "Rows in the target table after the run", mode_label)
      .set(static_cast<double>(stats.rows_in_table));
  reg.gauge("rebound_fleet_rows_expected", "Rows the workload must produce", mode_label)
      .set(static_cast<double>(stats.rows_expected));
  if (resources.budget != nullptr) {
    reg.gauge("rebound_retry_budget_tokens", "Retry budget balance at the end of the run")
        .set(resources.budget->tokens());
    reg.counter("rebound_retry_budget_denied_total", "Retries the budget refused")
        .inc(resources.budget->retries_denied());
  }
  if (resources.pool) export_pool(reg, *resources.pool);
  auto& latency = reg.histogram("rebound_fleet_http_latency_seconds", "HTTP request latency",
                                metrics::latency_buckets(), mode_label);
  for (double v : stats.http_latency_ms) latency.observe(v / 1000);
}

}  // namespace rebound::fleet::detail
