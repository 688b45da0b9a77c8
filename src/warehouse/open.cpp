// The back-end factory: the URL's scheme picks SQLite, PostgreSQL or BigQuery.
#include "rebound/warehouse/open.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <string>

#include "rebound/core/redact.hpp"
#include "rebound/warehouse/bigquery/bigquery_warehouse.hpp"
#include "rebound/warehouse/postgres_warehouse.hpp"
#include "rebound/warehouse/sqlite_warehouse.hpp"

namespace rebound::warehouse {
namespace detail {

bool looks_like_conninfo(std::string_view text) {
  // keyword= at the start (after blanks): no file path an operator types
  // looks like that, and every libpq keyword is letters and underscores.
  std::size_t i = text.find_first_not_of(" \t");
  if (i == std::string_view::npos) return false;
  const std::size_t start = i;
  while (i < text.size() && (std::isalpha(static_cast<unsigned char>(text[i])) || text[i] == '_'))
    ++i;
  if (i == start) return false;
  i = text.find_first_not_of(" \t", i);
  return i != std::string_view::npos && text[i] == '=';
}

bool parses_as_conninfo(std::string_view text) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(std::string(text).c_str(), &err);
  if (err) PQfreemem(err);  // may quote the password: never shown
  if (!parsed) return false;
  PQconninfoFree(parsed);
  return true;
}

}  // namespace detail

bool known_warehouse_scheme(std::string_view scheme) noexcept {
  return scheme == "sqlite" || scheme == "postgresql" || scheme == "postgres" ||
         scheme == "bigquery";
}

Result<std::shared_ptr<Warehouse>> open_warehouse(std::string_view url,
                                                  const OpenOptions& options) {
  if (url.empty()) {
    return fail(Error::permanent(
                    "empty warehouse URL; use a file path, sqlite:///path or postgresql://host/db")
                    .with_reason(OpenRefusal::empty_url));
  }
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos && detail::looks_like_conninfo(url)) {
    // "host=db user=app password=… dbname=stats": libpq's keyword form. It
    // used to become a SQLite file named after it, password included.
    if (!detail::parses_as_conninfo(url)) {
      return fail(Error::permanent(
          "cannot parse the PostgreSQL connection string " + redact_url(url) +
          " (keyword=value pairs separated by spaces, values with spaces in single quotes); "
          "for a SQLite file whose name starts with word=, use sqlite:///path"));
    }
    return make_postgres_warehouse({.url = std::string(url),
                                    .pool_size = options.pool_size,
                                    .acquire_timeout = options.acquire_timeout,
                                    .statement_timeout = options.statement_timeout});
  }
  if (sep == std::string_view::npos) {
    // No scheme: a file path for the embedded back end.
    return make_sqlite_warehouse({.path = std::string(url),
                                  .pool_size = options.pool_size,
                                  .acquire_timeout = options.acquire_timeout});
  }
  const std::string_view scheme = url.substr(0, sep);
  if (!known_warehouse_scheme(scheme)) {
    return fail(Error::permanent("unsupported warehouse scheme \"" + std::string(scheme) +
                                 "\" in " + redact_url(url) +
                                 "; use a file path, sqlite:///path, postgresql://, postgres:// or "
                                 "bigquery://")
                    .with_reason(OpenRefusal::unsupported_scheme));
  }
  if (scheme == "sqlite") {
    // sqlite:///abs/path -> /abs/path; sqlite://rel/path -> rel/path.
    return make_sqlite_warehouse({.path = std::string(url.substr(sep + 3)),
                                  .pool_size = options.pool_size,
                                  .acquire_timeout = options.acquire_timeout});
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    return make_postgres_warehouse({.url = std::string(url),
                                    .pool_size = options.pool_size,
                                    .acquire_timeout = options.acquire_timeout,
                                    .statement_timeout = options.statement_timeout});
  }
  return bigquery::open_bigquery_warehouse(url);  // the last known scheme
}

}  // namespace rebound::warehouse
