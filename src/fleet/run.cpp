#include "rebound/fleet/run.hpp"

#include "rebound/fleet/bigquery.hpp"
#include "rebound/pool/keyed_cache.hpp"
#include "rebound/retry/retry_loop.hpp"
#include "rebound/warehouse/batch_writer.hpp"
#include "rebound/warehouse/open.hpp"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "rebound/fleet/fetch.hpp"

namespace rebound::fleet {
namespace {

using std::chrono::steady_clock;
namespace wh = rebound::warehouse;

double ms_since(steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
}

// The rebound write policy: the batch writer's default (quota outer,
// serialization inner, transient), decorrelated jitter, a shared budget.
RetryPolicy rebound_policy(double scale, std::shared_ptr<RetryBudget> budget) {
  RetryPolicy p = wh::default_write_policy(scale);
  for (ClassRule& rule : p.rules) {
    if (rule.backoff != BackoffKind::full_jitter) rule.backoff = BackoffKind::decorrelated_jitter;
  }
  p.budget = std::move(budget);
  return p;
}

// Everything one worker records; merged after the threads join, so workers
// never contend on shared statistics.
struct Shard {
  RunStats stats;
  std::map<std::int64_t, Record> fetched;  // external source: every record served
};

struct Timeline {
  steady_clock::time_point start;
  int processor;
  Shard* shard;
  void mark(bool ok, const char* kind) const {
    shard->stats.timeline.push_back(
        {.processor = processor, .at_ms = ms_since(start), .ok = ok, .kind = kind});
  }
};

// The naive BigQuery loop of the reference platform: the retry wraps waiting
// for the job's result, not its submission. So the write is submitted once
// and a failed job is "retried" by waiting on the same failed job again —
// which fails again. submit_once() is the single submission;
// rewait_like_the_seed() spends the fixed delays and attempts the naive loop
// would, and leaves the failure in place.
RetryPolicy submit_once(const RetryPolicy& naive) {
  RetryPolicy once = naive;
  once.rules.clear();
  once.max_attempts = 1;
  return once;
}

void rewait_like_the_seed(wh::WriteOutcome& out, const RetryPolicy& naive) {
  if (out || !out.status.error().retriable() || naive.rules.empty()) return;
  const ClassRule& rule = naive.rules.front();
  for (int attempt = 1; attempt < naive.max_attempts; ++attempt) {
    RetryEvent event{.operation = "waiting for the job again",
                     .attempt = attempt,
                     .error_class = out.status.error().error_class,
                     .delay = rule.initial,
                     .elapsed = out.report.elapsed,
                     .error = &out.status.error()};
    if (naive.on_retry) naive.on_retry(event);
    real_sleeper().sleep_for(rule.initial);
    ++out.report.retry.attempts;
    ++out.report.retry.failures[static_cast<std::size_t>(out.status.error().error_class)];
    out.report.retry.slept += rule.initial;
  }
}

std::uint64_t failures_of(const RetryReport& r, ErrorClass c) {
  return static_cast<std::uint64_t>(r.failures_of(c));
}

// The reference transform on nlohmann::json: it words every error, and the
// fast path below hands it anything unusual so both always agree.
Result<wh::RowSet> parse_batch_reference(const std::string& body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("records") ||
      !doc["records"].is_array()) {
    return fail(Error::permanent("source returned a body that is not {\"records\": [...]}"));
  }
  std::vector<nlohmann::json> rows;
  for (auto& record : doc["records"]) {
    if (!record.is_object() || !record.contains("id") || !record["id"].is_number_integer()) {
      return fail(
          Error::permanent("source record without an integer id: " + record.dump().substr(0, 80)));
    }
    // The transform step of a processor: keep the columns the target has.
    try {
      rows.push_back({{"id", record["id"]},
                      {"name", record.value("name", "")},
                      {"score", record.value("score", 0)}});
    } catch (const nlohmann::json::exception&) {
      return fail(Error::permanent("source record with a mistyped name or score: " +
                                   record.dump().substr(0, 80)));
    }
  }
  return wh::rows_from_json(rows);
}

// The transform on simdjson's DOM (validated in full, no nlohmann objects):
// {"records": [{"id": int, "name"?: string, "score"?: number, ...}, ...]}
// straight to typed rows. nullopt: let the reference path decide.
std::optional<wh::RowSet> parse_batch_fast(const std::string& body) {
  namespace dom = simdjson::dom;
  thread_local dom::parser parser;  // reused: no allocation per batch
  dom::object doc;
  dom::array records;
  if (parser.parse(body).get_object().get(doc) != simdjson::SUCCESS) return std::nullopt;
  int found = 0;  // nlohmann keeps the last of duplicate keys, simdjson the first: refuse both
  for (dom::key_value_pair field : doc) {
    if (field.key == "records" && ++found == 1 &&
        field.value.get_array().get(records) != simdjson::SUCCESS)
      return std::nullopt;
  }
  if (found != 1 || records.size() == 0) return std::nullopt;
  wh::RowSet out;
  bool real_score = false;
  out.rows.reserve(records.size());
  for (dom::element record : records) {
    dom::object fields;
    if (record.get_object().get(fields) != simdjson::SUCCESS) return std::nullopt;
    wh::Row row{wh::Null{}, std::string(), std::int64_t{0}};
    bool seen_id = false, seen_name = false, seen_score = false;
    for (dom::key_value_pair field : fields) {
      const dom::element_type type = field.value.type();
      if (field.key == "id") {
        if (seen_id || type != dom::element_type::INT64) return std::nullopt;
        row[0] = field.value.get_int64().value_unsafe();
        seen_id = true;
      } else if (field.key == "name") {
        if (seen_name || type != dom::element_type::STRING) return std::nullopt;
        row[1] = std::string(field.value.get_string().value_unsafe());
        seen_name = true;
      } else if (field.key == "score") {
        if (seen_score) return std::nullopt;
        if (type == dom::element_type::INT64) {
          row[2] = field.value.get_int64().value_unsafe();
        } else if (type == dom::element_type::DOUBLE) {
          row[2] = field.value.get_double().value_unsafe();
          real_score = true;
        } else {
          return std::nullopt;
        }
        seen_score = true;
      }
    }
    if (!seen_id) return std::nullopt;
    const std::string& name = std::get<std::string>(row[1]);
    if (name.size() > wh::JsonRowsOptions{}.max_text_bytes ||
        std::memchr(name.data(), '\0', name.size()) != nullptr)
      return std::nullopt;
    out.rows.push_back(std::move(row));
  }
  if (real_score) {
    for (wh::Row& row : out.rows) {
      if (const auto* i = std::get_if<std::int64_t>(&row[2])) row[2] = static_cast<double>(*i);
    }
  }
  out.schema.columns = {{.name = "id", .type = wh::ColumnType::integer, .nullable = false},
                        {.name = "name", .type = wh::ColumnType::text, .nullable = false},
                        {.name = "score",
                         .type = real_score ? wh::ColumnType::real : wh::ColumnType::integer,
                         .nullable = false}};
  return out;
}

Result<wh::RowSet> parse_batch(const std::string& body) {
  if (auto rows = parse_batch_fast(body)) return std::move(*rows);
  return parse_batch_reference(body);
}

Status prepare_target(wh::Warehouse& warehouse, const std::string& table) {
  auto name = wh::parse_table_name(table);
  if (!name) return fail(name.error());
  if (auto dropped = warehouse.with_session([&](wh::Session& s) { return s.drop_table(*name); });
      !dropped) {
    return dropped;
  }
  const wh::Schema schema{
      .columns = {{.name = "id", .type = wh::ColumnType::integer, .nullable = false},
                  {.name = "name", .type = wh::ColumnType::text, .nullable = true},
                  {.name = "score", .type = wh::ColumnType::integer, .nullable = true}}};
  const std::vector<std::string> keys = {"id"};
  return warehouse.create_table(*name, schema, keys);
}

// Setup and the final row check are operations of their own: a restart or
// a killed connection right then used to end the run with exit 4 and no
// report although every row was written. They go through the retry loop;
// the warehouse's pool drops a broken connection and opens a fresh one.
RetryPolicy check_policy() {
  return RetryPolicy{.rules = {ClassRule{
                         .classes = {ErrorClass::transient, ErrorClass::too_many_connections,
                                     ErrorClass::serialization_conflict},
                         .initial = std::chrono::milliseconds{100},
                         .maximum = std::chrono::seconds{2},
                         .multiplier = 2.0,
                         .backoff = BackoffKind::full_jitter,
                         .max_attempts = 0,
                     }},
                     .deadline = std::chrono::seconds{60}};
}

// Compares the target table with what the workload must have produced. With
// `check_values` off (an external source, where the last write of a key
// depends on timing) only presence and duplicates are checked.
Status check_rows(wh::Warehouse& warehouse, const std::string& table,
                  const std::map<std::int64_t, Record>& expected, RunStats& stats,
                  bool check_values = true) {
  auto name = wh::parse_table_name(table);
  if (!name) return fail(name.error());
  auto result =
      retry(check_policy(),
            [&]() { return warehouse.query("SELECT id, name, score FROM " + name->quoted()); },
            {.operation = "checking the rows in " + table});
  if (!result) return fail(result.error());
  std::map<std::int64_t, int> seen;
  std::uint64_t wrong = 0;
  std::uint64_t lost = 0;
  for (const wh::Row& row : result.value->rows) {
    if (row.size() != 3 || !std::holds_alternative<std::int64_t>(row[0])) {
      ++wrong;
      continue;
    }
    const std::int64_t id = std::get<std::int64_t>(row[0]);
    if (++seen[id] > 1) ++wrong;  // a duplicate
    auto it = expected.find(id);
    if (!check_values) {
      if (it == expected.end()) ++wrong;  // a row nobody fetched
      continue;
    }
    const bool same = it != expected.end() && std::holds_alternative<std::string>(row[1]) &&
                      std::get<std::string>(row[1]) == it->second.name &&
                      std::holds_alternative<std::int64_t>(row[2]) &&
                      std::get<std::int64_t>(row[2]) == it->second.score;
    if (!same) ++wrong;
  }
  for (const auto& [id, record] : expected) {
    if (!seen.contains(id)) ++lost;
  }
  stats.rows_expected = expected.size();
  stats.rows_in_table = result.value->rows.size();
  stats.rows_wrong = wrong;
  stats.rows_lost = lost;
  return {};
}

}  // namespace

std::string target_table(Mode mode) {
  return mode == Mode::naive ? "fleet_naive" : "fleet_rebound";
}

Result<RunStats> run(const Config& config, Mode mode, const Progress& progress) {
  const Workload& work = config.workload;
  const std::string table = target_table(mode);
  const bool naive = mode == Mode::naive;

  // Setup with a client of its own, outside the measured operations.
  auto setup = open_for_mode(config.warehouse_url, Mode::rebound, config.scale, 1);
  if (!setup) return fail(setup.error());
  if (auto prepared = retry(check_policy(), [&]() { return prepare_target(**setup, table); },
                            {.operation = "preparing " + table});
      !prepared) {
    return fail(prepared.error());
  }

  // rebound: one client per warehouse URL, made once, shared by every processor.
  auto cache = pool::KeyedCache<std::string, wh::Warehouse>::make({
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

  auto fetcher = make_fetcher(naive ? FetchMode::new_connection_each_request : FetchMode::pooled,
                              {.scale = config.scale, .budget = *budget});
  if (!fetcher) return fail(fetcher.error());

  const std::uint64_t total =
      static_cast<std::uint64_t>(work.processors) * static_cast<std::uint64_t>(work.batches);
  std::atomic<std::uint64_t> done{0};
  std::vector<Shard> shards(static_cast<std::size_t>(work.processors));
  const auto start = steady_clock::now();

  auto processor = [&](int p) {
    Shard& shard = shards[static_cast<std::size_t>(p)];
    RunStats& st = shard.stats;
    const Timeline timeline{.start = start, .processor = p, .shard = &shard};
    RetryPolicy write_policy =
        naive ? naive_policy(config.scale) : rebound_policy(config.scale, *budget);
    const bool naive_bigquery = naive && is_bigquery_url(config.warehouse_url);
    write_policy.on_retry = [&](const RetryEvent& e) {
      st.retry_delays_ms.push_back(std::chrono::duration<double, std::milli>(e.delay).count());
      timeline.mark(false, "write");
    };
    for (int b = 0; b < work.batches; ++b) {
      ++st.operations;
      bool retried = false;
      auto finish = [&](bool ok, const Error* error) {
        if (retried) ++st.operations_retried;
        if (retried && ok) ++st.operations_recovered;
        if (!ok) {
          ++st.operations_failed;
          if (error && st.sample_errors.size() < 3) st.sample_errors.push_back(error->describe());
        }
        timeline.mark(ok, "write");
        if (progress) progress(done.fetch_add(1) + 1, total);
      };

      // 1. A warehouse client: fresh (naive) or from the keyed cache (rebound).
      std::shared_ptr<wh::Warehouse> warehouse;
      const auto acquire_start = steady_clock::now();
      if (naive) {
        auto fresh = open_for_mode(config.warehouse_url, Mode::naive, config.scale, 1);
        if (fresh) {
          // Connecting is part of making a client: do it now, as a new client would.
          // (BigQuery has no session to open: a new client's first call opens
          // its connection, so the naive client makes one.)
          auto connected = (*fresh)->with_session([&](wh::Session& s) -> Status {
            if (!naive_bigquery) return {};
            auto target = wh::parse_table_name(table);
            if (!target) return fail(std::move(target.error()));
            auto described = s.describe(*target);
            if (!described) return fail(std::move(described.error()));
            return {};
          });
          if (!connected) {
            if (connected.error().error_class == ErrorClass::too_many_connections)
              ++st.too_many_connections;
          }
          warehouse = *fresh;
        }
      } else {
        auto cached = (*cache)->client(config.warehouse_url);
        if (cached) warehouse = *cached;
      }
      st.client_acquire_ns.push_back(
          std::chrono::duration<double, std::nano>(steady_clock::now() - acquire_start).count());
      if (!warehouse) {
        const Error e = Error::transient("could not open the warehouse");
        finish(false, &e);
        continue;
      }

      // 2. Fetch the batch.
      const std::string url = config.source_url + "/batch?processor=" + std::to_string(p) +
                              "&batch=" + std::to_string(b);
      FetchOutcome fetched = (*fetcher)->fetch(url, [&](const RetryEvent& e) {
        st.retry_delays_ms.push_back(std::chrono::duration<double, std::milli>(e.delay).count());
        timeline.mark(false, "http");
      });
      st.http_requests += static_cast<std::uint64_t>(fetched.attempts);
      if (fetched.attempts > 1) retried = true;
      st.retries += static_cast<std::uint64_t>(std::max(0, fetched.attempts - 1));
      if (!fetched.body) {
        finish(false, &fetched.body.error());
        continue;
      }
      st.http_latency_ms.push_back(fetched.latency_ms);
      auto rows = parse_batch(*fetched.body);
      if (!rows) {
        finish(false, &rows.error());
        continue;
      }
      if (!config.builtin_source) {
        // Every id served (the batch's "id" column, an integer by parse_batch).
        const auto& cols = rows->schema.columns;
        const auto at = static_cast<std::size_t>(
            std::find_if(cols.begin(), cols.end(), [](const auto& c) { return c.name == "id"; }) -
            cols.begin());
        for (const wh::Row& r : rows->rows) {
          if (at >= r.size()) break;
          if (const auto* id = std::get_if<std::int64_t>(&r[at]))
            shard.fetched[*id] = Record{.id = *id, .name = {}, .score = 0};
        }
      }

      // 3. Write through the batch writer; the whole attempt is retried.
      auto writer = wh::BatchWriter::make(
          warehouse, {.table = table,
                      .keys = {"id"},
                      .policy = naive_bigquery ? submit_once(write_policy) : write_policy});
      if (!writer) {
        finish(false, &writer.error());
        continue;
      }
      wh::WriteOutcome out = writer->write(std::move(*rows));
      if (naive_bigquery) rewait_like_the_seed(out, write_policy);
      const RetryReport& report = out.report.retry;
      if (report.attempts > 1) retried = true;
      st.retries += static_cast<std::uint64_t>(report.retries());
      st.conflicts += failures_of(report, ErrorClass::serialization_conflict);
      st.too_many_connections += failures_of(report, ErrorClass::too_many_connections);
      if (!out) {
        finish(false, &out.status.error());
        continue;
      }
      finish(true, nullptr);
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(work.processors));
  for (int p = 0; p < work.processors; ++p) threads.emplace_back(processor, p);
  for (std::thread& t : threads) t.join();

  RunStats stats;
  stats.mode = naive ? "naive" : "rebound";
  stats.wall_seconds = ms_since(start) / 1000;
  if (config.trigger_for.count() > 0) {
    stats.trigger_start_ms = static_cast<double>(config.trigger_after.count());
    stats.trigger_end_ms = static_cast<double>((config.trigger_after + config.trigger_for).count());
  }
  for (Shard& shard : shards) {
    RunStats& s = shard.stats;
    auto append = [](auto& into, auto& from) { into.insert(into.end(), from.begin(), from.end()); };
    append(stats.client_acquire_ns, s.client_acquire_ns);
    append(stats.http_latency_ms, s.http_latency_ms);
    append(stats.retry_delays_ms, s.retry_delays_ms);
    append(stats.timeline, s.timeline);
    for (auto& e : s.sample_errors) {
      if (stats.sample_errors.size() < 5) stats.sample_errors.push_back(e);
    }
    stats.http_requests += s.http_requests;
    stats.operations += s.operations;
    stats.operations_retried += s.operations_retried;
    stats.operations_recovered += s.operations_recovered;
    stats.operations_failed += s.operations_failed;
    stats.too_many_connections += s.too_many_connections;
    stats.conflicts += s.conflicts;
    stats.retries += s.retries;
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
    std::map<std::int64_t, Record> served;
    for (Shard& shard : shards) served.merge(shard.fetched);
    if (auto checked = check_rows(**setup, table, served, stats, /*check_values=*/false); !checked)
      return fail(checked.error());
  }

  if (config.registry != nullptr) {
    metrics::Registry& reg = *config.registry;
    const metrics::Labels mode_label = {{"mode", stats.mode}};
    reg.counter("rebound_fleet_operations_total", "Processor operations (fetch + write)",
                mode_label)
        .inc(stats.operations);
    reg.counter("rebound_fleet_operations_failed_total", "Operations that failed after retries",
                mode_label)
        .inc(stats.operations_failed);
    reg.counter("rebound_fleet_retries_total", "Retries (HTTP and warehouse)", mode_label)
        .inc(stats.retries);
    reg.counter("rebound_fleet_conflicts_total", "Serialization conflicts seen", mode_label)
        .inc(stats.conflicts);
    reg.counter("rebound_fleet_too_many_connections_total", "Too-many-connections errors",
                mode_label)
        .inc(stats.too_many_connections);
    reg.counter("rebound_http_connections_new_total", "New HTTP connections", mode_label)
        .inc(http.new_connections);
    reg.counter("rebound_http_connections_reused_total", "Reused HTTP connections", mode_label)
        .inc(http.reused_connections);
    reg.gauge("rebound_fleet_rows_in_table", "Rows in the target table after the run", mode_label)
        .set(static_cast<double>(stats.rows_in_table));
    reg.gauge("rebound_fleet_rows_expected", "Rows the workload must produce", mode_label)
        .set(static_cast<double>(stats.rows_expected));
    if (!naive) {
      reg.gauge("rebound_retry_budget_tokens", "Retry budget balance at the end of the run")
          .set((*budget)->tokens());
      reg.counter("rebound_retry_budget_denied_total", "Retries the budget refused")
          .inc((*budget)->retries_denied());
      if (auto w = (*cache)->find(config.warehouse_url)) {
        const pool::PoolStats ps = w->pool_stats();
        reg.counter("rebound_pool_connections_created_total", "Warehouse connections created")
            .inc(ps.created);
        reg.counter("rebound_pool_leases_reused_total", "Leases served by an idle connection")
            .inc(ps.reused);
        reg.counter("rebound_pool_waits_total", "Acquires that waited").inc(ps.waits);
        reg.counter("rebound_pool_timeouts_total", "Acquires that timed out").inc(ps.timeouts);
      }
    }
    auto& latency = reg.histogram("rebound_fleet_http_latency_seconds", "HTTP request latency",
                                  metrics::latency_buckets(), mode_label);
    for (double v : stats.http_latency_ms) latency.observe(v / 1000);
  }
  return stats;
}

}  // namespace rebound::fleet
