// PostgreSQL back end over libpq: pooled connections (LeasePool<PgConnection>),
// SQLSTATEs classified by classify::postgres, COPY FROM STDIN for loads, and
// broken connections evicted so a server restart heals by itself.
#include "rebound/warehouse/postgres_warehouse.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>

#include "rebound/core/redact.hpp"
#include "rebound/pool/lease_pool.hpp"
#include "rebound/retry/classify.hpp"
#include "rebound/warehouse/internal/sql_dialect.hpp"

namespace rebound::warehouse {
namespace {

using detail::SqlDialect;
constexpr SqlDialect kDialect = SqlDialect::postgresql;

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

// The statements prepared on one connection. A statement is prepared on
// its second use with the same parameter types (a one-off statement would
// pay an extra round trip for nothing); after that each run is Bind+Execute
// only, without the Parse and planning the unnamed statement pays every
// time. The cache is bounded: past kMaxPrepared statements, new ones run
// unprepared. It lives as long as the connection: a broken connection is
// replaced, and its statements with it.
class StatementCache {
 public:
  static constexpr std::size_t kMaxPrepared = 256;

  struct Entry {
    std::string name;  // empty until prepared
    int uses = 0;
  };

  // The entry for this text and parameter types (created on first sight), or
  // nullptr when the cache is full and the statement is new.
  Entry* find(std::string_view sql, std::span<const Oid> oids) {
    key_.assign(sql);
    key_.push_back('\0');
    key_.append(reinterpret_cast<const char*>(oids.data()), oids.size_bytes());
    if (auto it = entries_.find(key_); it != entries_.end()) return &it->second;
    if (entries_.size() >= kMaxPrepared) return nullptr;
    return &entries_[key_];
  }
  std::string next_name() { return "rebound_s" + std::to_string(++named_); }
  void forget(const Entry* entry) {
    std::erase_if(entries_, [&](const auto& kv) { return &kv.second == entry; });
  }
  [[nodiscard]] std::size_t prepared() const noexcept {
    return static_cast<std::size_t>(std::count_if(
        entries_.begin(), entries_.end(), [](const auto& kv) { return !kv.second.name.empty(); }));
  }

 private:
  std::unordered_map<std::string, Entry> entries_;
  std::string key_;
  std::uint64_t named_ = 0;
};

// One libpq connection; owned by the pool, used by one lease holder at a time.
class PgConnection {
 public:
  explicit PgConnection(PGconn* conn) noexcept : conn_(conn) {}
  [[nodiscard]] PGconn* get() const noexcept { return conn_.get(); }
  [[nodiscard]] bool alive() const noexcept { return PQstatus(conn_.get()) == CONNECTION_OK; }
  [[nodiscard]] StatementCache& statements() noexcept { return statements_; }

 private:
  std::unique_ptr<PGconn, ConnDeleter> conn_;
  StatementCache statements_;
};

// The secret values of a connection string as libpq parsed them (decoded):
// libpq's own messages may quote them (a host name cut from a password with
// an unencoded '@', say), where redact_url cannot see them.
std::vector<std::string> secrets_of(const std::string& url) {
  std::vector<std::string> out;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), nullptr);
  if (!parsed) return out;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && *o->val != '\0' && is_secret_name(o->keyword))
      out.emplace_back(o->val);
  }
  PQconninfoFree(parsed);
  return out;
}

// Connection failures carry no SQLSTATE on the wire: map libpq's message.
// Every secret of `url` is scrubbed from the message.
Error connect_error(const std::string& url, const std::string& display_url, std::string message) {
  message = scrub_secrets(std::move(message), secrets_of(url));
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

// Waits until the connection's socket is ready (read, or write when `write`)
// or the deadline passes. Returns false on timeout or a poll error.
bool wait_socket(PGconn* conn, bool write, std::chrono::steady_clock::time_point deadline) {
  const int fd = PQsocket(conn);
  if (fd < 0) return false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{.fd = fd, .events = static_cast<short>(write ? POLLOUT : POLLIN), .revents = 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

Error timeout_error(std::string_view doing, Duration budget) {
  return classify::postgres(
      "57014",
      std::string(doing) + ": no answer from the server within " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(budget).count()) +
          " ms (client-side deadline; the connection is dropped)");
}

// Opens a connection with libpq's non-blocking API, so a server that accepts
// TCP but never answers (stopped, black-holed) cannot hold us past `timeout`.
// Keyword order matters: libpq keeps the last value of a repeated keyword, so
// the defaults come before the URL (which may override them) and
// client_encoding comes after it (text is always UTF-8 on the wire: the
// server converts or refuses, never stores mojibake).
Result<std::unique_ptr<PgConnection>> connect(const std::string& url,
                                              const std::string& display_url, Duration timeout,
                                              Duration statement_timeout) {
  const auto secs =
      std::max<std::int64_t>(2, std::chrono::duration_cast<std::chrono::seconds>(timeout).count());
  const auto stmt_ms = std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(statement_timeout).count());
  const std::string timeout_text = std::to_string(secs);
  const std::string user_timeout = std::to_string(stmt_ms);
  const std::string server_options = "-c statement_timeout=" + std::to_string(stmt_ms);
  const char* keys[] = {"connect_timeout",
                        "application_name",
                        "keepalives",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "tcp_user_timeout",
                        "options",
                        "dbname",
                        "client_encoding",
                        nullptr};
  const char* values[] = {
      timeout_text.c_str(),   "rebound",   "1",    "10",   "5", "3", user_timeout.c_str(),
      server_options.c_str(), url.c_str(), "UTF8", nullptr};
  auto conn =
      std::make_unique<PgConnection>(PQconnectStartParams(keys, values, /*expand_dbname=*/1));
  if (!conn->get()) return fail(Error::transient("libpq could not allocate a connection"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{secs};
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (PQstatus(conn->get()) != CONNECTION_BAD && state != PGRES_POLLING_OK &&
         state != PGRES_POLLING_FAILED) {
    if (!wait_socket(conn->get(), state == PGRES_POLLING_WRITING, deadline)) {
      return fail(connect_error(
          url, display_url, "timeout expired after " + timeout_text + " s waiting for the server"));
    }
    state = PQconnectPoll(conn->get());
  }
  if (!conn->alive())
    return fail(connect_error(url, display_url, trimmed(PQerrorMessage(conn->get()))));
  if (PQsetnonblocking(conn->get(), 1) != 0) {
    return fail(connect_error(url, display_url, trimmed(PQerrorMessage(conn->get()))));
  }
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
  using SteadyPoint = std::chrono::steady_clock::time_point;
  // `statements`: the connection's prepared-statement cache (null for the
  // pool's validation probe, which runs unprepared).
  PgSession(PGconn* conn, Duration budget, StatementCache* statements = nullptr) noexcept
      : conn_(conn),
        statements_(statements),
        budget_(budget),
        deadline_(std::chrono::steady_clock::now() + budget) {}

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

  // The deadline passed: the server's state is unknown, so the connection is
  // never reused (the pool evicts it; closing it ends the server's session).
  Error timed_out(std::string_view doing) {
    broken_ = true;
    return timeout_error(doing, budget_);
  }

  // Sends whatever libpq has buffered, waiting for the socket within the deadline.
  bool flush() {
    for (;;) {
      const int r = PQflush(conn_);
      if (r == 0) return true;
      if (r < 0) return false;
      if (!wait_socket(conn_, /*write=*/true, deadline_)) return false;
    }
  }

  // Reads until libpq has a whole result, within the deadline. nullptr with
  // *timed_out set means the deadline passed; plain nullptr: no more results.
  PGresult* next_result(bool* timed_out) {
    *timed_out = false;
    while (PQisBusy(conn_)) {
      if (!wait_socket(conn_, /*write=*/false, deadline_)) {
        *timed_out = true;
        return nullptr;
      }
      if (PQconsumeInput(conn_) == 0) break;  // connection lost: PQgetResult reports it
    }
    return PQgetResult(conn_);
  }

  // Collects every result of the statement just sent; returns the first
  // failing one, else the last. The statement must end within the deadline.
  Result<PgResult> collect(std::string_view doing, bool stop_at_copy = false) {
    PgResult good;
    PgResult bad;
    for (;;) {
      bool late = false;
      PgResult r(next_result(&late));
      if (late) return fail(timed_out(doing));
      if (!r) break;
      const ExecStatusType st = PQresultStatus(r.get());
      if (st == PGRES_COPY_IN && stop_at_copy) return r;
      if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        good = std::move(r);
      } else if (!bad) {
        bad = std::move(r);
      }
      if (PQstatus(conn_) != CONNECTION_OK) break;
    }
    if (bad || !good) return fail(error_from(bad.get(), doing));
    return good;
  }

  // Runs a statement (one only: the extended protocol refuses a second),
  // bounded by the session's deadline; prepared when `prepare` and the
  // connection has a cache (see StatementCache).
  Result<PgResult> run(std::string_view sql, std::span<const Value> params, std::string_view doing,
                       bool prepare = false) {
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
    return send(sql_text, oids, ptrs, prepare, doing);
  }

  // Sends what `sent` queued (1 = queued) and collects its result within the deadline.
  Result<PgResult> exchange(int sent, std::string_view doing) {
    if (sent != 1) return fail(error_from(nullptr, doing));
    if (!flush()) {
      if (PQstatus(conn_) != CONNECTION_OK) return fail(error_from(nullptr, doing));
      return fail(timed_out(doing));
    }
    return collect(doing);
  }

  // Runs the statement prepared when `prepare` and the connection has a
  // cache, else as an unnamed statement.
  Result<PgResult> send(const std::string& sql, std::span<const Oid> oids,
                        std::span<const char* const> values, bool prepare, std::string_view doing) {
    const int n = static_cast<int>(oids.size());
    auto unnamed = [&] {
      return exchange(
          PQsendQueryParams(conn_, sql.c_str(), n, oids.data(), values.data(), nullptr, nullptr, 0),
          doing);
    };
    StatementCache::Entry* entry =
        prepare && statements_ != nullptr ? statements_->find(sql, oids) : nullptr;
    if (entry != nullptr && entry->name.empty() && ++entry->uses >= 2) {
      std::string name = statements_->next_name();
      // A statement that does not parse fails here as it would have failed
      // unprepared (and may have aborted the transaction): that is the answer.
      auto made = exchange(PQsendPrepare(conn_, name.c_str(), sql.c_str(), n, oids.data()), doing);
      if (!made) return made;
      entry->name = std::move(name);
    }
    if (entry == nullptr || entry->name.empty()) return unnamed();
    const std::string name = entry->name;
    auto res = exchange(
        PQsendQueryPrepared(conn_, name.c_str(), n, values.data(), nullptr, nullptr, 0), doing);
    if (res || res.error().code != "0A000") return res;
    // The table changed shape under the plan ("cached plan must not change
    // result type"): forget the statement. Outside a transaction, drop it and
    // run the statement afresh, once; inside one (now aborted) the caller's
    // retry re-prepares.
    statements_->forget(entry);
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) return res;
    const std::string deallocate = "DEALLOCATE " + name;
    (void)exchange(PQsendQuery(conn_, deallocate.c_str()), doing);
    return unnamed();
  }

  Result<std::int64_t> execute(std::string_view sql, std::span<const Value> params) override {
    auto res = run(sql, params, "executing statement", true);
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
    auto res = run(sql, params, "running query", true);
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
    const std::string sql = detail::load_sql(kDialect, table, rows.schema);
    const std::string doing = "loading rows into " + table.display();
    if (PQsendQuery(conn_, sql.c_str()) != 1) return fail(error_from(nullptr, doing));
    if (!flush())
      return fail(PQstatus(conn_) == CONNECTION_OK ? timed_out(doing) : error_from(nullptr, doing));
    auto start = collect(doing, /*stop_at_copy=*/true);
    if (!start) return fail(std::move(start.error()));
    if (PQresultStatus(start->get()) != PGRES_COPY_IN) {
      return fail(Error::make(ErrorClass::permanent, doing + ": the server did not start COPY",
                              "postgresql", "XX000"));
    }

    std::string buf;
    constexpr std::size_t kChunk = 256 * 1024;
    buf.reserve(kChunk + 4096);
    bool late = false;
    // Non-blocking: 0 means libpq's buffer is full; wait for the socket
    // (within the deadline) and try again.
    auto send_buf = [&]() -> bool {
      if (buf.empty()) return true;
      for (;;) {
        const int r = PQputCopyData(conn_, buf.data(), static_cast<int>(buf.size()));
        if (r == 1) break;
        if (r < 0) return false;
        if (!wait_socket(conn_, /*write=*/true, deadline_) || PQflush(conn_) < 0) {
          late = PQstatus(conn_) == CONNECTION_OK;
          return false;
        }
      }
      buf.clear();
      return true;
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
      if (buf.size() >= kChunk && !send_buf()) break;
    }
    bool sent = !abort_reason && !late && send_buf();
    if (late) return fail(timed_out(doing));
    int ended = 0;
    while ((ended = PQputCopyEnd(
                conn_, sent ? nullptr : (abort_reason ? abort_reason : "client error"))) == 0) {
      if (!wait_socket(conn_, /*write=*/true, deadline_)) return fail(timed_out(doing));
    }
    if (ended != 1 || !flush()) {
      if (PQstatus(conn_) == CONNECTION_OK) return fail(timed_out(doing));
      sent = false;
    }
    // Drain every result: the COPY's own, then nullptr.
    Status out = {};
    for (;;) {
      PgResult r(next_result(&late));
      if (late) return fail(timed_out(doing));
      if (!r) break;
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && out)
        out = fail(error_from(r.get(), doing));
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
    auto r = query(detail::describe_sql(kDialect), args);
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
    auto r = run(detail::create_table_sql(kDialect, table, schema, keys, temporary), {},
                 "creating table " + table.display());
    if (!r) return fail(std::move(r.error()));
    return {};
  }

  // The target's declared SQL type of each column ("timestamp with time
  // zone", "uuid", "jsonb", …): staging holds these as text, so the MERGE
  // casts to them (ISO-8601 text into timestamptz/date, JSON text into jsonb).
  Result<std::vector<detail::DeclaredType>> declared_types(const TableName& table) {
    const Value args[] = {table.quoted()};
    auto r = query(detail::declared_types_sql(), args);
    if (!r) return fail(std::move(r.error()));
    std::vector<detail::DeclaredType> out;
    for (const Row& row : r->rows) {
      out.push_back(
          {.column = std::get<std::string>(row[0]), .type = std::get<std::string>(row[1])});
    }
    return out;
  }

  Result<std::int64_t> merge(const TableName& staging, const TableName& target,
                             const Schema& columns, std::span<const std::string> keys) override {
    auto types = declared_types(target);
    if (!types) return fail(std::move(types.error()));
    // Temporary tables are never auto-analyzed: without statistics the
    // planner assumes a big staging table, hash-joins it against a sequential
    // scan of the target, and under SERIALIZABLE a sequential scan takes a
    // predicate lock on the whole target, so every concurrent MERGE conflicts
    // with every other. With real row counts it probes the key index instead
    // and only rows that really overlap conflict. Only the keys, sampled.
    if (auto sampled =
            run(std::string(detail::analyze_sample_sql()), {}, "analyzing " + staging.display());
        !sampled) {
      return fail(std::move(sampled.error()));
    }
    if (auto analyzed =
            run(detail::analyze_sql(staging, keys), {}, "analyzing " + staging.display());
        !analyzed) {
      return fail(std::move(analyzed.error()));
    }
    auto r = run(detail::merge_sql(kDialect, staging, target, columns, keys, *types), {},
                 "merging into " + target.display());
    if (!r) return fail(std::move(r.error()));
    return affected(r->get());
  }

  Status drop_table(const TableName& table) override {
    auto r = run(detail::drop_table_sql(table), {}, "dropping " + table.display());
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
    if (PQtransactionStatus(conn_) == PQTRANS_ACTIVE || broken_) {
      broken_ = true;  // a statement still running (timed out): never reuse
      return;
    }
    // A rollback gets a fresh short deadline: the callback's may be spent.
    deadline_ =
        std::chrono::steady_clock::now() + std::min<Duration>(budget_, std::chrono::seconds{5});
    auto r = run("ROLLBACK", {}, "rolling back");
    if (!r || PQtransactionStatus(conn_) != PQTRANS_IDLE) broken_ = true;
  }

 private:
  PGconn* conn_;
  StatementCache* statements_;  // null: run every statement unprepared
  Duration budget_;
  SteadyPoint deadline_;
  bool broken_ = false;
};

class PostgresWarehouse final : public Warehouse {
 public:
  PostgresWarehouse(PostgresOptions options, std::string display_url,
                    std::shared_ptr<pool::LeasePool<PgConnection>> pool)
      : options_(std::move(options)), url_(std::move(display_url)), pool_(std::move(pool)) {}
  ~PostgresWarehouse() override { pool_->close(); }

  std::string_view backend() const noexcept override { return "postgresql"; }
  const std::string& display_url() const noexcept override { return url_; }
  pool::PoolStats pool_stats() const override { return pool_->stats(); }

  Status with_session(const std::function<Status(Session&)>& fn) override {
    return on_connection(options_.statement_timeout, [&](PgSession& s) { return fn(s); });
  }

  Status transaction(const TransactionOptions& options,
                     const std::function<Status(Session&)>& fn) override {
    Duration budget = options_.statement_timeout;
    if (options.timeout)
      budget = std::min(budget, std::max<Duration>(*options.timeout, Duration{1}));
    return on_connection(budget, [&](PgSession& s) -> Status {
      if (auto r = s.run(detail::begin_sql(kDialect, options), {}, "beginning transaction"); !r)
        return fail(std::move(r.error()));
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
  // Runs fn on a connection; every statement fn runs must finish within
  // `budget` from now (the attempt's time budget), else it fails as a
  // transient 57014 and the connection is dropped.
  template <class F>
  Status on_connection(Duration budget, F&& fn) {
    auto lease = acquire();
    if (!lease) return fail(std::move(lease.error()));
    PgSession session((*lease)->get(), budget, &(*lease)->statements());
    Status result = fn(session);
    session.reset_transaction();
    if (session.broken()) lease->mark_broken();
    return result;
  }

  // A lease from the pool. When the server has fewer free slots than the
  // pool has room (max_connections below pool_size), opening one more
  // connection fails with 53300 while our own connections are busy; then
  // this waits — up to acquire_timeout — for one of ours to come back
  // instead of failing the operation, so the pool runs at the server's limit.
  auto acquire() -> decltype(std::declval<pool::LeasePool<PgConnection>&>().acquire()) {
    const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
    auto pause = std::chrono::milliseconds{2};
    for (;;) {
      auto lease = pool_->acquire();
      if (lease || lease.error().error_class != ErrorClass::too_many_connections) return lease;
      const pool::PoolStats st = pool_->stats();
      if (st.in_use + st.idle == 0 || std::chrono::steady_clock::now() + pause >= deadline) {
        return lease;  // nothing of ours to wait for, or out of time
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds{50});
    }
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
    // libpq's message may quote the URL or a piece of it; only the redacted
    // form may appear.
    if (why.find(options.url) != std::string::npos || why.find('"') != std::string::npos)
      why = "malformed connection URI";
    return fail(Error::permanent("cannot parse PostgreSQL URL " + display + ": " + why));
  }
  PQconninfoFree(parsed);
  if (options.pool_size == 0) return fail(Error::permanent("PostgreSQL pool_size must be >= 1"));

  auto pool = pool::LeasePool<PgConnection>::make(
      {.name = "postgresql " + display,
       .max_size = options.pool_size,
       .acquire_timeout = options.acquire_timeout,
       .validate_after_idle = options.validate_after_idle},
      {.create = [url = options.url, display, timeout = options.connect_timeout,
                  stmt =
                      options.statement_timeout]() { return connect(url, display, timeout, stmt); },
       .validate =
           [](PgConnection& c) {
             if (!c.alive()) return false;
             PgSession probe(c.get(), std::chrono::seconds{5});
             return probe.run("SELECT 1", {}, "validating").has_value();
           }});
  if (!pool) return fail(std::move(pool.error()));
  return std::shared_ptr<Warehouse>(
      std::make_shared<PostgresWarehouse>(std::move(options), display, std::move(*pool)));
}

}  // namespace rebound::warehouse
