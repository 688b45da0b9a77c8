// sql — the warehouse's portable statement dialect, rewritten for BigQuery.
//
//   auto s = rebound::bigquery::translate_sql(R"(SELECT "name" FROM "t" WHERE id = $1;)");
//   s->sql == "SELECT `name` FROM `t` WHERE id = @p1";  s->max_placeholder == 1
//
// Warehouse callers write one dialect for every back end: `$1`, `$2` …
// placeholders and double-quoted identifiers (identifier.hpp). BigQuery
// reads "…" as a string and has no `$n`, so outside string literals and
// comments: "ident" -> `ident`, $n -> @pN (named parameters). One statement
// per call, as on SQLite and PostgreSQL: a trailing `;` and comments are
// dropped; a second statement is an error (non_retriable), nothing is sent.
//
// Thread safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "rebound/core/error.hpp"
#include "rebound/warehouse/value.hpp"

namespace rebound::bigquery {

struct TranslatedSql {
  std::string sql;
  int max_placeholder = 0;  // highest $n seen
};

[[nodiscard]] Result<TranslatedSql> translate_sql(std::string_view sql);

// queryParameters for @p1 … @pN: INT64 / FLOAT64 / BOOL / STRING; a null is a
// typed NULL (STRING: BigQuery needs a type, the emulator ignores it).
[[nodiscard]] nlohmann::json query_parameters(std::span<const warehouse::Value> params);

}  // namespace rebound::bigquery
