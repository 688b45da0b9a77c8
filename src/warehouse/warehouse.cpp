// Warehouse conveniences, URL redaction and the back-end factory.
#include "rebound/warehouse/warehouse.hpp"

#include <unistd.h>

#include <atomic>

#include "rebound/warehouse/bigquery/bigquery_warehouse.hpp"
#include "rebound/warehouse/postgres_warehouse.hpp"
#include "rebound/warehouse/sqlite_warehouse.hpp"

namespace rebound::warehouse {
namespace {

std::string staging_name() {
  static std::atomic<std::uint64_t> counter{0};  // trivially constructed: no init-order issue
  return "rebound_stage_" + std::to_string(::getpid()) + "_" +
         std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
}

// The staging table of one attempt. Dropped explicitly on success (inside the
// transaction, so a failed drop fails the attempt); the destructor drops it on
// every failure path. When the transaction aborts or the connection dies, the
// rollback / session end removes it anyway and the drop is a harmless no-op.
class StagingTable {
 public:
  StagingTable(Session& session, TableName name) : session_(session), name_(std::move(name)) {}
  StagingTable(const StagingTable&) = delete;
  StagingTable& operator=(const StagingTable&) = delete;
  ~StagingTable() {
    if (live_) (void)session_.drop_table(name_);
  }
  Status create(const Schema& schema) {
    Schema loose = schema;  // staging accepts what conform() accepted; the target enforces
    for (Column& c : loose.columns) c.nullable = true;
    auto st = session_.create_table(name_, loose, {}, /*temporary=*/true);
    live_ = st.has_value();
    return st;
  }
  Status drop() {
    live_ = false;
    return session_.drop_table(name_);
  }
  [[nodiscard]] const TableName& name() const noexcept { return name_; }

 private:
  Session& session_;
  TableName name_;
  bool live_ = false;
};

}  // namespace

Result<std::int64_t> Warehouse::execute(std::string_view sql, std::span<const Value> params) {
  std::int64_t changed = 0;
  auto st = with_session([&](Session& s) -> Status {
    auto r = s.execute(sql, params);
    if (!r) return fail(std::move(r.error()));
    changed = *r;
    return {};
  });
  if (!st) return fail(std::move(st.error()));
  return changed;
}

Result<QueryResult> Warehouse::query(std::string_view sql, std::span<const Value> params) {
  QueryResult out;
  auto st = with_session([&](Session& s) -> Status {
    auto r = s.query(sql, params);
    if (!r) return fail(std::move(r.error()));
    out = std::move(*r);
    return {};
  });
  if (!st) return fail(std::move(st.error()));
  return out;
}

Status Warehouse::load(const TableName& table, const RowSet& rows) {
  return transaction({}, [&](Session& s) { return s.load(table, rows); });
}

Result<std::optional<Schema>> Warehouse::describe(const TableName& table) {
  std::optional<Schema> out;
  auto st = with_session([&](Session& s) -> Status {
    auto r = s.describe(table);
    if (!r) return fail(std::move(r.error()));
    out = std::move(*r);
    return {};
  });
  if (!st) return fail(std::move(st.error()));
  return out;
}

Status Warehouse::create_table(const TableName& table, const Schema& schema,
                               std::span<const std::string> keys) {
  return with_session([&](Session& s) { return s.create_table(table, schema, keys, false); });
}

Result<std::int64_t> Warehouse::merge_rows(const TableName& target, const RowSet& rows,
                                           std::span<const std::string> keys) {
  std::int64_t merged = 0;
  auto st =
      transaction({.isolation = Isolation::serializable, .write = true}, [&](Session& s) -> Status {
        StagingTable staging(s, TableName{.schema = {}, .name = staging_name()});
        if (auto ok = staging.create(rows.schema); !ok) return ok;
        if (auto ok = s.load(staging.name(), rows); !ok) return ok;
        auto n = s.merge(staging.name(), target, rows.schema, keys);
        if (!n) return fail(std::move(n.error()));
        if (auto ok = staging.drop(); !ok) return ok;
        merged = *n;
        return {};
      });
  if (!st) return fail(std::move(st.error()));
  return merged;
}

std::string redact_url(std::string_view url) {
  std::string out(url);
  // user:password@ in the authority.
  const std::size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const std::size_t start = scheme + 3;
    const std::size_t end = out.find_first_of("/?#", start);
    const std::size_t at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at != std::string::npos && at > start) {
      const std::size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=... in a query string or a key=value conninfo.
  for (std::size_t pos = out.find("password="); pos != std::string::npos;
       pos = out.find("password=", pos + 1)) {
    const std::size_t value = pos + 9;
    const std::size_t end = out.find_first_of("& ", value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
  }
  return out;
}

Result<std::shared_ptr<Warehouse>> open_warehouse(std::string_view url,
                                                  const OpenOptions& options) {
  if (url.empty()) {
    return fail(Error::permanent(
        "empty warehouse URL; use a file path, sqlite:///path or postgresql://host/db"));
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
  if (scheme == "bigquery") return bigquery::open_bigquery_warehouse(url);
  return fail(Error::permanent(
      "unsupported warehouse scheme \"" + std::string(scheme) + "\" in " + redact_url(url) +
      "; use a file path, sqlite:///path, postgresql://, postgres:// or bigquery://"));
}

}  // namespace rebound::warehouse
