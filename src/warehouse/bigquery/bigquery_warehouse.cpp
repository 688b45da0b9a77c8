// The BigQuery Warehouse and Session. See bigquery_warehouse.hpp.
#include "rebound/warehouse/bigquery/bigquery_warehouse.hpp"

#include <nlohmann/json.hpp>

#include "rebound/core/random.hpp"
#include "rebound/retry/backoff.hpp"
#include "rebound/warehouse/bigquery/api_error.hpp"
#include "rebound/warehouse/bigquery/sql.hpp"

namespace rebound::bigquery {
namespace {

using nlohmann::json;
using warehouse::Column;
using warehouse::ColumnType;
using warehouse::QueryResult;
using warehouse::Row;
using warehouse::RowSet;
using warehouse::Schema;
using warehouse::Session;
using warehouse::TableName;
using warehouse::Value;

std::string bq_type(ColumnType t) {
  switch (t) {
    case ColumnType::boolean:
      return "BOOL";
    case ColumnType::integer:
      return "INT64";
    case ColumnType::real:
      return "FLOAT64";
    case ColumnType::text:
      return "STRING";
  }
  return "STRING";
}

ColumnType column_type(std::string_view bq) {
  if (bq == "BOOL" || bq == "BOOLEAN") return ColumnType::boolean;
  if (bq == "INT64" || bq == "INTEGER") return ColumnType::integer;
  if (bq == "FLOAT64" || bq == "FLOAT" || bq == "NUMERIC" || bq == "BIGNUMERIC") {
    return ColumnType::real;
  }
  return ColumnType::text;
}

json schema_json(const Schema& schema, bool all_nullable) {
  json fields = json::array();
  for (const Column& c : schema.columns) {
    fields.push_back({{"name", c.name},
                      {"type", bq_type(c.type)},
                      {"mode", (c.nullable || all_nullable) ? "NULLABLE" : "REQUIRED"}});
  }
  return {{"fields", fields}};
}

Schema schema_from(const json& table_schema) {
  Schema out;
  if (!member(table_schema, "fields").is_array()) return out;
  for (const json& f : table_schema["fields"]) {
    auto text = [&](const char* name, const char* fallback) {
      const json& v = member(f, name);
      return v.is_string() ? v.get<std::string>() : std::string(fallback);
    };
    out.columns.push_back({.name = text("name", ""),
                           .type = column_type(text("type", "STRING")),
                           .nullable = text("mode", "NULLABLE") != "REQUIRED"});
  }
  return out;
}

Value cell(const json& v, ColumnType type) {
  if (v.is_null()) return warehouse::Null{};
  const std::string text = v.is_string() ? v.get<std::string>() : v.dump();
  switch (type) {
    case ColumnType::boolean:
      return text == "true" || text == "TRUE" || text == "1";
    case ColumnType::integer:
      return static_cast<std::int64_t>(std::strtoll(text.c_str(), nullptr, 10));
    case ColumnType::real:
      return std::strtod(text.c_str(), nullptr);
    case ColumnType::text:
      return text;
  }
  return text;
}

Result<std::string> ndjson(const RowSet& rows) {
  std::string out;
  for (std::size_t r = 0; r < rows.rows.size(); ++r) {
    json object = json::object();
    for (std::size_t c = 0; c < rows.schema.columns.size(); ++c) {
      const Value& v = rows.rows[r][c];
      json& slot = object[rows.schema.columns[c].name];
      if (const auto* b = std::get_if<bool>(&v)) {
        slot = *b;
      } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
        slot = *i;
      } else if (const auto* d = std::get_if<double>(&v)) {
        slot = *d;
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        slot = *s;
      }
    }
    try {
      out += object.dump();
    } catch (const json::exception&) {
      return fail(Error::permanent("row " + std::to_string(r + 1) +
                                   " has text that is not valid UTF-8; BigQuery needs UTF-8"));
    }
    out += '\n';
  }
  return out;
}

bool complete(const json& response) { return member(response, "jobComplete") == true; }

std::string text_of(const json& v) { return v.is_string() ? v.get<std::string>() : std::string{}; }

std::int64_t dml_rows(const json& stats_or_response) {
  if (member(stats_or_response, "dmlStats").is_object()) {
    const json& d = stats_or_response["dmlStats"];
    return int64_field(d, "insertedRowCount") + int64_field(d, "updatedRowCount") +
           int64_field(d, "deletedRowCount");
  }
  return int64_field(stats_or_response, "numDmlAffectedRows");
}

class BigQueryWarehouse final : public warehouse::Warehouse {
 public:
  BigQueryWarehouse(std::shared_ptr<Client> client, WarehouseOptions options)
      : client_(std::move(client)), options_(std::move(options)) {
    Config shown = client_->config();
    shown.dataset = options_.dataset;
    display_ = bigquery::display_url(shown);
  }

  std::string_view backend() const noexcept override { return "bigquery"; }
  const std::string& display_url() const noexcept override { return display_; }
  pool::PoolStats pool_stats() const override {
    const http::ClientStats s = client_->rest().http().stats();
    pool::PoolStats out;
    out.created = s.new_connections;
    out.reused = s.reused_connections;
    return out;
  }
  Status with_session(const std::function<Status(Session&)>& fn) override;
  Status transaction(const warehouse::TransactionOptions&,
                     const std::function<Status(Session&)>&) override {
    return fail(Error::make(
        ErrorClass::permanent,
        "BigQuery has no transaction spanning several REST calls; use with_session (each "
        "statement commits on its own) or BatchWriter (one MERGE job is atomic)",
        "rebound", "no_transactions"));
  }
  Result<std::int64_t> merge_rows(const TableName& target, std::span<const std::string> keys,
                                  const PrepareRows& prepare,
                                  const warehouse::TransactionOptions& options) override;

  // The Session operations (BigQuerySession forwards here).
  Result<json> run_query(std::string_view sql, std::span<const Value> params);
  Result<std::int64_t> execute(std::string_view sql, std::span<const Value> params);
  Result<QueryResult> query(std::string_view sql, std::span<const Value> params);
  Status load(const TableName& table, const RowSet& rows) override;  // one load job: atomic
  Result<std::optional<Schema>> describe(const TableName& table);
  Status create_table(const TableName& table, const Schema& schema,
                      std::span<const std::string> keys, bool temporary);
  Result<std::int64_t> merge(const TableName& staging, const TableName& target,
                             const Schema& columns, std::span<const std::string> keys);
  Status drop_table(const TableName& table, bool retried = true);

 private:
  Result<std::string> dataset_of(const TableName& t) const {
    if (!t.schema.empty()) return t.schema;
    if (!options_.dataset.empty()) return options_.dataset;
    return fail(Error::permanent("table " + t.display() + " names no dataset and " + display_ +
                                 " has none; use dataset.table or bigquery://PROJECT/DATASET"));
  }
  Result<std::string> qualified(const TableName& t) const {
    auto d = dataset_of(t);
    if (!d) return fail(std::move(d.error()));
    return "`" + client_->config().project + "." + *d + "." + t.name + "`";
  }
  std::string table_path(const std::string& dataset, const std::string& table) const {
    return client_->rest().api("/datasets/" + dataset + "/tables" +
                               (table.empty() ? "" : "/" + table));
  }
  Status create_dataset(const std::string& dataset);
  Result<json> query_call(const std::string& method, const std::string& url,
                          const std::string& body, const std::string& operation);

  std::shared_ptr<Client> client_;
  WarehouseOptions options_;
  std::string display_;
};

class BigQuerySession final : public Session {
 public:
  explicit BigQuerySession(BigQueryWarehouse& wh) : wh_(wh) {}
  Result<std::int64_t> execute(std::string_view sql, std::span<const Value> params) override {
    return wh_.execute(sql, params);
  }
  Result<QueryResult> query(std::string_view sql, std::span<const Value> params) override {
    return wh_.query(sql, params);
  }
  Status load(const TableName& table, const RowSet& rows) override { return wh_.load(table, rows); }
  Result<std::optional<Schema>> describe(const TableName& table) override {
    return wh_.describe(table);
  }
  Status create_table(const TableName& table, const Schema& schema,
                      std::span<const std::string> keys, bool temporary) override {
    return wh_.create_table(table, schema, keys, temporary);
  }
  Result<std::int64_t> merge(const TableName& staging, const TableName& target,
                             const Schema& columns, std::span<const std::string> keys) override {
    return wh_.merge(staging, target, columns, keys);
  }
  Status drop_table(const TableName& table) override { return wh_.drop_table(table); }

 private:
  BigQueryWarehouse& wh_;
};

Status BigQueryWarehouse::with_session(const std::function<Status(Session&)>& fn) {
  BigQuerySession session(*this);
  return fn(session);
}

Result<json> BigQueryWarehouse::query_call(const std::string& method, const std::string& url,
                                           const std::string& body, const std::string& operation) {
  auto r = client_->rest().send({.method = method,
                                 .url = url,
                                 .body = body,
                                 .content_type = "application/json",
                                 .headers = {},
                                 .accept = {},
                                 .operation = operation,
                                 .timeout = std::nullopt,
                                 .failed_job_is_final = true});
  if (!r) return fail(std::move(r.error()));
  auto j = json::parse(r->body, nullptr, false);
  if (!j.is_object()) {
    return fail(Error::transient(operation + ": HTTP " + std::to_string(r->status) +
                                 " with a body that is not JSON"));
  }
  return j;
}

Result<json> BigQueryWarehouse::run_query(std::string_view sql, std::span<const Value> params) {
  auto translated = translate_sql(sql);
  if (!translated) return fail(std::move(translated.error()));
  if (static_cast<std::size_t>(translated->max_placeholder) > params.size()) {
    return fail(Error::permanent("statement has " + std::to_string(translated->max_placeholder) +
                                 " parameters but " + std::to_string(params.size()) +
                                 " values were given"));
  }
  const Config& config = client_->config();
  const auto timeout_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.query_timeout).count();
  json body = {{"query", translated->sql},
               {"useLegacySql", false},
               {"location", config.location},
               {"timeoutMs", timeout_ms},
               {"formatOptions", {{"useInt64Timestamp", true}}}};
  if (!options_.dataset.empty()) {
    body["defaultDataset"] = {{"projectId", config.project}, {"datasetId", options_.dataset}};
  }
  if (!params.empty()) {
    body["parameterMode"] = "NAMED";
    body["queryParameters"] = query_parameters(params);
  }
  Backoff pause{FullJitter{.initial = std::chrono::seconds{1},
                           .maximum = std::chrono::seconds{60},
                           .multiplier = 2.0},
                Rng::from_entropy()};
  for (int run = 1;; ++run) {
    // One requestId per job run: HTTP retries of this run are deduplicated by
    // BigQuery; a re-run after a failed job needs a new one.
    body["requestId"] = random_uuid();
    auto response = query_call("POST", client_->rest().api("/queries"), body.dump(), "jobs.query");
    auto finish = [&]() -> Result<json> {
      if (!response) return fail(std::move(response.error()));
      json& r = *response;
      const json& id = member(member(r, "jobReference"), "jobId");
      const std::string job_id = id.is_string() ? id.get<std::string>() : "";
      if (job_id.empty() && !complete(r)) {
        return fail(
            Error::transient("jobs.query answered jobComplete:false without a jobReference"));
      }
      const std::string base = client_->rest().api("/queries/" + job_id) +
                               "?location=" + config.location +
                               "&formatOptions.useInt64Timestamp=true";
      while (!complete(r)) {
        auto next = query_call("GET", base + "&timeoutMs=" + std::to_string(timeout_ms), "",
                               "jobs.getQueryResults " + job_id);
        if (!next) return fail(std::move(next.error()));
        r = std::move(*next);
      }
      for (std::string token = text_of(member(r, "pageToken")); !token.empty();) {
        auto page =
            query_call("GET", base + "&pageToken=" + token, "", "jobs.getQueryResults " + job_id);
        if (!page) return fail(std::move(page.error()));
        if (member(*page, "rows").is_array()) {
          for (auto& row : (*page)["rows"]) r["rows"].push_back(std::move(row));
        }
        token = text_of(member(*page, "pageToken"));
      }
      return std::move(r);
    };
    auto result = finish();
    if (result || !is_failed_job_error(result.error()) || run >= options_.max_query_runs) {
      return result;
    }
    client_->rest().sleeper().sleep_for(pause.next());
  }
}

Result<std::int64_t> BigQueryWarehouse::execute(std::string_view sql,
                                                std::span<const Value> params) {
  auto r = run_query(sql, params);
  if (!r) return fail(std::move(r.error()));
  return dml_rows(*r);
}

Result<QueryResult> BigQueryWarehouse::query(std::string_view sql, std::span<const Value> params) {
  auto r = run_query(sql, params);
  if (!r) return fail(std::move(r.error()));
  const Schema schema = schema_from(member(*r, "schema"));
  QueryResult out;
  for (const Column& c : schema.columns) out.columns.push_back(c.name);
  const json& rows = member(*r, "rows");
  for (const json& row : rows.is_array() ? rows : json::array()) {
    Row cells;
    const json& f = member(row, "f");
    for (std::size_t i = 0; i < schema.columns.size() && f.is_array() && i < f.size(); ++i) {
      cells.push_back(cell(member(f[i], "v"), schema.columns[i].type));
    }
    out.rows.push_back(std::move(cells));
  }
  return out;
}

Status BigQueryWarehouse::load(const TableName& table, const RowSet& rows) {
  auto dataset = dataset_of(table);
  if (!dataset) return fail(std::move(dataset.error()));
  auto data = ndjson(rows);
  if (!data) return fail(std::move(data.error()));
  const json config = {{"load",
                        {{"destinationTable",
                          {{"projectId", client_->config().project},
                           {"datasetId", *dataset},
                           {"tableId", table.name}}},
                         {"sourceFormat", "NEWLINE_DELIMITED_JSON"},
                         {"writeDisposition", "WRITE_APPEND"},
                         {"createDisposition", "CREATE_NEVER"},
                         {"ignoreUnknownValues", false},
                         {"maxBadRecords", 0}}}};
  auto done = client_->jobs().run(
      "load", config, [&](const json& job) { return client_->uploader().upload(job, *data); });
  if (!done) return fail(std::move(done.error()));
  return {};
}

Result<std::optional<Schema>> BigQueryWarehouse::describe(const TableName& table) {
  auto dataset = dataset_of(table);
  if (!dataset) return fail(std::move(dataset.error()));
  auto r = client_->rest().send({.method = "GET",
                                 .url = table_path(*dataset, table.name),
                                 .body = {},
                                 .content_type = {},
                                 .headers = {},
                                 .accept = {404},
                                 .operation = "tables.get " + *dataset + "." + table.name,
                                 .timeout = std::nullopt});
  if (!r) return fail(std::move(r.error()));
  if (r->status == 404) return std::optional<Schema>{};
  auto j = json::parse(r->body, nullptr, false);
  if (!j.is_object()) return fail(Error::transient("tables.get: a body that is not JSON"));
  return std::optional<Schema>{schema_from(member(j, "schema"))};
}

Status BigQueryWarehouse::create_dataset(const std::string& dataset) {
  const json body = {
      {"datasetReference", {{"projectId", client_->config().project}, {"datasetId", dataset}}},
      {"location", client_->config().location}};
  auto r = client_->rest().send({.method = "POST",
                                 .url = client_->rest().api("/datasets"),
                                 .body = body.dump(),
                                 .content_type = "application/json",
                                 .headers = {},
                                 .accept = {409},
                                 .operation = "datasets.insert " + dataset,
                                 .timeout = std::nullopt});
  if (!r) return fail(std::move(r.error()));
  return {};
}

Status BigQueryWarehouse::create_table(const TableName& table, const Schema& schema,
                                       std::span<const std::string> /*keys*/, bool temporary) {
  auto dataset = dataset_of(table);
  if (!dataset) return fail(std::move(dataset.error()));
  json body = {{"tableReference",
                {{"projectId", client_->config().project},
                 {"datasetId", *dataset},
                 {"tableId", table.name}}},
               {"schema", schema_json(schema, temporary)}};
  if (temporary) {
    const auto expires = std::chrono::duration_cast<std::chrono::milliseconds>(
        client_->rest().clock().wall_now().time_since_epoch() + options_.staging_expiration);
    body["expirationTime"] = std::to_string(expires.count());
  }
  for (int round = 0;; ++round) {
    auto r = client_->rest().send({.method = "POST",
                                   .url = table_path(*dataset, ""),
                                   .body = body.dump(),
                                   .content_type = "application/json",
                                   .headers = {},
                                   .accept = {404, 409},
                                   .operation = "tables.insert " + *dataset + "." + table.name,
                                   .timeout = std::nullopt});
    if (!r) return fail(std::move(r.error()));
    // 409: it exists — ours from a lost response, or IF NOT EXISTS semantics.
    if (r->status != 404) return {};
    if (round > 0) {
      return fail(
          error_from_response(r->status, r->body, "tables.insert " + *dataset + "." + table.name));
    }
    if (auto made = create_dataset(*dataset); !made) return made;
  }
}

Result<std::int64_t> BigQueryWarehouse::merge(const TableName& staging, const TableName& target,
                                              const Schema& columns,
                                              std::span<const std::string> keys) {
  auto source = qualified(staging);
  if (!source) return fail(std::move(source.error()));
  auto into = qualified(target);
  if (!into) return fail(std::move(into.error()));
  std::string on, set, names, values;
  for (const std::string& k : keys) {
    on += (on.empty() ? "" : " AND ") + ("T.`" + k + "` = S.`" + k + "`");
  }
  for (const Column& c : columns.columns) {
    const std::string q = "`" + c.name + "`";
    names += (names.empty() ? "" : ", ") + q;
    values += (values.empty() ? "" : ", ") + ("S." + q);
    if (std::find(keys.begin(), keys.end(), c.name) == keys.end()) {
      set += (set.empty() ? "" : ", ") + (q + " = S." + q);
    }
  }
  std::string sql = "MERGE " + *into + " T USING " + *source + " S ON " + on;
  if (!set.empty()) sql += " WHEN MATCHED THEN UPDATE SET " + set;
  sql += " WHEN NOT MATCHED THEN INSERT (" + names + ") VALUES (" + values + ")";
  auto done = client_->jobs().run("merge", {{"query", {{"query", sql}, {"useLegacySql", false}}}});
  if (!done) return fail(std::move(done.error()));
  return dml_rows(member(member(*done, "statistics"), "query"));
}

Status BigQueryWarehouse::drop_table(const TableName& table, bool retried) {
  auto dataset = dataset_of(table);
  if (!dataset) return fail(std::move(dataset.error()));
  const Call call{.method = "DELETE",
                  .url = table_path(*dataset, table.name),
                  .body = {},
                  .content_type = {},
                  .headers = {},
                  .accept = {404},  // gone already (our own earlier delete)
                  .operation = "tables.delete " + *dataset + "." + table.name,
                  .timeout = std::nullopt};
  auto r = retried ? client_->rest().send(call) : client_->rest().send_once(call);
  if (!r) return fail(std::move(r.error()));
  return {};
}

Result<std::int64_t> BigQueryWarehouse::merge_rows(const TableName& target,
                                                   std::span<const std::string> keys,
                                                   const PrepareRows& prepare,
                                                   const warehouse::TransactionOptions&) {
  // No transaction to put prepare in: its describe / create run as their own
  // calls (a target it created stays when the write then fails).
  const RowSet* prepared = nullptr;
  auto ready = with_session([&](Session& s) -> Status {
    auto r = prepare(s);
    if (!r) return fail(std::move(r.error()));
    prepared = *r;
    return {};
  });
  if (!ready) return fail(std::move(ready.error()));
  const RowSet& rows = *prepared;
  auto dataset = dataset_of(target);
  if (!dataset) return fail(std::move(dataset.error()));
  std::string suffix = random_uuid();
  std::replace(suffix.begin(), suffix.end(), '-', '_');
  const TableName staging{.schema = *dataset, .name = "rebound_stage_" + suffix};
  if (auto st = create_table(staging, rows.schema, {}, /*temporary=*/true); !st) {
    return fail(std::move(st.error()));
  }
  // Deleted on every path; expirationTime covers a crash. On success the
  // delete is retried like any call, and its failure does not fail the write
  // (the rows are in; the table expires on its own). On failure it gets one
  // attempt, so a dead endpoint cannot hold the writer's retry loop here.
  auto merged = [&]() -> Result<std::int64_t> {
    if (auto st = load(staging, rows); !st) return fail(std::move(st.error()));
    return merge(staging, target, rows.schema, keys);
  }();
  (void)drop_table(staging, /*retried=*/merged.has_value());
  return merged;
}

}  // namespace

Result<std::shared_ptr<warehouse::Warehouse>> make_bigquery_warehouse(
    std::shared_ptr<Client> client, WarehouseOptions options) {
  if (!client) return fail(Error::permanent("make_bigquery_warehouse needs a client"));
  return std::make_shared<BigQueryWarehouse>(std::move(client), std::move(options));
}

Result<std::shared_ptr<warehouse::Warehouse>> open_bigquery_warehouse(std::string_view url) {
  const Env env = process_env();
  auto config = parse_url(url, env);
  if (!config) return fail(std::move(config.error()));
  auto defaults = parse_url("bigquery://" + config->project + "?location=" + config->location, env);
  std::shared_ptr<Client> c;
  if (defaults && defaults->endpoint == config->endpoint &&
      defaults->anonymous == config->anonymous) {
    auto cached = client(config->project, config->location);
    if (!cached) return fail(std::move(cached.error()));
    c = std::move(*cached);
  } else {
    auto made = Client::make({.config = *config});
    if (!made) return fail(std::move(made.error()));
    c = std::move(*made);
  }
  return make_bigquery_warehouse(std::move(c), {.dataset = config->dataset});
}

}  // namespace rebound::bigquery
