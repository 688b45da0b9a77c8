// Cells, rows and schemas — the data the warehouse moves, independent of any back end.
//
// A Value is null, bool, int64, double or text. A RowSet is a Schema (named,
// typed columns) plus rows whose cells are in schema order. Rows usually come
// from JSON objects (e.g. NDJSON lines):
//
//   std::vector<nlohmann::json> objs = {{{"id", 1}, {"name", "a"}}, {{"id", 2}, {"score", 0.5}}};
//   auto rows = rebound::warehouse::rows_from_json(objs);
//   // schema: id integer not null, name text null, score real null; missing keys are null
//
// Columns are ordered by first appearance, in each object's key order (a
// nlohmann::json object keeps its keys sorted). Type inference per column, over every row: only
// booleans -> boolean; only integers -> integer; integers and doubles -> real; strings -> text;
// null or missing -> nullable (all null -> text). Any other mix (text and numbers, booleans and
// numbers) is an error naming the column and the row; nested objects and arrays are rejected
// (flatten them or send them as strings).
//
// Thread safety: value types and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rebound/core/error.hpp"

namespace rebound::warehouse {

enum class ColumnType : std::uint8_t { boolean, integer, real, text };

// "boolean", "integer", "real", "text".
[[nodiscard]] std::string_view to_string(ColumnType t) noexcept;

using Null = std::monostate;
using Value = std::variant<Null, bool, std::int64_t, double, std::string>;
using Row = std::vector<Value>;  // cells in Schema order

[[nodiscard]] inline bool is_null(const Value& v) noexcept {
  return std::holds_alternative<Null>(v);
}
// The type of a column that holds values of types a and b, by the inference
// rule above: the same type stays; integer and real widen to real; any other
// mix is a conflict (nullopt).
[[nodiscard]] std::optional<ColumnType> unify(ColumnType a, ColumnType b) noexcept;
// The column type a non-null value has; nullopt for null.
[[nodiscard]] std::optional<ColumnType> type_of(const Value& v) noexcept;
// Human-readable rendering for messages and tests: null, true, 42, 0.5, "text".
[[nodiscard]] std::string to_display(const Value& v);

struct Column {
  std::string name;
  ColumnType type = ColumnType::text;
  bool nullable = true;
  friend bool operator==(const Column&, const Column&) = default;
};

struct Schema {
  std::vector<Column> columns;

  [[nodiscard]] std::optional<std::size_t> index_of(std::string_view name) const noexcept;
  [[nodiscard]] const Column* find(std::string_view name) const noexcept;
  // "id integer not null, name text"
  [[nodiscard]] std::string describe() const;
  friend bool operator==(const Schema&, const Schema&) = default;
};

struct RowSet {
  Schema schema;
  std::vector<Row> rows;
};

struct JsonRowsOptions {
  // Largest text cell accepted, in bytes; larger is an error naming the row
  // and column (guards memory and the back ends' own limits).
  std::size_t max_text_bytes = std::size_t{16} << 20;
  // Most columns per row, and distinct columns across all rows (PostgreSQL
  // allows 1600 per table, SQLite 2000 by default); more is an error naming the row.
  std::size_t max_columns = 2000;
  // When set, source_lines[i] is the input line of object i and messages say
  // "line N" instead of "row N" (the CLI passes NDJSON line numbers).
  std::span<const std::size_t> source_lines = {};
};

// Builds a RowSet from JSON objects (see the header comment for the rules).
// Every column name must pass validate_identifier. Errors (permanent) name the
// row or line, the column and the offending value's type.
[[nodiscard]] Result<RowSet> rows_from_json(std::span<const nlohmann::json> objects,
                                            const JsonRowsOptions& options = {});

// Checks `rows` against an existing table's schema and converts cells to it:
// every column of `rows` must exist in `table` (else "missing column"), and
// each value must fit the column's type (integer -> real widens; nothing else
// converts). Key columns must be present and non-null in every row. Returns
// the rows re-typed to the table's column types (same column order as rows).
[[nodiscard]] Result<RowSet> conform(RowSet rows, const Schema& table, std::string_view table_name,
                                     std::span<const std::string> keys);

}  // namespace rebound::warehouse
