// Warehouse — the interface every storage back end implements (SQLite,
// PostgreSQL, BigQuery). open_warehouse(url) in open.hpp picks one.
//
// A Warehouse hands out Sessions: one connection, used by one thread, for
// the length of a callback. Statements take parameters — values are bound,
// never spliced into SQL — and names go through identifier.hpp. Every error
// is already classified (classify::postgres / classify::sqlite), so a retry
// policy can act on it directly.
//
// clang-format off
//   using namespace rebound::warehouse;
//   auto wh = open_warehouse("sqlite:///tmp/stats.db").value();
//   const Value id = std::int64_t{7};
//   auto n = wh->execute("UPDATE box SET seen = true WHERE id = $1", {&id, 1});  // rows changed
//   auto st = wh->transaction({.isolation = Isolation::serializable},
//                             [&](Session& s) -> rebound::Status {
//     if (auto r = s.execute("DELETE FROM box WHERE id = $1", {&id, 1}); !r)
//       return rebound::fail(r.error());
//     return {};
//   });  // committed when the callback succeeds, rolled back when it fails
// clang-format on
//
// Placeholders are `$1`, `$2`, … on every back end (SQLite accepts them too).
//
// Thread safety: a Warehouse is thread-safe (share the shared_ptr across
// threads; each call leases its own connection). A Session belongs to the
// callback it was passed to and must not escape it or cross threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/core/error.hpp"
#include "rebound/pool/pool_stats.hpp"
#include "rebound/warehouse/identifier.hpp"
#include "rebound/warehouse/value.hpp"

namespace rebound::warehouse {

enum class Isolation : std::uint8_t {
  default_level,  // the back end's default (PostgreSQL read committed; SQLite is serializable)
  serializable,   // PostgreSQL SERIALIZABLE; conflicts surface as serialization_conflict
};

struct TransactionOptions {
  Isolation isolation = Isolation::default_level;
  // The transaction writes: SQLite takes the write lock at BEGIN (BEGIN
  // IMMEDIATE), so a conflict surfaces before any work is done.
  bool write = true;
  // The attempt's time budget (rebound::Attempt::time_left): statements that
  // have not finished by then fail as transient errors (PostgreSQL: 57014,
  // enforced on the client). nullopt: the back end's own limit.
  std::optional<Duration> timeout = std::nullopt;
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<Row> rows;
};

// One connection for the length of a callback.
class Session {
 public:
  virtual ~Session() = default;

  // Runs one statement; returns the number of rows it changed.
  [[nodiscard]] virtual Result<std::int64_t> execute(std::string_view sql,
                                                     std::span<const Value> params = {}) = 0;
  // Runs one statement and returns its rows, typed from the column types.
  [[nodiscard]] virtual Result<QueryResult> query(std::string_view sql,
                                                  std::span<const Value> params = {}) = 0;
  // Appends rows to an existing table (PostgreSQL COPY FROM STDIN; SQLite one
  // prepared INSERT). Cells must already match `rows.schema` (see conform()).
  [[nodiscard]] virtual Status load(const TableName& table, const RowSet& rows) = 0;
  // The table's columns, or nullopt when it does not exist.
  [[nodiscard]] virtual Result<std::optional<Schema>> describe(const TableName& table) = 0;
  // CREATE [TEMP] TABLE [IF NOT EXISTS] with `keys` as the primary key.
  // A temporary table lives in this connection only and takes no schema.
  [[nodiscard]] virtual Status create_table(const TableName& table, const Schema& schema,
                                            std::span<const std::string> keys, bool temporary) = 0;
  // Upserts every row of `staging` into `target` matching on `keys` (PostgreSQL
  // MERGE; SQLite INSERT … ON CONFLICT DO UPDATE). `columns` are the columns
  // to write; staging must hold no duplicate keys. Returns rows inserted + updated.
  [[nodiscard]] virtual Result<std::int64_t> merge(const TableName& staging,
                                                   const TableName& target, const Schema& columns,
                                                   std::span<const std::string> keys) = 0;
  // DROP TABLE IF EXISTS.
  [[nodiscard]] virtual Status drop_table(const TableName& table) = 0;
};

class Warehouse {
 public:
  virtual ~Warehouse() = default;

  // "sqlite", "postgresql" or "bigquery".
  [[nodiscard]] virtual std::string_view backend() const noexcept = 0;
  // The URL it was opened with, password redacted.
  [[nodiscard]] virtual const std::string& display_url() const noexcept = 0;

  // The connection pool's counters (created, reused, evicted, timeouts …).
  [[nodiscard]] virtual pool::PoolStats pool_stats() const = 0;

  // Runs fn on one connection in autocommit mode. Errors: acquiring the
  // connection (pool timeout, connect failure — transient / too_many_connections)
  // or fn's own error.
  [[nodiscard]] virtual Status with_session(const std::function<Status(Session&)>& fn) = 0;

  // Runs fn inside BEGIN … COMMIT on one connection. A failing fn, or a
  // failing COMMIT, rolls back and returns that error; the target is untouched.
  [[nodiscard]] virtual Status transaction(const TransactionOptions& options,
                                           const std::function<Status(Session&)>& fn) = 0;

  // Conveniences over with_session / transaction.
  [[nodiscard]] Result<std::int64_t> execute(std::string_view sql,
                                             std::span<const Value> params = {});
  [[nodiscard]] Result<QueryResult> query(std::string_view sql, std::span<const Value> params = {});
  // Appends rows atomically: one transaction by default; a back end without
  // transactions overrides it with its own atomic load (BigQuery: one load job).
  [[nodiscard]] virtual Status load(const TableName& table, const RowSet& rows);
  [[nodiscard]] Result<std::optional<Schema>> describe(const TableName& table);
  [[nodiscard]] Status create_table(const TableName& table, const Schema& schema,
                                    std::span<const std::string> keys);  // IF NOT EXISTS

  // What the batch writer's attempt writes: runs first inside the unit, on
  // the unit's session (the writer describes the target, creates it when
  // asked, and conforms the rows there), and returns the rows to write —
  // conformed to the target, no duplicate keys.
  using PrepareRows = std::function<Result<const RowSet*>(Session&)>;

  // One attempt of the batch writer: runs `prepare`, then upserts the rows it
  // returns into `target` on `keys` as one atomic unit, and returns rows
  // inserted + updated; on failure the target is untouched and no staging
  // table is left. The default runs one transaction with `options` (the
  // writer asks for SERIALIZABLE, bounded by the attempt's time left):
  // prepare, temporary staging table, load, merge, drop — so a failed attempt
  // leaves nothing behind, not even a table that prepare created. A back end
  // without multi-call transactions overrides it (BigQuery: a staging table
  // with a short expiration, a load job, one MERGE job, delete — there a
  // target that prepare created stays; docs/bigquery.md).
  [[nodiscard]] virtual Result<std::int64_t> merge_rows(const TableName& target,
                                                        std::span<const std::string> keys,
                                                        const PrepareRows& prepare,
                                                        const TransactionOptions& options);
};

}  // namespace rebound::warehouse
