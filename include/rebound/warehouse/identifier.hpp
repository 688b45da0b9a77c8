// Identifiers — validated, quoted table and column names.
//
// Values never reach SQL text (they are bound as parameters or streamed by
// COPY); names cannot be bound, so they are validated against one strict rule
// and then always double-quoted:
//
//   each part matches [A-Za-z_][A-Za-z0-9_]*, 1..63 bytes (PostgreSQL's limit);
//   a table name is `table` or `schema.table`; a column name has one part.
//
// Anything else — empty names, NUL bytes, quotes, semicolons, spaces, dashes,
// non-ASCII — is rejected with a permanent Error that names the value. Quoting
// keeps case exactly: `Stats` and `stats` are different tables.
//
//   auto t = rebound::warehouse::parse_table_name("analytics.daily_stats");
//   if (!t) return fail(t.error());  // e.g. table name "x; drop" is not a valid identifier ...
//   std::string sql = "SELECT count(*) FROM " + t->quoted();  // "analytics"."daily_stats"
//
// Thread safety: pure functions and value types.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "rebound/core/error.hpp"

namespace rebound::warehouse {

inline constexpr std::size_t kMaxIdentifierBytes = 63;

// Checks one part (a column name, a schema or a table). `what` names the role
// in the message ("column", "table", "key column").
[[nodiscard]] Status validate_identifier(std::string_view name,
                                         std::string_view what = "identifier");

// "name" with embedded quotes doubled. Callers validate first; the doubling is
// a second line of defence, not the rule.
[[nodiscard]] std::string quote_identifier(std::string_view name);

struct TableName {
  std::string schema;  // empty: the back end's default (PostgreSQL search_path, SQLite main)
  std::string name;

  // "schema"."name" or "name".
  [[nodiscard]] std::string quoted() const;
  // schema.name or name, for messages.
  [[nodiscard]] std::string display() const;

  friend bool operator==(const TableName&, const TableName&) = default;
};

// Parses `table` or `schema.table`; each part must pass validate_identifier.
// Errors (permanent): empty, more than one dot, an invalid part — the message
// quotes the whole input and says which rule it broke.
[[nodiscard]] Result<TableName> parse_table_name(std::string_view text);

}  // namespace rebound::warehouse
