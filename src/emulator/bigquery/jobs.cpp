// Jobs: creation (validation, 409 duplicate, quota and rate limit), the
// PENDING → RUNNING → DONE lifecycle with effects applied once at DONE,
// jobs.get/cancel, jobs.query (requestId dedup, long poll) and
// getQueryResults.
#include <algorithm>

#include "impl.hpp"

namespace rebound::emulator::bigquery {

using namespace detail;

namespace {

std::string job_key(const std::string& project, const std::string& location,
                    const std::string& id) {
  return project + "\n" + upper_location(location) + "\n" + id;
}

const char* state_name(JobState s) {
  switch (s) {
    case JobState::pending:
      return "PENDING";
    case JobState::running:
      return "RUNNING";
    case JobState::done:
      return "DONE";
  }
  return "DONE";
}

// The HTTP status a failed job surfaces with from jobs.query/getQueryResults.
int failed_job_status(const std::string& reason) {
  if (reason == "notFound") return 404;
  if (reason == "duplicate") return 409;
  if (reason == "accessDenied" || reason == "quotaExceeded" || reason == "rateLimitExceeded" ||
      reason == "responseTooLarge") {
    return 403;
  }
  return 400;
}

BqResult<std::vector<Param>> parse_params(const json& query_config) {
  std::vector<Param> out;
  const json params = query_config.value("queryParameters", json::array());
  int position = 0;
  for (const json& p : params) {
    ++position;
    const json type = p.value("parameterType", json::object());
    const std::string kind = canonical_type(type.value("type", "STRING"));
    if (kind.empty() || kind == "RECORD") {
      return bq_fail(BqError::invalid_query("Query parameter type " + type.value("type", "") +
                                            " is not supported by the emulator"));
    }
    const json value = p.value("parameterValue", json::object());
    std::string name = p.value("name", "");
    if (name.empty()) name = "?" + std::to_string(position);
    out.push_back(Param{
        .name = name, .type = kind, .value = value.contains("value") ? value["value"] : json()});
  }
  return out;
}

}  // namespace

std::shared_ptr<Job> Emulator::Impl::find_job(const std::string& project, const std::string& id,
                                              const std::string& location) {
  if (!location.empty()) {
    auto it = jobs.find(job_key(project, location, id));
    return it == jobs.end() ? nullptr : it->second;
  }
  for (const auto& [key, job] : jobs) {
    if (job->project == project && job->id == id) return job;
  }
  return nullptr;
}

json Emulator::Impl::job_json(const Job& job) const {
  const std::string loc = job.location;
  json config = job.configuration;
  config["jobType"] = job.type;
  json status{{"state", state_name(job.state)}};
  if (job.state == JobState::done) {
    if (job.error) {
      status["errorResult"] = error_proto(*job.error);
      json errors = json::array({error_proto(*job.error)});
      for (const json& e : job.error->extra_errors) errors.push_back(e);
      status["errors"] = errors;
    } else if (!job.warnings.empty()) {
      status["errors"] = job.warnings;
    }
  }
  json stats{{"creationTime", std::to_string(job.creation_ms)}};
  if (job.state != JobState::pending) stats["startTime"] = std::to_string(job.start_ms);
  if (job.state == JobState::done) {
    stats["endTime"] = std::to_string(job.end_ms);
    stats["totalBytesProcessed"] = "0";
  }
  if (job.type == "QUERY") {
    json q{{"totalBytesProcessed", "0"}, {"cacheHit", false}};
    if (job.plan) q["statementType"] = job.plan->statement_type;
    if (job.state == JobState::done && !job.error && job.result.dml) {
      const auto& r = job.result;
      q["numDmlAffectedRows"] = std::to_string(r.inserted + r.updated + r.deleted);
      q["dmlStats"] = json{{"insertedRowCount", std::to_string(r.inserted)},
                           {"updatedRowCount", std::to_string(r.updated)},
                           {"deletedRowCount", std::to_string(r.deleted)}};
    }
    stats["query"] = q;
  } else if (job.state == JobState::done && !job.error) {
    stats["load"] = json{{"inputFiles", "1"},
                         {"inputFileBytes", std::to_string(job.load.input_bytes)},
                         {"outputRows", std::to_string(job.load.output_rows)},
                         {"outputBytes", "0"},
                         {"badRecords", std::to_string(job.load.bad_records)}};
  }
  const int port = server ? server->port() : 0;
  return json{
      {"kind", "bigquery#job"},
      {"etag",
       "\"" + sha256_hex(job.project + job.id + state_name(job.state)).substr(0, 16) + "\""},
      {"id", job.project + ":" + loc + "." + job.id},
      {"selfLink", "http://127.0.0.1:" + std::to_string(port) + "/bigquery/v2/projects/" +
                       job.project + "/jobs/" + job.id + "?location=" + loc},
      {"user_email", "emulator@rebound.invalid"},
      {"jobReference", {{"projectId", job.project}, {"jobId", job.id}, {"location", loc}}},
      {"configuration", config},
      {"status", status},
      {"statistics", stats}};
}

std::optional<BqError> Emulator::Impl::configure_query(Job& job, std::string& location) {
  job.type = "QUERY";
  const json& q = job.configuration["query"];
  if (!q.contains("useLegacySql") || q.value("useLegacySql", true)) {
    return BqError::invalid_query(
        "Legacy SQL is not supported by the emulator; set useLegacySql to false");
  }
  auto plan = store->plan(q.value("query", ""), job.project, q.value("defaultDataset", json()));
  if (!plan && options.unconfirmed.invalid_sql_fails_insert) return plan.error();
  if (!plan) {
    job.forced_failure = plan.error();  // the job is created and fails (contract §8)
    return std::nullopt;
  }
  job.plan = *plan;
  // No location given: the (first) dataset the query names decides, as in BigQuery.
  const TableRef* first = plan->target           ? &*plan->target
                          : plan->tables.empty() ? nullptr
                                                 : &plan->tables.front();
  if (location.empty() && first) {
    location = store->dataset_location(first->project, first->dataset).value_or("");
  }
  return std::nullopt;
}

std::optional<BqError> Emulator::Impl::configure_load(Job& job, std::string& location,
                                                      std::string load_data) {
  job.type = "LOAD";
  json& load = job.configuration["load"];
  const json dest = load.value("destinationTable", json::object());
  const TableRef table{dest.value("projectId", job.project), dest.value("datasetId", ""),
                       dest.value("tableId", "")};
  if (load_data.empty() && load.contains("sourceUris")) {
    return BqError::invalid(
        "Loads from sourceUris (Cloud Storage) are not supported by the emulator; upload the "
        "data (uploadType=multipart or resumable)");
  }
  const auto ds_location = store->dataset_location(table.project, table.dataset);
  std::optional<BqError> missing;
  if (!ds_location) {
    missing = BqError::not_found("Not found: Dataset " + table.project + ":" + table.dataset);
  } else if (!location.empty() && upper_location(location) != upper_location(*ds_location)) {
    missing = BqError::not_found("Not found: Dataset " + table.project + ":" + table.dataset +
                                 " was not found in location " + location);
  } else if (load.value("createDisposition", "") == "CREATE_NEVER" && !store->table(table)) {
    missing = BqError::not_found("Not found: Table " + table.colon_name());
  }
  if (missing && options.unconfirmed.missing_table_fails_insert) return missing;
  if (missing) job.forced_failure = *missing;
  if (location.empty()) location = ds_location.value_or("");
  job.plan = StatementPlan{.statement_type = "LOAD", .target = table, .mutating_dml = false};
  job.load_data = std::move(load_data);
  return std::nullopt;
}

std::optional<BqError> Emulator::Impl::check_table_limits(const Job& job) {
  if (!job.plan || !job.plan->target || !(job.plan->mutating_dml || job.type == "LOAD")) {
    return std::nullopt;
  }
  const std::string target = job.plan->target->storage_name();
  if (job.plan->mutating_dml && options.max_dml_jobs_per_table > 0) {
    int active = 0;
    for (const auto& [k, other] : jobs) {
      active += other->state != JobState::done && other->plan && other->plan->mutating_dml &&
                other->plan->target && other->plan->target->storage_name() == target;
    }
    if (active >= options.max_dml_jobs_per_table) {
      return BqError::make(403, "quotaExceeded",
                           "Quota exceeded: Your table exceeded quota for total number of dml "
                           "jobs writing to a table, pending + running");
    }
  }
  if (options.table_updates_per_window > 0) {
    auto& window = table_updates[target];
    const std::int64_t t = now();
    while (!window.empty() && window.front() <= t - options.table_update_window.count()) {
      window.pop_front();
    }
    if (static_cast<int>(window.size()) >= options.table_updates_per_window) {
      return BqError::make(
          403, "rateLimitExceeded",
          "Exceeded rate limits: too many table update operations for this table. For more "
          "information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas");
    }
    window.push_back(t);
  }
  return std::nullopt;
}

BqResult<std::shared_ptr<Job>> Emulator::Impl::create_job(const std::string& project, json body,
                                                          std::string load_data,
                                                          const FaultPlan& faults) {
  static const std::regex kJobId("[A-Za-z0-9_-]{1,1024}");
  json ref = body.value("jobReference", json::object());
  const std::string id =
      ref.contains("jobId") ? ref["jobId"].get<std::string>() : random_id("job_");
  if (!std::regex_match(id, kJobId)) {
    return bq_fail(BqError::invalid("Invalid job ID \"" + id.substr(0, 100) +
                                    "\". Job IDs must be alphanumeric (plus underscores and "
                                    "dashes) and must be at most 1024 characters long."));
  }
  auto job = std::make_shared<Job>();
  job->project = ref.value("projectId", project);
  job->id = id;
  job->configuration = body.value("configuration", json::object());
  std::string location = ref.value("location", "");
  std::optional<BqError> refused;
  if (job->configuration.contains("query")) {
    refused = configure_query(*job, location);
  } else if (job->configuration.contains("load")) {
    refused = configure_load(*job, location, std::move(load_data));
  } else {
    refused = BqError::invalid(
        "Job configuration must contain exactly one of query or load (copy and extract jobs are "
        "not supported by the emulator)");
  }
  if (refused) return bq_fail(*refused);
  if (location.empty()) location = "US";
  job->location = location;
  const std::string key = job_key(job->project, location, id);
  if (jobs.contains(key)) {
    return bq_fail(BqError::duplicate("Already Exists: Job " + job->project + ":" +
                                      upper_location(location) + "." + id));
  }
  if (auto limited = check_table_limits(*job)) return bq_fail(*limited);
  job->creation_ms = now();
  job->pending_left = options.pending_polls;
  job->running_left = options.running_polls;
  job->latency_ms = options.job_latency.count();
  apply_job_faults(*job, faults.job_effects);
  jobs[key] = job;
  settle(*job);
  changed.notify_all();
  return job;
}

void Emulator::Impl::settle(Job& job) {
  if (job.state == JobState::pending && job.pending_left <= 0) {
    job.state = JobState::running;
    job.start_ms = now();
    job.start_seq = ++seq;
  }
  if (job.state == JobState::running && job.running_left <= 0 &&
      now() - job.start_ms >= job.latency_ms) {
    finish(job);
  }
}

void Emulator::Impl::observe(Job& job) {
  if (job.state == JobState::pending && job.pending_left > 0) {
    --job.pending_left;
  } else if (job.state == JobState::running && job.running_left > 0) {
    --job.running_left;
  }
  settle(job);
}

void Emulator::Impl::finish(Job& job) {
  job.state = JobState::done;
  job.end_ms = now();
  if (job.cancelled) {
    job.error =
        BqError::make(200, "stopped", "Job execution was cancelled: User requested cancellation");
  } else if (job.forced_failure) {
    job.error = job.forced_failure;
  } else {
    job.error = run_effects(job);
  }
  job.end_seq = ++seq;
  job.committed = !job.error;
  if (!job.error) {
    for (const json& w : job.forced_warnings) job.warnings.push_back(w);
  }
  changed.notify_all();
}

std::optional<BqError> Emulator::Impl::run_effects(Job& job) {
  const StatementPlan& plan = *job.plan;
  if (job.type == "LOAD") {
    store->begin();
    auto r = store->load(LoadRequest{.table = *plan.target,
                                     .config = job.configuration["load"],
                                     .data = job.load_data,
                                     .error_location = options.unconfirmed.upload_error_location});
    if (!r) {
      store->rollback();
      return r.error();
    }
    store->commit();
    job.load = *r;
    job.warnings = r->warnings;
    return std::nullopt;
  }
  const json& q = job.configuration["query"];
  if (plan.target && plan.mutating_dml) {
    const std::string target = plan.target->storage_name();
    if (options.dml_conflicts) {
      for (const auto& [key, other] : jobs) {
        if (other.get() == &job || !other->committed || !other->plan ||
            !other->plan->mutating_dml || !other->plan->target ||
            other->plan->target->storage_name() != target) {
          continue;
        }
        if (other->end_seq > job.start_seq) {
          return BqError::make(400, options.unconfirmed.serialize_reason,
                               "Could not serialize access to table " + plan.target->colon_name() +
                                   " due to concurrent update");
        }
      }
    }
    const std::string& type = plan.statement_type;
    if (type != "INSERT" && buffered_rows(target) > 0) {
      const std::string what =
          type == "TRUNCATE_TABLE" ? "TRUNCATE DML statement" : "UPDATE or DELETE statement";
      return BqError::make(
          400, options.unconfirmed.streaming_buffer_reason,
          what + " over table " + plan.target->dotted_name() +
              " would affect rows in the streaming buffer, which is not supported");
    }
  }
  // Every dataset the query names must live in the job's location.
  std::vector<TableRef> named = plan.tables;
  if (plan.target) named.push_back(*plan.target);
  for (const TableRef& ref : named) {
    auto loc = store->dataset_location(ref.project, ref.dataset);
    if (loc && upper_location(*loc) != upper_location(job.location)) {
      return BqError::not_found("Not found: Dataset " + ref.project + ":" + ref.dataset +
                                " was not found in location " + job.location);
    }
  }
  auto params = parse_params(q);
  if (!params) return params.error();
  store->begin();
  auto r =
      store->execute(q.value("query", ""), job.project, q.value("defaultDataset", json()), *params);
  if (!r) {
    store->rollback();
    return r.error();
  }
  store->commit();
  job.result = std::move(*r);
  if (job.plan) job.plan->statement_type = job.result.statement_type;
  return std::nullopt;
}

void Emulator::Impl::drive(std::unique_lock<std::mutex>& lock, Job& job,
                           std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (job.state != JobState::done) {
    if (job.incomplete_left > 0) {
      --job.incomplete_left;
      return;
    }
    observe(job);
    if (job.state == JobState::done) return;
    if (job.pending_left > 0 || job.running_left > 0) continue;
    // Waiting for virtual time: only a running clock gets there by itself.
    if (frozen_ms || stopping) return;
    const auto now_steady = std::chrono::steady_clock::now();
    if (now_steady >= deadline) return;
    const auto remaining =
        std::chrono::milliseconds(std::max<std::int64_t>(1, job.start_ms + job.latency_ms - now()));
    changed.wait_until(lock, std::min(deadline, now_steady + remaining));
  }
}

Reply Emulator::Impl::query_response(const Job& job, std::size_t start,
                                     std::optional<std::size_t> max_results,
                                     bool int64_timestamps) const {
  const json ref{{"projectId", job.project}, {"jobId", job.id}, {"location", job.location}};
  if (job.state != JobState::done) {
    return json_reply(
        200,
        json{{"kind", "bigquery#queryResponse"}, {"jobReference", ref}, {"jobComplete", false}});
  }
  if (job.error) {
    BqError e = *job.error;
    e.status = failed_job_status(e.reason);
    return error_reply(e);
  }
  const QueryOutcome& r = job.result;
  const std::size_t total = r.rows.size();
  const std::size_t count = std::min(total - std::min(start, total), max_results.value_or(100000));
  json out{
      {"kind", "bigquery#queryResponse"},   {"jobReference", ref},        {"jobComplete", true},
      {"totalRows", std::to_string(total)}, {"totalBytesProcessed", "0"}, {"cacheHit", false}};
  if (!r.dml) {
    out["schema"] = json{{"fields", r.fields}};
    if (count > 0)
      out["rows"] = encode_rows(r.fields, r.rows, start, start + count, int64_timestamps);
    if (count > 0 && start + count < total) out["pageToken"] = std::to_string(start + count);
  } else {
    out["numDmlAffectedRows"] = std::to_string(r.inserted + r.updated + r.deleted);
    out["dmlStats"] = json{{"insertedRowCount", std::to_string(r.inserted)},
                           {"updatedRowCount", std::to_string(r.updated)},
                           {"deletedRowCount", std::to_string(r.deleted)}};
  }
  if (!job.warnings.empty()) out["errors"] = job.warnings;
  return json_reply(200, out);
}

Reply Emulator::Impl::query_route(const std::string& project, const std::string& raw_body,
                                  FaultPlan& faults, std::unique_lock<std::mutex>& lock) {
  json body = json::parse(raw_body.empty() ? "{}" : raw_body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return error_reply(BqError::make(400, "parseError", "Invalid JSON payload received."));
  }
  if (!body.contains("useLegacySql") || body.value("useLegacySql", true)) {
    return error_reply(BqError::invalid_query(
        "Legacy SQL is not supported by the emulator; set useLegacySql to false"));
  }
  const std::string request_id = body.value("requestId", "");
  std::string dedup_key;
  std::shared_ptr<Job> job;
  if (!request_id.empty()) {
    const bool ascii =
        std::all_of(request_id.begin(), request_id.end(), [](char c) { return c > 32 && c < 127; });
    if (request_id.size() > 36 || !ascii) {
      return error_reply(BqError::invalid("Invalid requestId \"" + request_id.substr(0, 40) +
                                          "\": at most 36 ASCII characters"));
    }
    dedup_key = project + "\n" + request_id + "\n" +
                sha256_hex(body.value("query", "") + "\n" +
                           body.value("queryParameters", json::array()).dump() + "\n" +
                           body.value("connectionProperties", json::array()).dump());
    if (auto it = request_ids.find(dedup_key);
        it != request_ids.end() && it->second.second > now()) {
      if (auto j = jobs.find(it->second.first); j != jobs.end()) job = j->second;
    }
  }
  if (!job) {
    json query{{"query", body.value("query", "")}, {"useLegacySql", false}};
    for (const char* key :
         {"parameterMode", "queryParameters", "defaultDataset", "maximumBytesBilled", "labels"}) {
      if (body.contains(key)) query[key] = body[key];
    }
    json ref{{"projectId", project}, {"jobId", random_id("job_")}};
    if (body.contains("location")) ref["location"] = body["location"];
    auto created = create_job(
        project, json{{"jobReference", ref}, {"configuration", {{"query", query}}}}, "", faults);
    if (!created) return error_reply(created.error());
    job = *created;
    if (!dedup_key.empty()) {
      request_ids[dedup_key] = {job_key(job->project, job->location, job->id),
                                now() + options.request_id_ttl.count()};
    }
  }
  const auto timeout =
      std::chrono::milliseconds(to_int(body.value("timeoutMs", json(10000))).value_or(10000));
  drive(lock, *job, timeout);
  std::optional<std::size_t> max;
  if (auto m = body.contains("maxResults") ? to_int(body["maxResults"]) : std::nullopt)
    max = static_cast<std::size_t>(*m);
  const bool int64_ts =
      body.value("formatOptions", json::object()).value("useInt64Timestamp", false);
  return query_response(*job, 0, max, int64_ts);
}

Reply Emulator::Impl::query_results(Job& job, const std::map<std::string, std::string>& query,
                                    std::unique_lock<std::mutex>& lock) {
  if (job.type != "QUERY") {
    return error_reply(BqError::invalid("Job " + job.project + ":" + job.location + "." + job.id +
                                        " is not a query job"));
  }
  auto get = [&](const std::string& key) -> std::optional<std::int64_t> {
    auto it = query.find(key);
    return it == query.end() ? std::nullopt : to_int(json(it->second));
  };
  drive(lock, job, std::chrono::milliseconds(get("timeoutMs").value_or(10000)));
  std::size_t start =
      static_cast<std::size_t>(std::max<std::int64_t>(0, get("startIndex").value_or(0)));
  if (auto token = get("pageToken"))
    start = static_cast<std::size_t>(std::max<std::int64_t>(0, *token));
  std::optional<std::size_t> max;
  if (auto m = get("maxResults")) max = static_cast<std::size_t>(std::max<std::int64_t>(0, *m));
  const bool int64_ts = query.contains("formatOptions.useInt64Timestamp") &&
                        query.at("formatOptions.useInt64Timestamp") == "true";
  return query_response(job, start, max, int64_ts);
}

Reply Emulator::Impl::jobs_route(const std::string& method, const std::string& project,
                                 const std::vector<std::string>& seg,
                                 const std::map<std::string, std::string>& query,
                                 const std::string& body, FaultPlan& faults,
                                 std::unique_lock<std::mutex>& lock) {
  (void)lock;
  const std::string location = query.contains("location") ? query.at("location") : "";
  if (seg.size() == 3 && method == "POST") {
    json parsed = json::parse(body.empty() ? "{}" : body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return error_reply(BqError::make(400, "parseError", "Invalid JSON payload received."));
    }
    auto job = create_job(project, parsed, "", faults);
    return job ? json_reply(200, job_json(**job)) : error_reply(job.error());
  }
  if (seg.size() == 3 && method == "GET") {
    json list = json::array();
    for (const auto& [key, job] : jobs) {
      if (job->project == project) list.push_back(job_json(*job));
    }
    return json_reply(200, json{{"kind", "bigquery#jobList"}, {"jobs", list}});
  }
  if (seg.size() < 4) return error_reply(BqError::not_found("Not found: URL"));
  auto job = find_job(project, seg[3], location);
  if (!job || (seg.size() == 4 && method == "GET" && job->not_found_left > 0)) {
    if (job) --job->not_found_left;
    const std::string loc = location.empty() ? "US" : upper_location(location);
    return error_reply(BqError::not_found(
        "Not found: Job " + project + ":" +
        (options.unconfirmed.not_found_job_with_location ? loc + "." : "") + seg[3]));
  }
  if (seg.size() == 4 && method == "GET") {
    observe(*job);
    return json_reply(200, job_json(*job));
  }
  if (seg.size() == 5 && seg[4] == "cancel" && method == "POST") {
    if (job->state != JobState::done) {
      job->cancelled = true;
      if (job->state == JobState::pending) {
        job->start_ms = now();
        job->start_seq = ++seq;
      }
      finish(*job);
    }
    return json_reply(200, json{{"kind", "bigquery#jobCancelResponse"}, {"job", job_json(*job)}});
  }
  if (seg.size() == 5 && seg[4] == "delete" && method == "DELETE") {
    jobs.erase(job_key(job->project, job->location, job->id));
    Reply r;
    r.status = 204;
    return r;
  }
  return error_reply(BqError::not_found("Not found: URL " + method));
}

}  // namespace rebound::emulator::bigquery
