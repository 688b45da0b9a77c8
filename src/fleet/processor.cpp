#include "processor.hpp"

#include <nlohmann/json.hpp>

#include <vector>

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

// The transform step of a processor: {"records": [...]} to the target's rows.
Result<std::vector<nlohmann::json>> parse_batch(const std::string& body) {
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
    // Keep the columns the target has.
    rows.push_back({{"id", record["id"]},
                    {"name", record.value("name", "")},
                    {"score", record.value("score", 0)}});
  }
  return rows;
}

class Processor {
 public:
  Processor(const RunContext& context, int p, RunStats& stats)
      : ctx_(context), p_(p), st_(stats), naive_(context.mode == Mode::naive) {
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
    return write(std::move(warehouse), *rows);
  }

  // A warehouse client: fresh (naive) or from the keyed cache (rebound).
  std::shared_ptr<wh::Warehouse> acquire_client() {
    std::shared_ptr<wh::Warehouse> warehouse;
    const auto acquire_start = steady_clock::now();
    if (naive_) {
      auto fresh = wh::open_warehouse(ctx_.config.warehouse_url, {.pool_size = 1});
      if (fresh) {
        // Connecting is part of making a client: do it now, as a new client would.
        auto connected = (*fresh)->with_session([](wh::Session&) -> Status { return {}; });
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

  Result<std::vector<nlohmann::json>> fetch_rows(int b) {
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
    return parse_batch(*fetched.body);
  }

  // Writes through the batch writer; the whole attempt is retried.
  Status write(std::shared_ptr<wh::Warehouse> warehouse, const std::vector<nlohmann::json>& rows) {
    auto writer = wh::BatchWriter::make(
        std::move(warehouse), {.table = ctx_.table, .keys = {"id"}, .policy = write_policy_});
    if (!writer) return fail(std::move(writer.error()));
    const wh::WriteOutcome out = writer->write(rows);
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
  RunStats& st_;
  const bool naive_;
  RetryPolicy write_policy_;
  bool retried_ = false;
};

}  // namespace

void run_processor(const RunContext& context, int p, RunStats& stats) {
  Processor(context, p, stats).run();
}

}  // namespace rebound::fleet::detail
