// BatchWriter — retry-safe bulk upserts: rows in, each key exactly once out.
//
// One write() is one retried operation. Every attempt, from the beginning,
// calls Warehouse::merge_rows(), the back end's atomic upsert of a batch. On
// SQLite and PostgreSQL (the default implementation) that:
//   1. leases a connection and opens a transaction (SERIALIZABLE on PostgreSQL,
//      BEGIN IMMEDIATE on SQLite);
//   2. creates a fresh temporary staging table (a new name per attempt);
//   3. loads the rows into it (COPY on PostgreSQL, prepared INSERT on SQLite);
//   4. merges staging into the target on the key columns (PostgreSQL MERGE,
//      SQLite INSERT … ON CONFLICT DO UPDATE);
//   5. drops the staging table (RAII: also when a step fails) and commits.
// On BigQuery (no multi-call transactions) it is a staging table with a short
// expirationTime, a load job, one MERGE job and a delete (docs/bigquery.md).
// The whole attempt — submission included — runs inside rebound::retry, so a
// serialization conflict re-runs the MERGE rather than re-waiting on a dead
// one. Because the operation is an upsert in one atomic step, a retry (even
// after a COMMIT or a MERGE job whose outcome was lost with the connection)
// never duplicates a row, and a failed attempt leaves the target untouched.
//
//   auto writer = rebound::warehouse::BatchWriter::make(wh, {
//       .table = "stats.box", .keys = {"day", "box"}, .create_table = true}).value();
//   auto out = writer.write(json_rows);
//   if (!out) std::cerr << out.status.error().message;  // names attempts and classes
//   out.report.rows_merged; out.report.retry.failures_of(ErrorClass::serialization_conflict);
//
// Duplicate keys inside one batch: the last row wins (MERGE refuses duplicate
// source rows, so the writer dedupes before loading); report.duplicates
// counts the rows dropped.
//
// Schema: the rows' schema is inferred (value.hpp). If the target exists, the
// rows are validated against it (missing column, incompatible type ->
// permanent error, nothing written). If it does not exist, it is created from
// the rows' types with the keys as primary key when create_table is set, else
// "table does not exist" is returned.
//
// Overload protection (docs/overload.md), off unless set: `circuit_breakers`
// and `rate_limiters` are registries keyed by the warehouse's (redacted) URL,
// so every writer given the same registry shares one breaker and one send
// limiter per warehouse; `stop` cancels a write (its retry sleep ends at once).
//
// Thread safety: a BatchWriter is immutable after make(); write() may be
// called from many threads at once (each call leases its own connection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rebound/retry/adaptive_rate.hpp"
#include "rebound/retry/circuit_breaker.hpp"
#include "rebound/retry/policy.hpp"
#include "rebound/retry/retry_loop.hpp"
#include "rebound/warehouse/value.hpp"
#include "rebound/warehouse/warehouse.hpp"

namespace rebound::warehouse {

// The writer's default: quota outer, serialization inner (the reference
// presets), plus transient and too_many_connections (restarts, lost
// connections, a pool that timed out): 10 attempts, 50 ms .. 2 s, full
// jitter. `scale` multiplies every duration (0.001 for tests and demos).
[[nodiscard]] RetryPolicy default_write_policy(double scale = 1.0);

struct BatchWriterOptions {
  std::string table;              // `table` or `schema.table`
  std::vector<std::string> keys;  // match columns; at least one
  bool create_table = false;      // create the target from the rows when absent
  RetryPolicy policy = default_write_policy();
  Clock* clock = nullptr;      // for the retry loop; default steady_clock()
  Sleeper* sleeper = nullptr;  // default real_sleeper()
  JsonRowsOptions json = {};   // limits for rows_from_json
  // Overload protection per warehouse URL (shared by every writer given the
  // same registry); off when null. Defaults: Polly v8 / AWS adaptive mode.
  std::shared_ptr<CircuitBreakers> circuit_breakers;
  std::shared_ptr<AdaptiveRateLimiters> rate_limiters;
  std::stop_token stop = {};  // cancels write(): checked between attempts, ends sleeps
};

struct WriteReport {
  std::size_t rows_read = 0;     // rows given to write()
  std::size_t duplicates = 0;    // rows dropped because a later row had the same key
  std::int64_t rows_merged = 0;  // rows inserted or updated by the successful attempt
  RetryReport retry;             // attempts, failures per class, time slept
  Duration elapsed{};            // wall time of write(), validation included
};

// Why a write refused its rows before changing the table: the typed
// Error::reason of those errors (permanent; the input must change, not the
// back end). Back-end errors carry no WriteRefusal.
enum class WriteRefusal : std::uint8_t {
  key_not_in_rows,  // a key column is missing from the rows
  no_such_table,    // the table does not exist and create_table is off
  rows_do_not_fit,  // a column or value does not fit the table (conform)
  bad_json,         // a JSON row could not become a typed row
};

struct WriteOutcome {
  Status status;
  WriteReport report;
  explicit operator bool() const noexcept { return status.has_value(); }
};

class BatchWriter {
 public:
  // Validates the options: table and key names (identifier.hpp), at least one
  // key, no duplicate keys, a valid policy. Errors are permanent.
  [[nodiscard]] static Result<BatchWriter> make(std::shared_ptr<Warehouse> warehouse,
                                                BatchWriterOptions options);

  // Converts JSON objects with rows_from_json, then writes them.
  [[nodiscard]] WriteOutcome write(std::span<const nlohmann::json> rows) const;
  // Validates (keys present and non-null, schema vs target), dedupes and
  // writes. Nothing is written unless every row is valid.
  [[nodiscard]] WriteOutcome write(RowSet rows) const;

  [[nodiscard]] const TableName& table() const noexcept { return table_; }

 private:
  BatchWriter(std::shared_ptr<Warehouse> warehouse, BatchWriterOptions options, TableName table)
      : warehouse_(std::move(warehouse)), options_(std::move(options)), table_(std::move(table)) {}

  std::shared_ptr<Warehouse> warehouse_;
  BatchWriterOptions options_;
  TableName table_;
};

}  // namespace rebound::warehouse
