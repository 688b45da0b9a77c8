// REST dispatch (both path prefixes), datasets, tables, tabledata.list and
// insertAll with its streaming buffer.
#include "impl.hpp"
#include "rebound/core/percent_decode.hpp"

namespace rebound::emulator::bigquery {

using namespace detail;

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    out.push_back(percent_decode(path.substr(0, slash), PlusSign::space));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

BqResult<json> parse_body(const std::string& body) {
  if (body.empty()) return json::object();
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return bq_fail(BqError::make(400, "parseError", "Invalid JSON payload received."));
  }
  return j;
}

std::optional<std::int64_t> query_int(const std::map<std::string, std::string>& q,
                                      const std::string& key) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty()) return std::nullopt;
  return to_int(json(it->second));
}

}  // namespace

Reply Emulator::Impl::dispatch(const ServerRequest& request, const std::string& raw_path,
                               const std::map<std::string, std::string>& query, FaultPlan& faults,
                               std::unique_lock<std::mutex>& lock) {
  std::string_view path = raw_path;
  for (std::string_view upload : {"/upload/bigquery/v2/", "/resumable/upload/bigquery/v2/"}) {
    if (path.starts_with(upload)) {
      const auto seg = split_path(path.substr(upload.size() - 1));
      if (seg.size() == 3 && seg[0] == "projects" && seg[2] == "jobs") {
        return upload_route(request, seg[1], query, faults, lock);
      }
      return error_reply(BqError::not_found("Not found: upload URL " + raw_path));
    }
  }
  if (path.starts_with("/bigquery/v2/"))
    path.remove_prefix(std::string_view("/bigquery/v2").size());
  const auto seg = split_path(path);
  const std::string& method = request.method;
  if (seg.size() < 3 || seg[0] != "projects") {
    return error_reply(BqError::not_found("Not found: URL " + raw_path));
  }
  const std::string& project = seg[1];
  if (seg[2] == "jobs") return jobs_route(method, project, seg, query, request.body, faults, lock);
  if (seg[2] == "queries") {
    if (seg.size() == 3 && method == "POST")
      return query_route(project, request.body, faults, lock);
    if (seg.size() == 4 && method == "GET") {
      auto job = find_job(project, seg[3], query.contains("location") ? query.at("location") : "");
      if (!job) {
        const std::string loc =
            query.contains("location") ? upper_location(query.at("location")) : "US";
        return error_reply(BqError::not_found(
            "Not found: Job " + project + ":" +
            (options.unconfirmed.not_found_job_with_location ? loc + "." : "") + seg[3]));
      }
      auto keep = job;  // the job stays alive while the long poll waits
      return query_results(*keep, query, lock);
    }
  }
  if (seg[2] == "datasets") {
    if (seg.size() == 3 && method == "POST") {
      auto body = parse_body(request.body);
      if (!body) return error_reply(body.error());
      auto ds = store->create_dataset(project, *body, "US");
      return ds ? json_reply(200, *ds) : error_reply(ds.error());
    }
    if (seg.size() == 3 && method == "GET") {
      json list = json::array();
      for (const json& d : store->list_datasets(project)) {
        list.push_back(json{{"kind", "bigquery#dataset"},
                            {"id", d["id"]},
                            {"datasetReference", d["datasetReference"]},
                            {"location", d["location"]}});
      }
      return json_reply(200, json{{"kind", "bigquery#datasetList"}, {"datasets", list}});
    }
    if (seg.size() == 4 && method == "GET") {
      auto ds = store->get_dataset(project, seg[3]);
      return ds ? json_reply(200, *ds) : error_reply(ds.error());
    }
    if (seg.size() == 4 && method == "DELETE") {
      const bool contents =
          query.contains("deleteContents") && query.at("deleteContents") == "true";
      auto r = store->delete_dataset(project, seg[3], contents);
      if (!r) return error_reply(r.error());
      Reply reply;
      reply.status = 204;
      return reply;
    }
    if (seg.size() >= 5 && seg[4] == "tables")
      return tables_route(method, seg, query, request.body);
  }
  return error_reply(BqError::not_found("Not found: URL " + request.method + " " + raw_path));
}

std::int64_t Emulator::Impl::buffered_rows(const std::string& storage_name) {
  auto it = buffers.find(storage_name);
  if (it == buffers.end()) return 0;
  const std::int64_t t = now();
  std::erase_if(it->second, [t](const BufferEntry& e) { return e.until_ms <= t; });
  std::int64_t rows = 0;
  for (const auto& e : it->second) rows += e.rows;
  return rows;
}

json Emulator::Impl::table_json(const TableInfo& info) {
  const TableRef& r = info.ref;
  const std::int64_t total = store->row_count(r);
  const std::int64_t buffered = buffered_rows(r.storage_name());
  const std::string created = std::to_string(info.creation_ms);
  json out{{"kind", "bigquery#table"},
           {"id", r.colon_name()},
           {"etag", "\"" + created + "\""},
           {"selfLink", "http://127.0.0.1:" + std::to_string(server ? server->port() : 0) +
                            "/bigquery/v2/projects/" + r.project + "/datasets/" + r.dataset +
                            "/tables/" + r.table},
           {"tableReference",
            {{"projectId", r.project}, {"datasetId", r.dataset}, {"tableId", r.table}}},
           {"schema", {{"fields", info.fields}}},
           {"numRows", std::to_string(total - buffered)},
           {"numBytes", "0"},
           {"creationTime", created},
           {"lastModifiedTime", created},
           {"type", "TABLE"},
           {"location", store->dataset_location(r.project, r.dataset).value_or("US")}};
  if (info.expiration_ms) out["expirationTime"] = std::to_string(*info.expiration_ms);
  if (buffered > 0) {
    std::int64_t oldest = now();
    std::int64_t bytes = 0;
    for (const auto& e : buffers[r.storage_name()]) {
      oldest = std::min(oldest, e.inserted_ms);
      bytes += e.bytes;
    }
    out["streamingBuffer"] = json{{"estimatedRows", std::to_string(buffered)},
                                  {"estimatedBytes", std::to_string(bytes)},
                                  {"oldestEntryTime", std::to_string(oldest)}};
  }
  for (const auto& [k, v] : info.extra.items()) out[k] = v;
  return out;
}

Reply Emulator::Impl::tables_route(const std::string& method, const std::vector<std::string>& seg,
                                   const std::map<std::string, std::string>& query,
                                   const std::string& body) {
  const std::string& project = seg[1];
  const std::string& dataset = seg[3];
  if (seg.size() == 5 && method == "POST") {
    auto parsed = parse_body(body);
    if (!parsed) return error_reply(parsed.error());
    const json ref = parsed->value("tableReference", json::object());
    TableRef table{project, dataset, ref.value("tableId", "")};
    std::optional<std::int64_t> expiration;
    if (parsed->contains("expirationTime")) expiration = to_int((*parsed)["expirationTime"]);
    json extra = json::object();
    for (const char* key :
         {"labels", "description", "friendlyName", "timePartitioning", "clustering"}) {
      if (parsed->contains(key)) extra[key] = (*parsed)[key];
    }
    auto info = store->create_table(
        table, parsed->value("schema", json::object()).value("fields", json::array()), expiration,
        extra, false);
    return info ? json_reply(200, table_json(*info)) : error_reply(info.error());
  }
  if (seg.size() == 5 && method == "GET") {
    json list = json::array();
    for (const TableInfo& t : store->tables(project, dataset)) {
      list.push_back(
          json{{"kind", "bigquery#table"},
               {"id", t.ref.colon_name()},
               {"tableReference",
                {{"projectId", project}, {"datasetId", dataset}, {"tableId", t.ref.table}}},
               {"type", "TABLE"},
               {"creationTime", std::to_string(t.creation_ms)}});
    }
    return json_reply(
        200, json{{"kind", "bigquery#tableList"}, {"tables", list}, {"totalItems", list.size()}});
  }
  if (seg.size() < 6) return error_reply(BqError::not_found("Not found: URL"));
  const TableRef ref{project, dataset, seg[5]};
  if (!store->get_dataset(project, dataset)) {
    return error_reply(BqError::not_found("Not found: Dataset " + project + ":" + dataset));
  }
  if (seg.size() == 6 && method == "GET") {
    auto info = store->table(ref);
    return info ? json_reply(200, table_json(*info))
                : error_reply(BqError::not_found("Not found: Table " + ref.colon_name()));
  }
  if (seg.size() == 6 && method == "DELETE") {
    auto r = store->drop_table(ref);
    if (!r) return error_reply(r.error());
    buffers.erase(ref.storage_name());
    insert_ids.erase(ref.storage_name());
    Reply reply;
    reply.status = 204;
    return reply;
  }
  if (seg.size() == 7 && seg[6] == "data" && method == "GET") {
    auto info = store->table(ref);
    if (!info) return error_reply(BqError::not_found("Not found: Table " + ref.colon_name()));
    std::int64_t start = query_int(query, "startIndex").value_or(0);
    if (auto token = query.find("pageToken"); token != query.end())
      start = to_int(json(token->second)).value_or(start);
    const std::int64_t max = query_int(query, "maxResults").value_or(100000);
    const std::int64_t total = store->row_count(ref);
    auto rows = store->rows(ref, start, max);
    if (!rows) return error_reply(rows.error());
    const bool int64_ts = query.contains("formatOptions.useInt64Timestamp") &&
                          query.at("formatOptions.useInt64Timestamp") == "true";
    json out{{"kind", "bigquery#tableDataList"},
             {"totalRows", std::to_string(total)},
             {"rows", encode_rows(info->fields, *rows, 0, rows->size(), int64_ts)}};
    const std::int64_t next = start + static_cast<std::int64_t>(rows->size());
    if (next < total) out["pageToken"] = std::to_string(next);
    return json_reply(200, out);
  }
  if (seg.size() == 7 && seg[6] == "insertAll" && method == "POST") return insert_all(ref, body);
  return error_reply(BqError::not_found("Not found: URL " + method));
}

Reply Emulator::Impl::insert_all(const TableRef& ref, const std::string& body) {
  auto parsed = parse_body(body);
  if (!parsed) return error_reply(parsed.error());
  auto info = store->table(ref);
  if (!info) return error_reply(BqError::not_found("Not found: Table " + ref.colon_name()));
  const bool skip_invalid = parsed->value("skipInvalidRows", false);
  const bool ignore_unknown = parsed->value("ignoreUnknownValues", false);
  const json rows = parsed->value("rows", json::array());
  auto& ids = insert_ids[ref.storage_name()];
  const std::int64_t t = now();
  std::erase_if(ids, [t](const auto& kv) { return kv.second <= t; });
  std::vector<std::vector<json>> good;
  json errors = json::array();
  std::vector<std::size_t> good_index;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const json& row = rows[i];
    const std::string insert_id = row.value("insertId", "");
    if (!insert_id.empty() && ids.contains(insert_id)) continue;  // best-effort dedup
    auto converted =
        store->convert_row(info->fields, row.value("json", json::object()), ignore_unknown);
    if (!converted) {
      errors.push_back(
          json{{"index", i},
               {"errors", json::array({json{{"reason", "invalid"},
                                            {"location", converted.error().location},
                                            {"debugInfo", ""},
                                            {"message", converted.error().message}}})}});
      continue;
    }
    good.push_back(std::move(*converted));
    good_index.push_back(i);
    if (!insert_id.empty()) ids[insert_id] = t + options.streaming_buffer_duration.count();
  }
  if (!errors.empty() && !skip_invalid) {
    // One bad row fails the request: the others are reported as stopped.
    for (std::size_t i : good_index) {
      errors.push_back(json{
          {"index", i},
          {"errors",
           json::array({json{
               {"reason", "stopped"}, {"location", ""}, {"debugInfo", ""}, {"message", ""}}})}});
      if (const std::string id = rows[i].value("insertId", ""); !id.empty()) ids.erase(id);
    }
    return json_reply(
        200, json{{"kind", "bigquery#tableDataInsertAllResponse"}, {"insertErrors", errors}});
  }
  store->begin();
  if (auto r = store->insert_rows(*info, good); !r) {
    store->rollback();
    return error_reply(r.error());
  }
  store->commit();
  if (!good.empty()) {
    buffers[ref.storage_name()].push_back(
        BufferEntry{.until_ms = t + options.streaming_buffer_duration.count(),
                    .inserted_ms = t,
                    .rows = static_cast<std::int64_t>(good.size()),
                    .bytes = static_cast<std::int64_t>(body.size())});
  }
  json out{{"kind", "bigquery#tableDataInsertAllResponse"}};
  if (!errors.empty()) out["insertErrors"] = errors;
  return json_reply(200, out);
}

}  // namespace rebound::emulator::bigquery
