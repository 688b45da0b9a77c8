// SQL text of the SQL back ends — the statements the PostgreSQL and SQLite
// warehouses send for the Session operations (create, describe, load,
// merge/upsert, drop, begin), built in one place for a dialect. Internal:
// used by src/warehouse/postgres_warehouse.cpp and sqlite_warehouse.cpp and
// by their unit tests; not an API.
//
//   using namespace rebound::warehouse;
//   const Schema s{.columns = {{.name = "id", .type = ColumnType::integer, .nullable = false}}};
//   const TableName t{.schema = "stats", .name = "box"};
//   const std::string keys[] = {"id"};
//   detail::create_table_sql(detail::SqlDialect::sqlite, t, s, keys, false);
//   // CREATE TABLE IF NOT EXISTS "stats"."box" ("id" INTEGER NOT NULL, PRIMARY KEY ("id"))
//
// Names are always quoted with quote_identifier (callers validate them
// first, identifier.hpp); values never appear in the text — they are bound
// ($1, ?1) or streamed (COPY).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "rebound/warehouse/identifier.hpp"
#include "rebound/warehouse/value.hpp"
#include "rebound/warehouse/warehouse.hpp"

namespace rebound::warehouse::detail {

enum class SqlDialect : std::uint8_t { postgresql, sqlite };

// The type a column of `type` is declared with: PostgreSQL boolean, bigint,
// double precision, text; SQLite BOOLEAN, INTEGER, REAL, TEXT.
[[nodiscard]] std::string_view sql_type(SqlDialect dialect, ColumnType type) noexcept;

// "a", "b", "c": the schema's column names, quoted, in order.
[[nodiscard]] std::string column_list(const Schema& schema);

// CREATE TABLE IF NOT EXISTS <table> (<col> <type> [NOT NULL], …[, PRIMARY
// KEY (<keys>)]). A temporary table is CREATE TEMP TABLE with the bare name
// (both back ends put it in their own temp schema), and no NOT NULL: staging
// accepts what conform() accepted, the target enforces.
[[nodiscard]] std::string create_table_sql(SqlDialect dialect, const TableName& table,
                                           const Schema& schema, std::span<const std::string> keys,
                                           bool temporary);

// DROP TABLE IF EXISTS <table>.
[[nodiscard]] std::string drop_table_sql(const TableName& table);

// How rows are appended to `table`: PostgreSQL COPY <table> (<cols>) FROM
// STDIN (text format); SQLite INSERT INTO <table> (<cols>) VALUES (?1, …),
// one prepared statement run per row.
[[nodiscard]] std::string load_sql(SqlDialect dialect, const TableName& table,
                                   const Schema& columns);

// A column's declared type in the target table as the server spells it
// (PostgreSQL format_type: "timestamp with time zone", "jsonb", …).
struct DeclaredType {
  std::string column;
  std::string type;
};

// Upserts every row of `staging` into `target` matching on `keys`, writing
// `columns`:
//  - PostgreSQL: MERGE INTO <target> AS t USING <staging> AS s ON t.k = s.k …
//    WHEN MATCHED THEN UPDATE SET … WHEN NOT MATCHED THEN INSERT …; each
//    staging column is cast to its `target_types` entry when it has one
//    (staging holds text; the target may be timestamptz, jsonb, …). No
//    non-key column: no WHEN MATCHED clause.
//  - SQLite: INSERT INTO <target> (…) SELECT … FROM <staging> WHERE true ON
//    CONFLICT (<keys>) DO UPDATE SET c = excluded.c … (DO NOTHING when every
//    column is a key); `target_types` is ignored.
[[nodiscard]] std::string merge_sql(SqlDialect dialect, const TableName& staging,
                                    const TableName& target, const Schema& columns,
                                    std::span<const std::string> keys,
                                    std::span<const DeclaredType> target_types = {});

// PostgreSQL only: ANALYZE <table> (<keys>) — the staging table's row count
// and its key columns' statistics, which is all the MERGE plan needs (a
// temporary staging table is never auto-analyzed; see merge in
// postgres_warehouse.cpp for why it matters). No keys: every column. Run it
// after analyze_sample_sql() in the same transaction.
[[nodiscard]] std::string analyze_sql(const TableName& table,
                                      std::span<const std::string> keys = {});
// SET LOCAL default_statistics_target = 10: ANALYZE samples 3,000 rows, ~1 ms
// where the default sample of 100k staged rows costs ~40 ms.
[[nodiscard]] std::string_view analyze_sample_sql() noexcept;

// The catalog query describe() runs; one row per column, in column order.
//  - PostgreSQL: name text, type oid int8, nullable bool; $1 = the quoted
//    table name (to_regclass).
//  - SQLite: name, declared type, "notnull" 0/1; $1 = table, $2 = schema
//    ("main" when the name has none).
[[nodiscard]] std::string_view describe_sql(SqlDialect dialect) noexcept;

// PostgreSQL only: column name and format_type() of every column of the
// table named by $1 (quoted), for merge_sql's casts.
[[nodiscard]] std::string_view declared_types_sql() noexcept;

// The statement that opens a transaction: PostgreSQL BEGIN [ISOLATION LEVEL
// SERIALIZABLE]; SQLite BEGIN [IMMEDIATE] (always serializable; IMMEDIATE
// when options.write takes the write lock at once).
[[nodiscard]] const char* begin_sql(SqlDialect dialect, const TransactionOptions& options) noexcept;

}  // namespace rebound::warehouse::detail
