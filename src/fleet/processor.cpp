#include "processor.hpp"

#include <vector>

#include "batch.hpp"
#include "rebound/fleet/bigquery.hpp"
#include "rebound/retry/retry_loop.hpp"
#include "rebound/warehouse/batch_writer.hpp"
#include "rebound/warehouse/open.hpp"

namespace rebound::fleet::detail {
namespace {

using std::chrono::steady_clock;
namespace wh = rebound::warehouse;

double ms_since(steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
}

double delay_ms(const RetryEvent& e) {
  return std::chrono::duration<double, std::milli>(e.delay).count();
}

std::uint64_t failures_of(const RetryReport& r, ErrorClass c) {
  return static_cast<std::uint64_t>(r.failures_of(c));
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

class Processor {
 public:
  Processor(const RunContext& context, int p, Shard& shard)
      : ctx_(context),
        p_(p),
        shard_(shard),
        st_(shard.stats),
        naive_(context.mode == Mode::naive),
        naive_bigquery_(naive_ && is_bigquery_url(context.config.warehouse_url)) {
    write_policy_ =
        naive_ ? naive_policy(ctx_.config.scale) : rebound_policy(ctx_.config.scale, ctx_.budget);
    write_policy_.on_retry = [this](const RetryEvent& e) {
      st_.retry_delays_ms.push_back(delay_ms(e));
      mark(false, "write");
    };
  }

  void run() {
    for (int b = 0; b < ctx_.config.workload.batches; ++b) {
      ++st_.operations;
      retried_ = false;
      const Status done = one_batch(b);
      finish(done ? nullptr : &done.error());
    }
  }

 private:
  // Fetch + write of batch b; the error of the step that failed.
  Status one_batch(int b) {
    std::shared_ptr<wh::Warehouse> warehouse = acquire_client();
    if (!warehouse) return fail(Error::transient("could not open the warehouse"));
    auto rows = fetch_rows(b);
    if (!rows) return fail(std::move(rows.error()));
    return write(std::move(warehouse), std::move(*rows));
  }

  // A warehouse client: fresh (naive) or from the keyed cache (rebound).
  std::shared_ptr<wh::Warehouse> acquire_client() {
    std::shared_ptr<wh::Warehouse> warehouse;
    const auto acquire_start = steady_clock::now();
    if (naive_) {
      auto fresh = open_for_mode(ctx_.config.warehouse_url, Mode::naive, ctx_.config.scale, 1);
      if (fresh) {
        // Connecting is part of making a client: do it now, as a new client would.
        // (BigQuery has no session to open: a new client's first call opens
        // its connection, so the naive client makes one.)
        auto connected = (*fresh)->with_session([&](wh::Session& s) -> Status {
          if (!naive_bigquery_) return {};
          auto target = wh::parse_table_name(ctx_.table);
          if (!target) return fail(std::move(target.error()));
          auto described = s.describe(*target);
          if (!described) return fail(std::move(described.error()));
          return {};
        });
        if (!connected && connected.error().error_class == ErrorClass::too_many_connections) {
          ++st_.too_many_connections;
        }
        warehouse = *fresh;
      }
    } else if (auto cached = ctx_.cache.client(ctx_.config.warehouse_url)) {
      warehouse = *cached;
    }
    st_.client_acquire_ns.push_back(
        std::chrono::duration<double, std::nano>(steady_clock::now() - acquire_start).count());
    return warehouse;
  }

  Result<wh::RowSet> fetch_rows(int b) {
    const std::string url = ctx_.config.source_url + "/batch?processor=" + std::to_string(p_) +
                            "&batch=" + std::to_string(b);
    FetchOutcome fetched = ctx_.fetcher.fetch(url, [&](const RetryEvent& e) {
      st_.retry_delays_ms.push_back(delay_ms(e));
      mark(false, "http");
    });
    st_.http_requests += static_cast<std::uint64_t>(fetched.attempts);
    if (fetched.attempts > 1) retried_ = true;
    st_.retries += static_cast<std::uint64_t>(std::max(0, fetched.attempts - 1));
    if (!fetched.body) return fail(std::move(fetched.body.error()));
    st_.http_latency_ms.push_back(fetched.latency_ms);
    auto rows = parse_batch(*fetched.body);
    if (rows && !ctx_.config.builtin_source) {
      for (const wh::Row& row : rows->rows) {
        if (const auto* id = std::get_if<std::int64_t>(&row[0]))
          shard_.fetched[*id] = Record{.id = *id, .name = {}, .score = 0};
      }
    }
    return rows;
  }

  // Writes through the batch writer; the whole attempt is retried.
  // The naive BigQuery loop submits once and re-waits on the failed job.
  Status write(std::shared_ptr<wh::Warehouse> warehouse, wh::RowSet rows) {
    auto writer = wh::BatchWriter::make(
        std::move(warehouse),
        {.table = ctx_.table,
         .keys = {"id"},
         .policy = naive_bigquery_ ? submit_once(write_policy_) : write_policy_});
    if (!writer) return fail(std::move(writer.error()));
    wh::WriteOutcome out = writer->write(std::move(rows));
    if (naive_bigquery_) rewait_like_the_seed(out, write_policy_);
    const RetryReport& report = out.report.retry;
    if (report.attempts > 1) retried_ = true;
    st_.retries += static_cast<std::uint64_t>(report.retries());
    st_.conflicts += failures_of(report, ErrorClass::serialization_conflict);
    st_.too_many_connections += failures_of(report, ErrorClass::too_many_connections);
    return out.status;
  }

  void finish(const Error* error) {
    const bool ok = error == nullptr;
    if (retried_) ++st_.operations_retried;
    if (retried_ && ok) ++st_.operations_recovered;
    if (!ok) {
      ++st_.operations_failed;
      if (st_.sample_errors.size() < 3) st_.sample_errors.push_back(error->describe());
    }
    mark(ok, "write");
    if (ctx_.progress) ctx_.progress(ctx_.done.fetch_add(1) + 1, ctx_.total);
  }

  void mark(bool ok, const char* kind) {
    st_.timeline.push_back(
        {.processor = p_, .at_ms = ms_since(ctx_.start), .ok = ok, .kind = kind});
  }

  const RunContext& ctx_;
  const int p_;
  Shard& shard_;
  RunStats& st_;
  const bool naive_;
  const bool naive_bigquery_;
  RetryPolicy write_policy_;
  bool retried_ = false;
};

}  // namespace

void run_processor(const RunContext& context, int p, Shard& shard) {
  Processor(context, p, shard).run();
}

}  // namespace rebound::fleet::detail
