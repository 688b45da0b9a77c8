// The BigQuery Warehouse: bigquery://PROJECT/DATASET?location=EU behind the
// same interface as SQLite and PostgreSQL, on rebound's HTTP client.
//
//   auto wh = rebound::warehouse::open_warehouse("bigquery://my-proj/stats?location=EU").value();
//   auto w = rebound::warehouse::BatchWriter::make(wh, {.table = "box", .keys = {"id"},
//                                                       .create_table = true}).value();
//   w.write(rows);   // staging table -> load job -> MERGE job -> delete, retried as one unit
//
// Mapping (docs/bigquery.md has the why):
//   execute/query  jobs.query with a requestId (kept across HTTP retries, new
//                  per job re-run), `$n` -> @pN named parameters, "ident" ->
//                  `ident` (sql.hpp); results paged through getQueryResults.
//   load           a load job (NDJSON, WRITE_APPEND, CREATE_NEVER) via upload.hpp.
//   describe       tables.get (404 -> nullopt).
//   create_table   tables.insert (409 -> already there); a missing dataset is
//                  created first. Temporary tables get expirationTime.
//   merge          a MERGE query job through Jobs (client-chosen job id).
//   drop_table     tables.delete (404 -> success).
//   merge_rows     the batch writer's unit: staging table with a short
//                  expirationTime, load job, MERGE job on the keys, delete.
//   transaction    refused: BigQuery has no transaction spanning REST calls
//                  (a permanent error naming the alternatives); with_session
//                  runs the callback with autocommit statements.
// Names: `table` lives in the URL's dataset, `dataset.table` in that dataset.
//
// Thread safety: thread-safe; every call is independent REST traffic.
#pragma once

#include <memory>
#include <string_view>

#include "rebound/warehouse/bigquery/client.hpp"
#include "rebound/warehouse/warehouse.hpp"

namespace rebound::bigquery {

struct WarehouseOptions {
  std::string dataset;  // default dataset for unqualified table names
  Duration staging_expiration = std::chrono::hours{1};
  Duration query_timeout = std::chrono::seconds{10};  // jobs.query timeoutMs (long poll)
  int max_query_runs = 3;  // jobs.query re-runs (new requestId) after a failed job
};

[[nodiscard]] Result<std::shared_ptr<warehouse::Warehouse>> make_bigquery_warehouse(
    std::shared_ptr<Client> client, WarehouseOptions options);

// open_warehouse("bigquery://…"): the cached client(project, location) when
// the URL has no endpoint=/auth= and matches the environment, else a client of
// its own; credentials from ADC unless anonymous.
[[nodiscard]] Result<std::shared_ptr<warehouse::Warehouse>> open_bigquery_warehouse(
    std::string_view url);

}  // namespace rebound::bigquery
