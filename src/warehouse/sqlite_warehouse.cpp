// SQLite back end: a LeasePool of sqlite3 handles, WAL mode, short busy
// timeout so lock contention surfaces as serialization_conflict for the
// retry policy instead of hiding inside one long call.
#include "rebound/warehouse/sqlite_warehouse.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <string>

#include "rebound/pool/lease_pool.hpp"
#include "rebound/retry/classify.hpp"
#include "rebound/warehouse/internal/sql_dialect.hpp"

namespace rebound::warehouse {
namespace {

using detail::SqlDialect;
constexpr SqlDialect kDialect = SqlDialect::sqlite;

Error sqlite_error(sqlite3* db, std::string_view doing) {
  const int code = db ? sqlite3_extended_errcode(db) : SQLITE_CANTOPEN;
  std::string msg = std::string(doing) + ": " + (db ? sqlite3_errmsg(db) : "cannot open");
  return classify::sqlite(code, std::move(msg));
}

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// One sqlite3 handle. Owned by the pool; used by one lease holder at a time.
class SqliteConnection {
 public:
  explicit SqliteConnection(sqlite3* db) noexcept : db_(db) {}
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection() { sqlite3_close_v2(db_); }
  [[nodiscard]] sqlite3* db() const noexcept { return db_; }

 private:
  sqlite3* db_;
};

Result<std::unique_ptr<SqliteConnection>> open_connection(const SqliteOptions& o) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(o.path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  auto conn = std::make_unique<SqliteConnection>(raw);  // closes raw on every path
  if (rc != SQLITE_OK) return fail(sqlite_error(raw, "opening SQLite database " + o.path));
  sqlite3_extended_result_codes(raw, 1);
  const auto busy_ms = std::chrono::duration_cast<std::chrono::milliseconds>(o.busy_timeout);
  sqlite3_busy_timeout(raw, static_cast<int>(busy_ms.count()));
  // Switching a new file to WAL needs an exclusive lock; when several
  // processes open the same new file at once, the loser gets SQLITE_BUSY
  // without the busy handler being consulted. Opening is part of no retried
  // operation, so retry it here: up to kOpenRetries with a short growing pause.
  constexpr int kOpenRetries = 50;
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                             "PRAGMA temp_store=MEMORY", "PRAGMA foreign_keys=ON"}) {
    int prc = SQLITE_OK;
    for (int attempt = 0; attempt < kOpenRetries; ++attempt) {
      prc = sqlite3_exec(raw, pragma, nullptr, nullptr, nullptr);
      const int primary = prc & 0xff;
      if (primary != SQLITE_BUSY && primary != SQLITE_LOCKED) break;
      sqlite3_sleep(std::min(1 + attempt * 2, 50));
    }
    if (prc != SQLITE_OK) {
      return fail(sqlite_error(raw, std::string("setting up ") + o.path + " (" + pragma + ")"));
    }
  }
  return conn;
}

// SQLite's declared type -> our type, by SQLite's own affinity rules (plus BOOL).
ColumnType from_decl(std::string decl) {
  for (char& c : decl) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (decl.find("BOOL") != std::string::npos) return ColumnType::boolean;
  if (decl.find("INT") != std::string::npos) return ColumnType::integer;
  if (decl.find("CHAR") != std::string::npos || decl.find("CLOB") != std::string::npos ||
      decl.find("TEXT") != std::string::npos)
    return ColumnType::text;
  if (decl.find("REAL") != std::string::npos || decl.find("FLOA") != std::string::npos ||
      decl.find("DOUB") != std::string::npos || decl.find("NUM") != std::string::npos ||
      decl.find("DEC") != std::string::npos)
    return ColumnType::real;
  return ColumnType::text;
}

class SqliteSession final : public Session {
 public:
  explicit SqliteSession(sqlite3* db) noexcept : db_(db) {}

  Result<Stmt> prepare(std::string_view sql) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, &tail);
    Stmt stmt(raw);
    if (rc != SQLITE_OK) return fail(sqlite_error(db_, "preparing statement"));
    if (!stmt) return fail(Error::permanent("empty SQL statement"));
    // One statement per call: a trailing second statement would run unasked.
    // Whatever follows must compile to nothing (whitespace, comments, ';').
    if (tail && *tail) {
      sqlite3_stmt* next = nullptr;
      const int rc2 = sqlite3_prepare_v2(db_, tail, -1, &next, nullptr);
      const bool more = rc2 != SQLITE_OK || next != nullptr;
      sqlite3_finalize(next);
      if (more) {
        return fail(Error::make(ErrorClass::non_retriable,
                                "more than one SQL statement in one call; send them separately",
                                "rebound", "multiple_statements"));
      }
    }
    return stmt;
  }

  Status bind(sqlite3_stmt* stmt, std::span<const Value> params) {
    const int wanted = sqlite3_bind_parameter_count(stmt);
    if (wanted != static_cast<int>(params.size())) {
      return fail(Error::make(ErrorClass::non_retriable,
                              "statement has " + std::to_string(wanted) + " parameters but " +
                                  std::to_string(params.size()) + " values were given",
                              "rebound", "parameter_count"));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      // $N placeholders are named parameters in SQLite; bind by name so "$2 … $1" works.
      const std::string name = "$" + std::to_string(i + 1);
      int idx = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (idx == 0) idx = static_cast<int>(i + 1);  // ?N or ? placeholders
      if (auto st = bind_one(stmt, idx, params[i]); !st) return st;
    }
    return {};
  }

  Status bind_one(sqlite3_stmt* stmt, int idx, const Value& v) {
    int rc = SQLITE_OK;
    switch (v.index()) {
      case 0:
        rc = sqlite3_bind_null(stmt, idx);
        break;
      case 1:
        rc = sqlite3_bind_int(stmt, idx, std::get<bool>(v) ? 1 : 0);
        break;
      case 2:
        rc = sqlite3_bind_int64(stmt, idx, std::get<std::int64_t>(v));
        break;
      case 3:
        rc = sqlite3_bind_double(stmt, idx, std::get<double>(v));
        break;
      default: {
        const std::string& s = std::get<std::string>(v);
        rc = sqlite3_bind_text64(stmt, idx, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
      }
    }
    if (rc != SQLITE_OK) return fail(sqlite_error(db_, "binding parameter"));
    return {};
  }

  Result<std::int64_t> execute(std::string_view sql, std::span<const Value> params) override {
    auto stmt = prepare(sql);
    if (!stmt) return fail(std::move(stmt.error()));
    if (auto st = bind(stmt->get(), params); !st) return fail(std::move(st.error()));
    int rc;
    while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return fail(sqlite_error(db_, "executing statement"));
    return static_cast<std::int64_t>(sqlite3_changes64(db_));
  }

  Result<QueryResult> query(std::string_view sql, std::span<const Value> params) override {
    auto stmt = prepare(sql);
    if (!stmt) return fail(std::move(stmt.error()));
    sqlite3_stmt* s = stmt->get();
    if (auto st = bind(s, params); !st) return fail(std::move(st.error()));
    QueryResult out;
    const int n = sqlite3_column_count(s);
    std::vector<bool> is_bool(static_cast<std::size_t>(n));
    for (int c = 0; c < n; ++c) {
      out.columns.emplace_back(sqlite3_column_name(s, c));
      const char* decl = sqlite3_column_decltype(s, c);
      is_bool[static_cast<std::size_t>(c)] = decl && from_decl(decl) == ColumnType::boolean;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      Row row;
      row.reserve(static_cast<std::size_t>(n));
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(s, c)) {
          case SQLITE_INTEGER: {
            const sqlite3_int64 i = sqlite3_column_int64(s, c);
            if (is_bool[static_cast<std::size_t>(c)]) {
              row.emplace_back(i != 0);
            } else {
              row.emplace_back(static_cast<std::int64_t>(i));
            }
            break;
          }
          case SQLITE_FLOAT:
            row.emplace_back(sqlite3_column_double(s, c));
            break;
          case SQLITE_NULL:
            row.emplace_back(Null{});
            break;
          default: {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
            row.emplace_back(
                std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(s, c))));
          }
        }
      }
      out.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return fail(sqlite_error(db_, "running query"));
    return out;
  }

  Status exec_plain(const char* sql, std::string_view doing) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return fail(sqlite_error(db_, doing));
    }
    return {};
  }

  Status load(const TableName& table, const RowSet& rows) override {
    if (rows.schema.columns.empty()) return {};
    auto stmt = prepare(detail::load_sql(kDialect, table, rows.schema));
    if (!stmt) return fail(std::move(stmt.error()));
    // A savepoint makes the load all-or-nothing inside or outside a transaction.
    if (auto st = exec_plain("SAVEPOINT rebound_load", "starting load into " + table.display());
        !st)
      return st;
    auto rollback = [&] {
      sqlite3_exec(db_, "ROLLBACK TO rebound_load; RELEASE rebound_load", nullptr, nullptr,
                   nullptr);
    };
    sqlite3_stmt* s = stmt->get();
    for (const Row& row : rows.rows) {
      for (std::size_t c = 0; c < row.size(); ++c) {
        if (auto st = bind_one(s, static_cast<int>(c + 1), row[c]); !st) {
          rollback();
          return st;
        }
      }
      if (sqlite3_step(s) != SQLITE_DONE) {
        Error e = sqlite_error(db_, "loading rows into " + table.display());
        rollback();
        return fail(std::move(e));
      }
      sqlite3_reset(s);
    }
    return exec_plain("RELEASE rebound_load", "finishing load into " + table.display());
  }

  Result<std::optional<Schema>> describe(const TableName& table) override {
    const Value args[] = {table.name, table.schema.empty() ? std::string("main") : table.schema};
    auto r = query(detail::describe_sql(kDialect), args);
    if (!r) return fail(std::move(r.error()));
    if (r->rows.empty()) return std::optional<Schema>{};
    Schema schema;
    for (const Row& row : r->rows) {
      schema.columns.push_back({.name = std::get<std::string>(row[0]),
                                .type = from_decl(std::get<std::string>(row[1])),
                                .nullable = std::get<std::int64_t>(row[2]) == 0});
    }
    return std::optional<Schema>(std::move(schema));
  }

  Status create_table(const TableName& table, const Schema& schema,
                      std::span<const std::string> keys, bool temporary) override {
    auto r = execute(detail::create_table_sql(kDialect, table, schema, keys, temporary), {});
    if (!r) return fail(std::move(r.error()));
    return {};
  }

  Result<std::int64_t> merge(const TableName& staging, const TableName& target,
                             const Schema& columns, std::span<const std::string> keys) override {
    return execute(detail::merge_sql(kDialect, staging, target, columns, keys), {});
  }

  Status drop_table(const TableName& table) override {
    auto r = execute(detail::drop_table_sql(table), {});
    if (!r) return fail(std::move(r.error()));
    return {};
  }

 private:
  sqlite3* db_;
};

class SqliteWarehouse final : public Warehouse {
 public:
  SqliteWarehouse(SqliteOptions options, std::shared_ptr<pool::LeasePool<SqliteConnection>> pool)
      : options_(std::move(options)), url_("sqlite://" + options_.path), pool_(std::move(pool)) {}
  ~SqliteWarehouse() override { pool_->close(); }

  std::string_view backend() const noexcept override { return "sqlite"; }
  const std::string& display_url() const noexcept override { return url_; }
  pool::PoolStats pool_stats() const override { return pool_->stats(); }

  Status with_session(const std::function<Status(Session&)>& fn) override {
    auto lease = pool_->acquire();
    if (!lease) return fail(std::move(lease.error()));
    sqlite3* db = (*lease)->db();
    SqliteSession session(db);
    Status result = fn(session);
    // The handle goes back to the pool: never with a transaction left open.
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return result;
  }

  Status transaction(const TransactionOptions& options,
                     const std::function<Status(Session&)>& fn) override {
    auto lease = pool_->acquire();
    if (!lease) return fail(std::move(lease.error()));
    sqlite3* db = (*lease)->db();
    SqliteSession session(db);
    // SQLite transactions are always serializable; IMMEDIATE takes the write
    // lock now, so a busy database fails fast here, before any work.
    if (auto st = session.exec_plain(detail::begin_sql(kDialect, options),
                                     "beginning transaction on " + options_.path);
        !st)
      return st;
    Status result = fn(session);
    if (result) result = session.exec_plain("COMMIT", "committing on " + options_.path);
    if (!result && !sqlite3_get_autocommit(db)) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    return result;
  }

 private:
  SqliteOptions options_;
  std::string url_;
  std::shared_ptr<pool::LeasePool<SqliteConnection>> pool_;
};

}  // namespace

Result<std::shared_ptr<Warehouse>> make_sqlite_warehouse(SqliteOptions options) {
  if (options.path.empty()) return fail(Error::permanent("SQLite path is empty"));
  if (options.path == ":memory:" || options.path.starts_with("file::memory")) {
    return fail(Error::permanent(
        "SQLite path \":memory:\" is not supported: each pooled connection would see its own "
        "database; use a file"));
  }
  if (options.pool_size == 0) return fail(Error::permanent("SQLite pool_size must be >= 1"));
  // Open one connection now: a bad path fails here, and WAL mode is set once
  // before concurrent connections race to switch it.
  auto first = open_connection(options);
  if (!first) return fail(std::move(first.error()));
  first->reset();
  auto pool = pool::LeasePool<SqliteConnection>::make(
      {.name = "sqlite " + options.path,
       .max_size = options.pool_size,
       .acquire_timeout = options.acquire_timeout},
      {.create = [options]() { return open_connection(options); }});
  if (!pool) return fail(std::move(pool.error()));
  return std::shared_ptr<Warehouse>(std::make_shared<SqliteWarehouse>(options, std::move(*pool)));
}

}  // namespace rebound::warehouse
