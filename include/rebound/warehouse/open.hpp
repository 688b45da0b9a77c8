// open_warehouse — picks a back end from a warehouse URL and opens it.
//
//   auto wh = rebound::warehouse::open_warehouse("postgresql://u:pw@db/stats").value();
//   auto local = rebound::warehouse::open_warehouse("/tmp/stats.db", {.pool_size = 4});
//
// URL forms:
//   /path/file.db, relative/file.db, sqlite:///abs/path, sqlite://rel/path -> SQLite
//   postgresql://… and postgres://…                                        -> PostgreSQL
//   bigquery://PROJECT/DATASET?location=EU                                 -> BigQuery
//     (bigquery/bigquery_warehouse.hpp: endpoint=, auth=none, BIGQUERY_EMULATOR_HOST)
//   host=… dbname=… (libpq keyword form: starts with `word=`)              -> PostgreSQL
// A string that starts with `word=` but is not valid libpq keyword syntax is
// refused, never taken as a file name (it would hold the password).
// Anything else (another scheme, empty) is a permanent Error naming the
// scheme. Messages never contain the password (rebound::redact_url).
//
// Thread safety: a free function; call it from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"
#include "rebound/warehouse/warehouse.hpp"

namespace rebound::warehouse {

// Why open_warehouse refused a URL before trying a back end: the typed
// Error::reason of those errors.
enum class OpenRefusal : std::uint8_t { empty_url, unsupported_scheme };

struct OpenOptions {
  std::size_t pool_size = 8;  // connections per warehouse (both back ends)
  Duration acquire_timeout = std::chrono::seconds{5};
  // PostgreSQL: longest a session may wait on the server (PostgresOptions).
  Duration statement_timeout = std::chrono::seconds{60};
};

// The back end the URL names, opened with `options`. Errors: an empty URL or
// an unknown scheme (permanent); the back end's own errors when it cannot open.
[[nodiscard]] Result<std::shared_ptr<Warehouse>> open_warehouse(std::string_view url,
                                                                const OpenOptions& options = {});

// Whether open_warehouse takes URLs of this scheme ("sqlite", "postgresql",
// "postgres", "bigquery"): for a command line that checks its flags before
// any work, with the one list open_warehouse dispatches on.
[[nodiscard]] bool known_warehouse_scheme(std::string_view scheme) noexcept;

namespace detail {
// Starts with `keyword=` (libpq's keyword/value form, not a file path).
[[nodiscard]] bool looks_like_conninfo(std::string_view text);
// libpq's own parser accepts it.
[[nodiscard]] bool parses_as_conninfo(std::string_view text);
}  // namespace detail

}  // namespace rebound::warehouse
