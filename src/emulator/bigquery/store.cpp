// Store: the catalog and row access. SQL lives in sql.cpp, loads in load.cpp.
#include "store.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>

namespace rebound::emulator::bigquery::detail {
namespace {

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

json column_value(sqlite3_stmt* s, int i) {
  switch (sqlite3_column_type(s, i)) {
    case SQLITE_INTEGER:
      return static_cast<std::int64_t>(sqlite3_column_int64(s, i));
    case SQLITE_FLOAT:
      return sqlite3_column_double(s, i);
    case SQLITE_TEXT:
    case SQLITE_BLOB: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
      return std::string(text ? text : "", static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
    }
    default:
      return nullptr;
  }
}

BqError sqlite_error(sqlite3* db, const std::string& what) {
  std::string message = sqlite3_errmsg(db);
  // Name the construct the way BigQuery's analyser would.
  static const std::regex kNoColumn("no such column: (.*)");
  static const std::regex kNoFunction("no such function: (.*)");
  std::smatch m;
  if (std::regex_match(message, m, kNoColumn)) {
    return BqError::invalid_query("Unrecognized name: " + m[1].str());
  }
  if (std::regex_match(message, m, kNoFunction)) {
    return BqError::invalid_query("Function not found: " + m[1].str() +
                                  " (not in the emulator's GoogleSQL subset)");
  }
  if (message.find("NOT NULL constraint failed") != std::string::npos) {
    return BqError::invalid("Required field is null: " + message.substr(message.rfind('.') + 1));
  }
  return BqError::invalid_query(what + message);
}

BqResult<void> bind_params(sqlite3* db, sqlite3_stmt* s, const std::vector<Param>& params) {
  for (const Param& p : params) {
    const std::string key = p.name.starts_with("?") ? p.name : "@" + p.name;
    const int index = sqlite3_bind_parameter_index(s, key.c_str());
    if (index == 0) continue;
    int rc = SQLITE_OK;
    if (p.value.is_null()) {
      rc = sqlite3_bind_null(s, index);
    } else {
      const std::string v = p.value.is_string() ? p.value.get<std::string>() : p.value.dump();
      try {
        if (p.type == "INTEGER") {
          rc = sqlite3_bind_int64(s, index, std::stoll(v));
        } else if (p.type == "FLOAT") {
          rc = sqlite3_bind_double(s, index, std::stod(v));
        } else if (p.type == "BOOLEAN") {
          rc = sqlite3_bind_int(s, index, v == "true" || v == "TRUE" || v == "1");
        } else if (p.type == "TIMESTAMP") {
          const auto micros = parse_timestamp_micros(v);
          if (!micros) {
            return bq_fail(BqError::invalid_query("Invalid TIMESTAMP value for parameter " +
                                                  p.name + ": " + v));
          }
          rc = sqlite3_bind_int64(s, index, *micros);
        } else {
          rc = sqlite3_bind_text(s, index, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        }
      } catch (const std::exception&) {
        return bq_fail(BqError::invalid_query("Invalid " + p.type + " value for parameter " +
                                              p.name + ": " + v));
      }
    }
    if (rc != SQLITE_OK) return bq_fail(sqlite_error(db, "binding parameter " + p.name + ": "));
  }
  return {};
}

void now_micros_fn(sqlite3_context* context, int, sqlite3_value**) {
  auto* store = static_cast<Store*>(sqlite3_user_data(context));
  sqlite3_result_int64(context, store->now_ms() * 1000);
}

void uuid_fn(sqlite3_context* context, int, sqlite3_value**) {
  unsigned char bytes[16];
  sqlite3_randomness(sizeof bytes, bytes);
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
                bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
  sqlite3_result_text(context, out, 36, SQLITE_TRANSIENT);
}

// GoogleSQL CONCAT: NULL if any argument is NULL.
void concat_fn(sqlite3_context* context, int argc, sqlite3_value** argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
      sqlite3_result_null(context);
      return;
    }
    const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
    out.append(text ? text : "", static_cast<std::size_t>(sqlite3_value_bytes(argv[i])));
  }
  sqlite3_result_text(context, out.c_str(), static_cast<int>(out.size()), SQLITE_TRANSIENT);
}

void starts_with_fn(sqlite3_context* context, int, sqlite3_value** argv) {
  const auto* a = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const auto* b = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  if (!a || !b) {
    sqlite3_result_null(context);
    return;
  }
  sqlite3_result_int(context, std::string_view(a).starts_with(b) ? 1 : 0);
}

}  // namespace

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string sqlite_column_type(const json& field) {
  const std::string type = field.value("type", "STRING");
  const std::string mode = field.value("mode", "NULLABLE");
  std::string decl;
  if (mode == "REPEATED" || type == "RECORD") {
    decl = "JSON TEXT";
  } else if (type == "INTEGER") {
    decl = "INT64";
  } else if (type == "FLOAT") {
    decl = "FLOAT64";
  } else if (type == "BOOLEAN") {
    decl = "BOOL";
  } else if (type == "NUMERIC" || type == "BIGNUMERIC") {
    decl = "NUMERIC";
  } else if (type == "TIMESTAMP") {
    decl = "TIMESTAMP INT";
  } else {
    decl = type + " TEXT";
  }
  if (mode == "REQUIRED") decl += " NOT NULL";
  return decl;
}

Store::Store(sqlite3* db, NowFn now) : db_(db), now_(std::move(now)) {}

Store::~Store() { sqlite3_close(db_); }

BqResult<std::unique_ptr<Store>> Store::open(const std::string& path, NowFn now) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return bq_fail(BqError::make(500, "internalError", "cannot open " + path + ": " + message));
  }
  std::unique_ptr<Store> store(new Store(db, std::move(now)));
  sqlite3_busy_timeout(db, 5000);
  sqlite3_create_function(db, "rb_now_micros", 0, SQLITE_UTF8, store.get(), now_micros_fn, nullptr,
                          nullptr);
  sqlite3_create_function(db, "rb_generate_uuid", 0, SQLITE_UTF8, nullptr, uuid_fn, nullptr,
                          nullptr);
  sqlite3_create_function(db, "concat", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, concat_fn,
                          nullptr, nullptr);
  sqlite3_create_function(db, "starts_with", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                          starts_with_fn, nullptr, nullptr);
  auto ok = store->exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS __rb_datasets(project TEXT, dataset TEXT, location TEXT,"
      " creation_ms INTEGER, extra TEXT, PRIMARY KEY(project, dataset));"
      "CREATE TABLE IF NOT EXISTS __rb_tables(project TEXT, dataset TEXT, tbl TEXT, fields TEXT,"
      " creation_ms INTEGER, expiration_ms INTEGER, extra TEXT, PRIMARY KEY(project, dataset, "
      "tbl));");
  if (!ok) return bq_fail(ok.error());
  return store;
}

BqResult<void> Store::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "unknown";
    sqlite3_free(err);
    return bq_fail(BqError::make(500, "internalError", "SQLite: " + message));
  }
  return {};
}

void Store::begin() { (void)exec("BEGIN IMMEDIATE"); }
void Store::commit() { (void)exec("COMMIT"); }
void Store::rollback() { (void)exec("ROLLBACK"); }

void Store::reset() {
  auto all = run("SELECT project, dataset, tbl FROM __rb_tables");
  if (all) {
    for (const json& r : all->rows) {
      (void)exec("DROP TABLE IF EXISTS " +
                 quote_ident(r[0].get<std::string>() + "." + r[1].get<std::string>() + "." +
                             r[2].get<std::string>()));
    }
  }
  (void)exec("DELETE FROM __rb_tables; DELETE FROM __rb_datasets;");
}

BqResult<Store::Rows> Store::run(const std::string& sql, const std::vector<Param>& params) {
  Stmt st;
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &st.s, &tail) !=
      SQLITE_OK) {
    return bq_fail(sqlite_error(db_, "Syntax error: "));
  }
  if (!st.s) return Rows{};
  if (auto b = bind_params(db_, st.s, params); !b) return bq_fail(b.error());
  Rows out;
  const int columns = sqlite3_column_count(st.s);
  for (int i = 0; i < columns; ++i) {
    const char* name = sqlite3_column_name(st.s, i);
    const char* table = sqlite3_column_table_name(st.s, i);
    const char* origin = sqlite3_column_origin_name(st.s, i);
    out.names.emplace_back(name ? name : "");
    out.origin_tables.emplace_back(table ? table : "");
    out.origin_columns.emplace_back(origin ? origin : "");
  }
  for (;;) {
    const int rc = sqlite3_step(st.s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return bq_fail(sqlite_error(db_, ""));
    json row = json::array();
    for (int i = 0; i < columns; ++i) row.push_back(column_value(st.s, i));
    out.rows.push_back(std::move(row));
  }
  out.changes = sqlite3_changes(db_);
  return out;
}

BqResult<json> Store::create_dataset(const std::string& project, const json& body,
                                     const std::string& default_location) {
  const json ref = body.value("datasetReference", json::object());
  const std::string dataset = ref.value("datasetId", "");
  static const std::regex kId("[A-Za-z0-9_]{1,1024}");
  if (!std::regex_match(dataset, kId)) {
    return bq_fail(BqError::invalid("Invalid dataset ID \"" + dataset +
                                    "\". Dataset IDs must be alphanumeric (plus underscores) and "
                                    "must be at most 1024 characters long."));
  }
  if (get_dataset(project, dataset)) {
    return bq_fail(BqError::duplicate("Already Exists: Dataset " + project + ":" + dataset));
  }
  std::string location = body.value("location", default_location);
  json extra = json::object();
  for (const char* key : {"defaultTableExpirationMs", "labels", "description", "friendlyName"}) {
    if (body.contains(key)) extra[key] = body[key];
  }
  auto r = run("INSERT INTO __rb_datasets VALUES(@p, @d, @l, @c, @e)",
               {{"p", "STRING", project},
                {"d", "STRING", dataset},
                {"l", "STRING", location},
                {"c", "INTEGER", std::to_string(now_ms())},
                {"e", "STRING", extra.dump()}});
  if (!r) return bq_fail(r.error());
  return get_dataset(project, dataset);
}

BqResult<json> Store::get_dataset(const std::string& project, const std::string& dataset) const {
  auto r = const_cast<Store*>(this)->run(
      "SELECT location, creation_ms, extra FROM __rb_datasets WHERE project=@p AND dataset=@d",
      {{"p", "STRING", project}, {"d", "STRING", dataset}});
  if (!r || r->rows.empty()) {
    return bq_fail(BqError::not_found("Not found: Dataset " + project + ":" + dataset));
  }
  const json& row = r->rows[0];
  const std::string created = std::to_string(row[1].get<std::int64_t>());
  json out{{"kind", "bigquery#dataset"},
           {"id", project + ":" + dataset},
           {"etag", "\"" + created + "\""},
           {"datasetReference", {{"projectId", project}, {"datasetId", dataset}}},
           {"location", row[0]},
           {"creationTime", created},
           {"lastModifiedTime", created}};
  json extra = json::parse(row[2].get<std::string>(), nullptr, false);
  if (extra.is_object()) out.update(extra);
  return out;
}

std::optional<std::string> Store::dataset_location(const std::string& project,
                                                   const std::string& dataset) const {
  auto d = get_dataset(project, dataset);
  if (!d) return std::nullopt;
  return (*d)["location"].get<std::string>();
}

BqResult<void> Store::delete_dataset(const std::string& project, const std::string& dataset,
                                     bool contents) {
  if (!get_dataset(project, dataset)) {
    return bq_fail(BqError::not_found("Not found: Dataset " + project + ":" + dataset));
  }
  auto list = tables(project, dataset);
  if (!list.empty() && !contents) {
    return bq_fail(BqError::make(400, "resourceInUse",
                                 "Dataset " + project + ":" + dataset + " is still in use"));
  }
  for (const TableInfo& t : list) (void)drop_table(t.ref);
  auto r = run("DELETE FROM __rb_datasets WHERE project=@p AND dataset=@d",
               {{"p", "STRING", project}, {"d", "STRING", dataset}});
  if (!r) return bq_fail(r.error());
  return {};
}

json Store::list_datasets(const std::string& project) const {
  json out = json::array();
  auto r = const_cast<Store*>(this)->run(
      "SELECT dataset FROM __rb_datasets WHERE project=@p ORDER BY dataset",
      {{"p", "STRING", project}});
  if (!r) return out;
  for (const json& row : r->rows) {
    if (auto d = get_dataset(project, row[0].get<std::string>())) out.push_back(*d);
  }
  return out;
}

void Store::expire_tables() {
  auto r =
      run("SELECT project, dataset, tbl FROM __rb_tables WHERE expiration_ms IS NOT NULL AND "
          "expiration_ms <= @now",
          {{"now", "INTEGER", std::to_string(now_ms())}});
  if (!r) return;
  for (const json& row : r->rows) {
    (void)drop_table(
        TableRef{row[0].get<std::string>(), row[1].get<std::string>(), row[2].get<std::string>()});
  }
}

BqResult<TableInfo> Store::create_table(const TableRef& ref, const json& fields,
                                        std::optional<std::int64_t> expiration_ms,
                                        const json& extra, bool replace) {
  auto dataset = get_dataset(ref.project, ref.dataset);
  if (!dataset) return bq_fail(dataset.error());
  static const std::regex kId("[\\w\\-$ ]{1,1024}");
  if (!std::regex_match(ref.table, kId)) {
    return bq_fail(BqError::invalid("Invalid table ID \"" + ref.table + "\"."));
  }
  auto normalised = normalise_fields(fields);
  if (!normalised) return bq_fail(normalised.error());
  if (table(ref)) {
    if (!replace) return bq_fail(BqError::duplicate("Already Exists: Table " + ref.colon_name()));
    if (auto d = drop_table(ref); !d) return bq_fail(d.error());
  }
  if (!expiration_ms && dataset->contains("defaultTableExpirationMs")) {
    const json& d = (*dataset)["defaultTableExpirationMs"];
    expiration_ms =
        now_ms() + (d.is_string() ? std::stoll(d.get<std::string>()) : d.get<std::int64_t>());
  }
  std::string ddl = "CREATE TABLE " + quote_ident(ref.storage_name()) + " (";
  for (std::size_t i = 0; i < normalised->size(); ++i) {
    const json& f = (*normalised)[i];
    ddl +=
        (i ? ", " : "") + quote_ident(f["name"].get<std::string>()) + " " + sqlite_column_type(f);
  }
  if (normalised->empty()) ddl += "__rb_empty INTEGER";
  ddl += ")";
  if (auto r = run(ddl); !r) return bq_fail(r.error());
  TableInfo info{.ref = ref,
                 .fields = *normalised,
                 .creation_ms = now_ms(),
                 .expiration_ms = expiration_ms,
                 .extra = extra.is_object() ? extra : json::object()};
  auto r = run("INSERT INTO __rb_tables VALUES(@p, @d, @t, @f, @c, @x, @e)",
               {{"p", "STRING", ref.project},
                {"d", "STRING", ref.dataset},
                {"t", "STRING", ref.table},
                {"f", "STRING", info.fields.dump()},
                {"c", "INTEGER", std::to_string(info.creation_ms)},
                {"x", "INTEGER", expiration_ms ? json(std::to_string(*expiration_ms)) : json()},
                {"e", "STRING", info.extra.dump()}});
  if (!r) return bq_fail(r.error());
  return info;
}

std::optional<TableInfo> Store::table(const TableRef& ref) {
  expire_tables();
  auto r =
      run("SELECT fields, creation_ms, expiration_ms, extra FROM __rb_tables WHERE "
          "project=@p AND dataset=@d AND tbl=@t",
          {{"p", "STRING", ref.project}, {"d", "STRING", ref.dataset}, {"t", "STRING", ref.table}});
  if (!r || r->rows.empty()) return std::nullopt;
  const json& row = r->rows[0];
  TableInfo info{.ref = ref,
                 .fields = json::parse(row[0].get<std::string>()),
                 .creation_ms = row[1].get<std::int64_t>()};
  if (row[2].is_number_integer()) info.expiration_ms = row[2].get<std::int64_t>();
  info.extra = json::parse(row[3].get<std::string>(), nullptr, false);
  if (!info.extra.is_object()) info.extra = json::object();
  return info;
}

BqResult<void> Store::drop_table(const TableRef& ref) {
  auto r =
      run("DELETE FROM __rb_tables WHERE project=@p AND dataset=@d AND tbl=@t",
          {{"p", "STRING", ref.project}, {"d", "STRING", ref.dataset}, {"t", "STRING", ref.table}});
  if (!r) return bq_fail(r.error());
  if (r->changes == 0) return bq_fail(BqError::not_found("Not found: Table " + ref.colon_name()));
  if (auto d = run("DROP TABLE IF EXISTS " + quote_ident(ref.storage_name())); !d) {
    return bq_fail(d.error());
  }
  return {};
}

std::vector<TableInfo> Store::tables(const std::string& project, const std::string& dataset) {
  expire_tables();
  std::vector<TableInfo> out;
  auto r = run("SELECT tbl FROM __rb_tables WHERE project=@p AND dataset=@d ORDER BY tbl",
               {{"p", "STRING", project}, {"d", "STRING", dataset}});
  if (!r) return out;
  for (const json& row : r->rows) {
    if (auto t = table(TableRef{project, dataset, row[0].get<std::string>()})) {
      out.push_back(std::move(*t));
    }
  }
  return out;
}

std::int64_t Store::row_count(const TableRef& ref) {
  auto r = run("SELECT COUNT(*) FROM " + quote_ident(ref.storage_name()));
  if (!r || r->rows.empty()) return 0;
  return r->rows[0][0].get<std::int64_t>();
}

BqResult<json> Store::rows(const TableRef& ref, std::int64_t start, std::int64_t count) {
  auto info = table(ref);
  if (!info) return bq_fail(BqError::not_found("Not found: Table " + ref.colon_name()));
  std::string cols;
  for (const json& f : info->fields) {
    cols += (cols.empty() ? "" : ", ") + quote_ident(f["name"].get<std::string>());
  }
  if (cols.empty()) return json::array();
  auto r = run("SELECT " + cols + " FROM " + quote_ident(ref.storage_name()) +
                   " ORDER BY rowid LIMIT @n OFFSET @o",
               {{"n", "INTEGER", std::to_string(count)}, {"o", "INTEGER", std::to_string(start)}});
  if (!r) return bq_fail(r.error());
  return std::move(r->rows);
}

BqResult<void> Store::insert_rows(const TableInfo& table,
                                  const std::vector<std::vector<json>>& rows) {
  if (rows.empty() || table.fields.empty()) return {};
  std::string sql = "INSERT INTO " + quote_ident(table.ref.storage_name()) + " (";
  std::string values;
  for (std::size_t i = 0; i < table.fields.size(); ++i) {
    sql += (i ? ", " : "") + quote_ident(table.fields[i]["name"].get<std::string>());
    values += (i ? ", ?" : "?");
  }
  sql += ") VALUES (" + values + ")";
  Stmt st;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
    return bq_fail(sqlite_error(db_, ""));
  }
  for (const auto& row : rows) {
    sqlite3_reset(st.s);
    sqlite3_clear_bindings(st.s);
    for (std::size_t i = 0; i < row.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      const json& v = row[i];
      if (v.is_null()) {
        sqlite3_bind_null(st.s, index);
      } else if (v.is_number_integer()) {
        sqlite3_bind_int64(st.s, index, v.get<std::int64_t>());
      } else if (v.is_number_float()) {
        sqlite3_bind_double(st.s, index, v.get<double>());
      } else if (v.is_boolean()) {
        sqlite3_bind_int(st.s, index, v.get<bool>() ? 1 : 0);
      } else {
        const std::string text = v.is_string() ? v.get<std::string>() : v.dump();
        sqlite3_bind_text(st.s, index, text.c_str(), static_cast<int>(text.size()),
                          SQLITE_TRANSIENT);
      }
    }
    if (sqlite3_step(st.s) != SQLITE_DONE) return bq_fail(sqlite_error(db_, ""));
  }
  return {};
}

}  // namespace rebound::emulator::bigquery::detail
