// The back-end factory: the URL's scheme picks SQLite or PostgreSQL.
#include "rebound/warehouse/open.hpp"

#include <string>

#include "rebound/core/redact.hpp"
#include "rebound/warehouse/postgres_warehouse.hpp"
#include "rebound/warehouse/sqlite_warehouse.hpp"

namespace rebound::warehouse {

Result<std::shared_ptr<Warehouse>> open_warehouse(std::string_view url,
                                                  const OpenOptions& options) {
  if (url.empty()) {
    return fail(Error::permanent(
                    "empty warehouse URL; use a file path, sqlite:///path or postgresql://host/db")
                    .with_reason(OpenRefusal::empty_url));
  }
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    // No scheme: a file path for the embedded back end.
    return make_sqlite_warehouse({.path = std::string(url),
                                  .pool_size = options.pool_size,
                                  .acquire_timeout = options.acquire_timeout});
  }
  const std::string_view scheme = url.substr(0, sep);
  if (scheme == "sqlite") {
    // sqlite:///abs/path -> /abs/path; sqlite://rel/path -> rel/path.
    return make_sqlite_warehouse({.path = std::string(url.substr(sep + 3)),
                                  .pool_size = options.pool_size,
                                  .acquire_timeout = options.acquire_timeout});
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    return make_postgres_warehouse({.url = std::string(url),
                                    .pool_size = options.pool_size,
                                    .acquire_timeout = options.acquire_timeout});
  }
  return fail(Error::permanent("unsupported warehouse scheme \"" + std::string(scheme) + "\" in " +
                               redact_url(url) +
                               "; use a file path, sqlite:///path, postgresql:// or postgres://")
                  .with_reason(OpenRefusal::unsupported_scheme));
}

}  // namespace rebound::warehouse
