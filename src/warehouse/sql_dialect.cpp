// The SQL text of the PostgreSQL and SQLite back ends; see
// include/rebound/warehouse/internal/sql_dialect.hpp.
#include "rebound/warehouse/internal/sql_dialect.hpp"

#include <algorithm>

namespace rebound::warehouse::detail {
namespace {

bool is_key(std::span<const std::string> keys, const std::string& column) {
  return std::find(keys.begin(), keys.end(), column) != keys.end();
}

// ", " between items.
void append_item(std::string& list, const std::string& item) {
  if (!list.empty()) list += ", ";
  list += item;
}

std::string quoted_list(std::span<const std::string> names) {
  std::string out;
  for (const std::string& n : names) append_item(out, quote_identifier(n));
  return out;
}

// s."col", cast to the target column's declared type when known
// (format_type's output is valid SQL).
std::string staged_value(const std::string& column, std::span<const DeclaredType> target_types) {
  const std::string q = "s." + quote_identifier(column);
  for (const DeclaredType& t : target_types) {
    if (t.column == column) return "CAST(" + q + " AS " + t.type + ")";
  }
  return q;
}

std::string postgres_merge(const TableName& staging, const TableName& target, const Schema& columns,
                           std::span<const std::string> keys,
                           std::span<const DeclaredType> target_types) {
  std::string on;
  for (const std::string& k : keys) {
    if (!on.empty()) on += " AND ";
    on += "t." + quote_identifier(k) + " = " + staged_value(k, target_types);
  }
  std::string cols;
  std::string vals;
  std::string updates;
  for (const Column& c : columns.columns) {
    const std::string q = quote_identifier(c.name);
    append_item(cols, q);
    append_item(vals, staged_value(c.name, target_types));
    if (!is_key(keys, c.name)) append_item(updates, q + " = " + staged_value(c.name, target_types));
  }
  std::string sql =
      "MERGE INTO " + target.quoted() + " AS t USING " + staging.quoted() + " AS s ON " + on;
  if (!updates.empty()) sql += " WHEN MATCHED THEN UPDATE SET " + updates;
  sql += " WHEN NOT MATCHED THEN INSERT (" + cols + ") VALUES (" + vals + ")";
  return sql;
}

std::string sqlite_upsert(const TableName& staging, const TableName& target, const Schema& columns,
                          std::span<const std::string> keys) {
  const std::string cols = column_list(columns);
  std::string updates;
  for (const Column& c : columns.columns) {
    const std::string q = quote_identifier(c.name);
    if (!is_key(keys, c.name)) append_item(updates, q + " = excluded." + q);
  }
  // "WHERE true" resolves the parser ambiguity between a join's ON and upsert's ON CONFLICT.
  return "INSERT INTO " + target.quoted() + " (" + cols + ") SELECT " + cols + " FROM " +
         staging.quoted() + " WHERE true ON CONFLICT (" + quoted_list(keys) + ") DO " +
         (updates.empty() ? "NOTHING" : "UPDATE SET " + updates);
}

}  // namespace

std::string_view sql_type(SqlDialect dialect, ColumnType type) noexcept {
  const bool pg = dialect == SqlDialect::postgresql;
  switch (type) {
    case ColumnType::boolean:
      return pg ? "boolean" : "BOOLEAN";
    case ColumnType::integer:
      return pg ? "bigint" : "INTEGER";
    case ColumnType::real:
      return pg ? "double precision" : "REAL";
    case ColumnType::text:
      break;
  }
  return pg ? "text" : "TEXT";
}

std::string column_list(const Schema& schema) {
  std::string out;
  for (const Column& c : schema.columns) append_item(out, quote_identifier(c.name));
  return out;
}

std::string create_table_sql(SqlDialect dialect, const TableName& table, const Schema& schema,
                             std::span<const std::string> keys, bool temporary) {
  std::string sql = temporary ? "CREATE TEMP TABLE " : "CREATE TABLE IF NOT EXISTS ";
  // Temporary tables live in the back end's temp schema: named unqualified.
  sql += temporary ? quote_identifier(table.name) : table.quoted();
  std::string columns;
  for (const Column& col : schema.columns) {
    std::string def = quote_identifier(col.name) + " " + std::string(sql_type(dialect, col.type));
    if (!col.nullable && !temporary) def += " NOT NULL";
    append_item(columns, def);
  }
  sql += " (" + columns;
  if (!keys.empty()) sql += ", PRIMARY KEY (" + quoted_list(keys) + ")";
  return sql + ")";
}

std::string drop_table_sql(const TableName& table) {
  return "DROP TABLE IF EXISTS " + table.quoted();
}

std::string load_sql(SqlDialect dialect, const TableName& table, const Schema& columns) {
  if (dialect == SqlDialect::postgresql) {
    return "COPY " + table.quoted() + " (" + column_list(columns) + ") FROM STDIN";
  }
  std::string values;
  for (std::size_t c = 0; c < columns.columns.size(); ++c) {
    append_item(values, "?" + std::to_string(c + 1));
  }
  return "INSERT INTO " + table.quoted() + " (" + column_list(columns) + ") VALUES (" + values +
         ")";
}

std::string merge_sql(SqlDialect dialect, const TableName& staging, const TableName& target,
                      const Schema& columns, std::span<const std::string> keys,
                      std::span<const DeclaredType> target_types) {
  if (dialect == SqlDialect::postgresql) {
    return postgres_merge(staging, target, columns, keys, target_types);
  }
  return sqlite_upsert(staging, target, columns, keys);
}

std::string analyze_sql(const TableName& table, std::span<const std::string> keys) {
  return "ANALYZE " + table.quoted() + (keys.empty() ? "" : " (" + quoted_list(keys) + ")");
}

std::string_view analyze_sample_sql() noexcept {
  return "SET LOCAL default_statistics_target = 10";
}

std::string_view describe_sql(SqlDialect dialect) noexcept {
  if (dialect == SqlDialect::postgresql) {
    return "SELECT a.attname::text, a.atttypid::int8, NOT a.attnotnull FROM "
           "pg_catalog.pg_attribute "
           "a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
           "ORDER BY a.attnum";
  }
  return "SELECT name, type, \"notnull\" FROM pragma_table_info($1, $2) ORDER BY cid";
}

std::string_view declared_types_sql() noexcept {
  return "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM "
         "pg_catalog.pg_attribute "
         "a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped";
}

const char* begin_sql(SqlDialect dialect, const TransactionOptions& options) noexcept {
  if (dialect == SqlDialect::postgresql) {
    return options.isolation == Isolation::serializable ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                                                        : "BEGIN";
  }
  return options.write ? "BEGIN IMMEDIATE" : "BEGIN";
}

}  // namespace rebound::warehouse::detail
