// The fleet's BigQuery target and per-mode clients. See bigquery.hpp.
#include "rebound/fleet/bigquery.hpp"

#include <algorithm>

#include "rebound/warehouse/bigquery/bigquery_warehouse.hpp"
#include "rebound/warehouse/open.hpp"

namespace rebound::fleet {
namespace {

Duration scaled(Duration d, double scale) {
  return std::max(Duration{std::chrono::microseconds{500}},
                  Duration{static_cast<Duration::rep>(static_cast<double>(d.count()) * scale)});
}

}  // namespace

Result<LocalBigQuery> start_bigquery_emulator(int max_dml_jobs) {
  auto started = emulator::bigquery::Emulator::start({.project = "rebound-fleet",
                                                      .pending_polls = 1,
                                                      .running_polls = 1,
                                                      .dml_conflicts = true,
                                                      .max_dml_jobs_per_table = max_dml_jobs});
  if (!started) return fail(std::move(started.error()));
  LocalBigQuery local;
  local.url = "bigquery://rebound-fleet/fleet?endpoint=" + (*started)->url() + "&auth=none";
  local.emulator = std::move(*started);
  return local;
}

bool is_bigquery_url(std::string_view url) noexcept { return url.starts_with("bigquery://"); }

Result<std::shared_ptr<warehouse::Warehouse>> open_for_mode(std::string_view url, Mode mode,
                                                            double scale, std::size_t pool_size) {
  if (!is_bigquery_url(url)) return warehouse::open_warehouse(url, {.pool_size = pool_size});
  auto config = bigquery::parse_url(url, bigquery::process_env());
  if (!config) return fail(std::move(config.error()));
  const bool naive = mode == Mode::naive;
  RetryPolicy requests = bigquery::request_retry_policy(scale);
  if (naive)
    requests = RetryPolicy{.rules = {}, .deadline = std::chrono::hours{1}, .max_attempts = 1};
  const std::string dataset = config->dataset;
  auto client = bigquery::Client::make(
      {.config = std::move(*config),
       .rest = {.retry = std::move(requests)},
       .jobs = {.poll_initial = scaled(std::chrono::milliseconds{200}, scale),
                .poll_maximum = scaled(std::chrono::seconds{5}, scale),
                .max_attempts = naive ? 1 : 5,
                .rerun_initial = scaled(std::chrono::seconds{1}, scale),
                .rerun_maximum = scaled(std::chrono::seconds{60}, scale)},
       .upload = {},
       .tokens = {},
       .http =
           bigquery::make_http_client(naive ? 2 : std::max<std::size_t>(pool_size, 8)).value()});
  if (!client) return fail(std::move(client.error()));
  return bigquery::make_bigquery_warehouse(std::move(*client), {.dataset = dataset});
}

}  // namespace rebound::fleet
