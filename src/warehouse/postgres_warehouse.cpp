// PostgreSQL back end over libpq: pooled connections (LeasePool<PgConnection>),
// SQLSTATEs classified by classify::postgres, COPY FROM STDIN for loads, and
// broken connections evicted so a server restart heals by itself.
#include "rebound/warehouse/postgres_warehouse.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "rebound/core/redact.hpp"
#include "rebound/pool/lease_pool.hpp"
#include "rebound/retry/classify.hpp"

namespace rebound::warehouse {
namespace {

// Type OIDs from pg_type.h (stable since forever; the server header is not a
// libpq dependency).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

ColumnType type_from_oid(Oid oid) {
  switch (oid) {
    case kBoolOid:
      return ColumnType::boolean;
    case kInt8Oid:
    case kInt2Oid:
    case kInt4Oid:
    case kOidOid:
      return ColumnType::integer;
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid:
      return ColumnType::real;
    default:
      return ColumnType::text;
  }
}

std::string_view pg_type(ColumnType t) {
  switch (t) {
    case ColumnType::boolean:
      return "boolean";
    case ColumnType::integer:
      return "bigint";
    case ColumnType::real:
      return "double precision";
    case ColumnType::text:
      return "text";
  }
  return "text";
}

std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

struct ConnDeleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// One libpq connection; owned by the pool, used by one lease holder at a time.
class PgConnection {
 public:
  explicit PgConnection(PGconn* conn) noexcept : conn_(conn) {}
  [[nodiscard]] PGconn* get() const noexcept { return conn_.get(); }
  [[nodiscard]] bool alive() const noexcept { return PQstatus(conn_.get()) == CONNECTION_OK; }

 private:
  std::unique_ptr<PGconn, ConnDeleter> conn_;
};

// Connection failures carry no SQLSTATE on the wire: map libpq's message.
Error connect_error(const std::string& display_url, std::string message) {
  std::string code = "08001";
  if (message.find("too many clients") != std::string::npos ||
      message.find("too many connections") != std::string::npos ||
      message.find("remaining connection slots are reserved") != std::string::npos) {
    code = "53300";
  } else if (message.find("starting up") != std::string::npos ||
             message.find("shutting down") != std::string::npos ||
             message.find("in recovery") != std::string::npos ||
             message.find("not yet accepting connections") != std::string::npos) {
    code = "57P03";
  } else if (message.find("password authentication failed") != std::string::npos ||
             message.find("does not exist") != std::string::npos) {
    code = "28000";  // authentication / unknown database or role: not retriable
  }
  return classify::postgres(code, "connecting to " + display_url + ": " + message);
}

Result<std::unique_ptr<PgConnection>> connect(const std::string& url,
                                              const std::string& display_url, Duration timeout) {
  const auto secs =
      std::max<std::int64_t>(2, std::chrono::duration_cast<std::chrono::seconds>(timeout).count());
  const std::string timeout_text = std::to_string(secs);
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {url.c_str(), timeout_text.c_str(), "rebound", nullptr};
  auto conn = std::make_unique<PgConnection>(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!conn->get()) return fail(Error::transient("libpq could not allocate a connection"));
  if (!conn->alive()) return fail(connect_error(display_url, trimmed(PQerrorMessage(conn->get()))));
  return conn;
}

void append_copy_text(std::string& out, const Value& v) {
  char buf[64];
  switch (v.index()) {
    case 0:
      out += "\\N";
      return;
    case 1:
      out += std::get<bool>(v) ? 't' : 'f';
      return;
    case 2: {
      auto r = std::to_chars(buf, buf + sizeof buf, std::get<std::int64_t>(v));
      out.append(buf, r.ptr);
      return;
    }
    case 3: {
      const double d = std::get<double>(v);
      if (std::isnan(d)) {
        out += "NaN";
      } else if (std::isinf(d)) {
        out += d > 0 ? "Infinity" : "-Infinity";
      } else {
        auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip form
        out.append(buf, r.ptr);
      }
      return;
    }
    default:
      for (char c : std::get<std::string>(v)) {
        switch (c) {
          case '\\':
            out += "\\\\";
            break;
          case '\n':
            out += "\\n";
            break;
          case '\r':
            out += "\\r";
            break;
          case '\t':
            out += "\\t";
            break;
          default:
            out += c;
        }
      }
  }
}

std::string param_text(const Value& v) {
  std::string out;
  switch (v.index()) {
    case 1:
      return std::get<bool>(v) ? "true" : "false";
    case 4:
      return std::get<std::string>(v);
    default:
      append_copy_text(out, v);
      return out;
  }
}

Oid param_oid(const Value& v) {
  switch (v.index()) {
    case 1:
      return kBoolOid;
    case 2:
      return kInt8Oid;
    case 3:
      return kFloat8Oid;
    default:
      return 0;  // text and null: let the server infer from context
  }
}

class PgSession final : public Session {
 public:
  explicit PgSession(PGconn* conn) noexcept : conn_(conn) {}

  // True once an error showed the connection is unusable: the lease is marked broken.
  [[nodiscard]] bool broken() const noexcept { return broken_ || PQstatus(conn_) != CONNECTION_OK; }

  Error error_from(const PGresult* res, std::string_view doing) {
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = trimmed(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
    if (message.empty()) message = trimmed(PQerrorMessage(conn_));
    std::string code = state ? state : "";
    if (PQstatus(conn_) != CONNECTION_OK) {
      broken_ = true;
      if (code.empty()) code = "08006";  // connection failure
    }
    // Administrator/crash shutdown: the server is closing this session.
    if (code == "57P01" || code == "57P02" || code == "57P03") broken_ = true;
    if (code.empty()) code = "XX000";
    return classify::postgres(code, std::string(doing) + ": " + message);
  }

  // Runs a statement (one only: the extended protocol refuses a second).
  Result<PgResult> run(std::string_view sql, std::span<const Value> params,
                       std::string_view doing) {
    std::vector<std::string> texts(params.size());
    std::vector<const char*> ptrs(params.size());
    std::vector<Oid> oids(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      oids[i] = param_oid(params[i]);
      if (is_null(params[i])) continue;
      texts[i] = param_text(params[i]);
      ptrs[i] = texts[i].c_str();
    }
    const std::string sql_text(sql);
    PgResult res(PQexecParams(conn_, sql_text.c_str(), static_cast<int>(params.size()), oids.data(),
                              ptrs.data(), nullptr, nullptr, 0));
    const ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return fail(error_from(res.get(), doing));
    }
    return res;
  }

  Result<std::int64_t> execute(std::string_view sql, std::span<const Value> params) override {
    auto res = run(sql, params, "executing statement");
    if (!res) return fail(std::move(res.error()));
    return affected(res->get());
  }

  static std::int64_t affected(PGresult* res) {
    const char* n = PQcmdTuples(res);
    std::int64_t out = 0;
    if (n && *n) std::from_chars(n, n + std::strlen(n), out);
    return out;
  }

  Result<QueryResult> query(std::string_view sql, std::span<const Value> params) override {
    auto res = run(sql, params, "running query");
    if (!res) return fail(std::move(res.error()));
    PGresult* r = res->get();
    QueryResult out;
    const int cols = PQnfields(r);
    std::vector<ColumnType> types;
    for (int c = 0; c < cols; ++c) {
      out.columns.emplace_back(PQfname(r, c));
      types.push_back(type_from_oid(PQftype(r, c)));
    }
    const int rows = PQntuples(r);
    out.rows.reserve(static_cast<std::size_t>(rows));
    for (int i = 0; i < rows; ++i) {
      Row row;
      row.reserve(static_cast<std::size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(r, i, c)) {
          row.emplace_back(Null{});
          continue;
        }
        const char* text = PQgetvalue(r, i, c);
        const std::size_t len = static_cast<std::size_t>(PQgetlength(r, i, c));
        switch (types[static_cast<std::size_t>(c)]) {
          case ColumnType::boolean:
            row.emplace_back(text[0] == 't');
            break;
          case ColumnType::integer: {
            std::int64_t v = 0;
            std::from_chars(text, text + len, v);
            row.emplace_back(v);
            break;
          }
          case ColumnType::real: {
            double v = 0;
            auto [p, ec] = std::from_chars(text, text + len, v);
            if (ec != std::errc{}) {
              const std::string s(text, len);  // NaN, Infinity, -Infinity
              v = s == "NaN" ? std::nan("") : (s[0] == '-' ? -HUGE_VAL : HUGE_VAL);
            }
            row.emplace_back(v);
            break;
          }
          case ColumnType::text:
            row.emplace_back(std::string(text, len));
            break;
        }
      }
      out.rows.push_back(std::move(row));
    }
    return out;
  }

  Status load(const TableName& table, const RowSet& rows) override {
    if (rows.schema.columns.empty()) return {};
    std::string sql = "COPY " + table.quoted() + " (";
    for (std::size_t c = 0; c < rows.schema.columns.size(); ++c) {
      sql += (c ? ", " : "") + quote_identifier(rows.schema.columns[c].name);
    }
    sql += ") FROM STDIN";
    const std::string doing = "loading rows into " + table.display();
    PgResult start(PQexec(conn_, sql.c_str()));
    if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN)
      return fail(error_from(start.get(), doing));

    std::string buf;
    constexpr std::size_t kChunk = 256 * 1024;
    buf.reserve(kChunk + 4096);
    auto flush = [&]() -> bool {
      if (buf.empty()) return true;
      const bool ok = PQputCopyData(conn_, buf.data(), static_cast<int>(buf.size())) == 1;
      buf.clear();
      return ok;
    };
    const char* abort_reason = nullptr;
    for (const Row& row : rows.rows) {
      for (std::size_t c = 0; c < row.size(); ++c) {
        if (c) buf += '\t';
        if (const auto* s = std::get_if<std::string>(&row[c]);
            s && std::memchr(s->data(), '\0', s->size())) {
          abort_reason = "text value contains a NUL byte";
          break;
        }
        append_copy_text(buf, row[c]);
      }
      if (abort_reason) break;
      buf += '\n';
      if (buf.size() >= kChunk && !flush()) break;
    }
    bool sent = !abort_reason && flush();
    if (PQputCopyEnd(conn_, sent ? nullptr : (abort_reason ? abort_reason : "client error")) != 1) {
      sent = false;
    }
    // Drain every result: the COPY's own, then nullptr.
    Status out = {};
    while (PGresult* raw = PQgetResult(conn_)) {
      PgResult r(raw);
      if (PQresultStatus(raw) != PGRES_COMMAND_OK && out) out = fail(error_from(raw, doing));
      if (PQstatus(conn_) != CONNECTION_OK) break;
    }
    if (abort_reason) {
      return fail(
          Error::permanent(doing + ": " + abort_reason + ", which PostgreSQL cannot store"));
    }
    if (out && !sent) return fail(error_from(nullptr, doing));
    return out;
  }

  Result<std::optional<Schema>> describe(const TableName& table) override {
    const Value args[] = {table.quoted()};
    auto r = query(
        "SELECT a.attname::text, a.atttypid::int8, NOT a.attnotnull FROM pg_catalog.pg_attribute a "
        "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        args);
    if (!r) return fail(std::move(r.error()));
    if (r->rows.empty()) return std::optional<Schema>{};
    Schema schema;
    for (const Row& row : r->rows) {
      schema.columns.push_back(
          {.name = std::get<std::string>(row[0]),
           .type = type_from_oid(static_cast<Oid>(std::get<std::int64_t>(row[1]))),
           .nullable = std::get<bool>(row[2])});
    }
    return std::optional<Schema>(std::move(schema));
  }

  Status create_table(const TableName& table, const Schema& schema,
                      std::span<const std::string> keys, bool temporary) override {
    std::string sql = temporary ? "CREATE TEMP TABLE " : "CREATE TABLE IF NOT EXISTS ";
    sql += temporary ? quote_identifier(table.name) : table.quoted();
    sql += " (";
    for (std::size_t c = 0; c < schema.columns.size(); ++c) {
      const Column& col = schema.columns[c];
      sql += (c ? ", " : "") + quote_identifier(col.name) + " " + std::string(pg_type(col.type));
      if (!col.nullable && !temporary) sql += " NOT NULL";
    }
    if (!keys.empty()) {
      sql += ", PRIMARY KEY (";
      for (std::size_t k = 0; k < keys.size(); ++k)
        sql += (k ? ", " : "") + quote_identifier(keys[k]);
      sql += ")";
    }
    sql += ")";
    auto r = run(sql, {}, "creating table " + table.display());
    if (!r) return fail(std::move(r.error()));
    return {};
  }

  Result<std::int64_t> merge(const TableName& staging, const TableName& target,
                             const Schema& columns, std::span<const std::string> keys) override {
    std::string on;
    for (const std::string& k : keys) {
      const std::string q = quote_identifier(k);
      on += (on.empty() ? "" : " AND ") + ("t." + q + " = s." + q);
    }
    std::string cols;
    std::string vals;
    std::string updates;
    for (const Column& c : columns.columns) {
      const std::string q = quote_identifier(c.name);
      cols += (cols.empty() ? "" : ", ") + q;
      vals += (vals.empty() ? "" : ", ") + ("s." + q);
      if (std::find(keys.begin(), keys.end(), c.name) == keys.end()) {
        updates += (updates.empty() ? "" : ", ") + (q + " = s." + q);
      }
    }
    // Temporary tables are never auto-analyzed: without statistics the
    // planner assumes a big staging table, hash-joins it against a sequential
    // scan of the target, and under SERIALIZABLE a sequential scan takes a
    // predicate lock on the whole target, so every concurrent MERGE conflicts
    // with every other. With real row counts it probes the key index instead
    // and only rows that really overlap conflict.
    if (auto analyzed = run("ANALYZE " + staging.quoted(), {}, "analyzing " + staging.display());
        !analyzed) {
      return fail(std::move(analyzed.error()));
    }
    std::string sql =
        "MERGE INTO " + target.quoted() + " AS t USING " + staging.quoted() + " AS s ON " + on;
    if (!updates.empty()) sql += " WHEN MATCHED THEN UPDATE SET " + updates;
    sql += " WHEN NOT MATCHED THEN INSERT (" + cols + ") VALUES (" + vals + ")";
    auto r = run(sql, {}, "merging into " + target.display());
    if (!r) return fail(std::move(r.error()));
    return affected(r->get());
  }

  Status drop_table(const TableName& table) override {
    auto r = run("DROP TABLE IF EXISTS " + table.quoted(), {}, "dropping " + table.display());
    if (!r) return fail(std::move(r.error()));
    return {};
  }

  // Leaves the connection outside any transaction (or marks it broken).
  void reset_transaction() {
    if (PQstatus(conn_) != CONNECTION_OK) {
      broken_ = true;
      return;
    }
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
    PgResult r(PQexec(conn_, "ROLLBACK"));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK ||
        PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      broken_ = true;
    }
  }

 private:
  PGconn* conn_;
  bool broken_ = false;
};

class PostgresWarehouse final : public Warehouse {
 public:
  PostgresWarehouse(PostgresOptions options, std::string display_url,
                    std::shared_ptr<pool::LeasePool<PgConnection>> pool)
      : options_(std::move(options)), url_(std::move(display_url)), pool_(std::move(pool)) {}
  ~PostgresWarehouse() override {
    if (pool_) pool_->close();
  }

  std::string_view backend() const noexcept override { return "postgresql"; }
  const std::string& display_url() const noexcept override { return url_; }
  pool::PoolStats pool_stats() const override { return pool_ ? pool_->stats() : pool::PoolStats{}; }

  Status with_session(const std::function<Status(Session&)>& fn) override {
    return on_connection([&](PgSession& s) { return fn(s); });
  }

  Status transaction(const TransactionOptions& options,
                     const std::function<Status(Session&)>& fn) override {
    return on_connection([&](PgSession& s) -> Status {
      const char* begin = options.isolation == Isolation::serializable
                              ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                              : "BEGIN";
      if (auto r = s.run(begin, {}, "beginning transaction"); !r) return fail(std::move(r.error()));
      Status result = fn(s);
      if (result) {
        auto r = s.run("COMMIT", {}, "committing");
        if (!r) {
          result = fail(std::move(r.error()));
        } else if (std::string_view(PQcmdStatus(r->get())) == "ROLLBACK") {
          // COMMIT of a transaction that already failed reports ROLLBACK, not an error.
          result = fail(Error::make(ErrorClass::permanent,
                                    "transaction was rolled back: a statement in it failed",
                                    "postgresql", "25P02"));
        }
      }
      return result;
    });
  }

 private:
  template <class F>
  Status on_connection(F&& fn) {
    if (options_.mode == ConnectionMode::per_operation) {
      auto conn = connect(options_.url, url_, options_.connect_timeout);
      if (!conn) return fail(std::move(conn.error()));
      PgSession session((*conn)->get());
      return fn(session);
    }
    auto lease = pool_->acquire();
    if (!lease) return fail(std::move(lease.error()));
    PgSession session((*lease)->get());
    Status result = fn(session);
    session.reset_transaction();
    if (session.broken()) lease->mark_broken();
    return result;
  }

  PostgresOptions options_;
  std::string url_;
  std::shared_ptr<pool::LeasePool<PgConnection>> pool_;
};

}  // namespace

Result<std::shared_ptr<Warehouse>> make_postgres_warehouse(PostgresOptions options) {
  if (options.url.empty()) return fail(Error::permanent("PostgreSQL URL is empty"));
  const std::string display = redact_url(options.url);
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.url.c_str(), &err);
  if (!parsed) {
    std::string why = trimmed(err);
    PQfreemem(err);
    // libpq's message may quote the URL; only the redacted form may appear.
    if (why.find(options.url) != std::string::npos) why = "malformed connection URI";
    return fail(Error::permanent("cannot parse PostgreSQL URL " + display + ": " + why));
  }
  PQconninfoFree(parsed);
  if (options.pool_size == 0) return fail(Error::permanent("PostgreSQL pool_size must be >= 1"));

  std::shared_ptr<pool::LeasePool<PgConnection>> pool;
  if (options.mode == ConnectionMode::pooled) {
    auto made = pool::LeasePool<PgConnection>::make(
        {.name = "postgresql " + display,
         .max_size = options.pool_size,
         .acquire_timeout = options.acquire_timeout,
         .validate_after_idle = options.validate_after_idle},
        {.create = [url = options.url, display,
                    timeout = options.connect_timeout]() { return connect(url, display, timeout); },
         .validate =
             [](PgConnection& c) {
               if (!c.alive()) return false;
               PgResult r(PQexec(c.get(), "SELECT 1"));
               return r && PQresultStatus(r.get()) == PGRES_TUPLES_OK;
             }});
    if (!made) return fail(std::move(made.error()));
    pool = std::move(*made);
  }
  return std::shared_ptr<Warehouse>(
      std::make_shared<PostgresWarehouse>(std::move(options), display, std::move(pool)));
}

}  // namespace rebound::warehouse
