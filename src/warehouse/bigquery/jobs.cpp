// BigQuery jobs: deterministic ids, 409 adoption, polling, confirmed re-runs.
// See jobs.hpp.
#include "rebound/warehouse/bigquery/jobs.hpp"

#include <cstdio>

#include "rebound/core/random.hpp"
#include "rebound/retry/backoff.hpp"
#include "rebound/warehouse/bigquery/api_error.hpp"

namespace rebound::bigquery {
namespace {

// FNV-1a 64: a label value that ties a job id to the configuration it ran.
std::string config_hash(const nlohmann::json& configuration) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : configuration.dump()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string label_value(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 63)) {
    const auto u = static_cast<unsigned char>(c);
    out += (std::isalnum(u) || c == '_' || c == '-') ? static_cast<char>(std::tolower(u)) : '_';
  }
  return out;
}

}  // namespace

std::string random_uuid() {
  thread_local Rng rng = Rng::from_entropy();
  const std::uint64_t a = rng(), b = rng();
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string make_job_id(std::string_view op, std::string_view uuid, int attempt) {
  std::string id;
  for (char c : op) {
    const auto u = static_cast<unsigned char>(c);
    id += (std::isalnum(u) || c == '_' || c == '-') ? c : '_';
  }
  id += "_";
  id += uuid;
  id += "_a" + std::to_string(attempt);
  return id;
}

const nlohmann::json& member(const nlohmann::json& j, std::string_view name) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(name);
  return it == j.end() ? kNull : *it;
}

std::string job_state(const nlohmann::json& job) {
  if (!job.is_object()) return {};
  auto status = job.find("status");
  if (status == job.end() || !status->is_object()) return {};
  auto state = status->find("state");
  return (state != status->end() && state->is_string()) ? state->get<std::string>() : "";
}

std::int64_t int64_field(const nlohmann::json& j, std::string_view name) {
  if (!j.is_object()) return 0;
  auto it = j.find(name);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) return std::strtoll(it->get<std::string>().c_str(), nullptr, 10);
  return 0;
}

Jobs::Jobs(std::shared_ptr<RestClient> rest, JobOptions options, IdSource ids)
    : rest_(std::move(rest)), options_(options), ids_(std::move(ids)) {}

Result<http::Response> Jobs::insert(const nlohmann::json& job) {
  const std::string id = job["jobReference"]["jobId"].get<std::string>();
  return rest_->send({.method = "POST",
                      .url = rest_->api("/jobs"),
                      .body = job.dump(),
                      .content_type = "application/json",
                      .headers = {},
                      .accept = {409},
                      .operation = "jobs.insert " + id,
                      .timeout = std::nullopt});
}

Result<nlohmann::json> Jobs::get(const std::string& job_id, bool tolerate_404) {
  const TimePoint until = rest_->clock().now() + options_.visibility_window;
  Backoff backoff{
      FullJitter{
          .initial = options_.poll_initial, .maximum = options_.poll_maximum, .multiplier = 2.0},
      Rng{std::hash<std::string>{}(job_id)}};
  for (;;) {
    counters_.polls.fetch_add(1, std::memory_order_relaxed);
    auto r =
        rest_->send({.method = "GET",
                     .url = rest_->api("/jobs/" + job_id + "?location=" + rest_->config().location),
                     .body = {},
                     .content_type = {},
                     .headers = {},
                     .accept = {404},
                     .operation = "jobs.get " + job_id,
                     .timeout = std::nullopt});
    if (!r) return fail(std::move(r.error()));
    if (r->status == 200) {
      auto j = nlohmann::json::parse(r->body, nullptr, false);
      if (j.is_object()) return j;
      return fail(
          Error::transient("jobs.get " + job_id + ": HTTP 200 with a body that is not JSON"));
    }
    // 404: late visibility (after an insert or a 409) is waited out; otherwise final.
    Error e = error_from_response(r->status, r->body, "jobs.get " + job_id);
    if (!tolerate_404 || rest_->clock().now() >= until) return fail(std::move(e));
    rest_->sleeper().sleep_for(backoff.next());
  }
}

Status Jobs::cancel(const std::string& job_id) {
  counters_.cancelled.fetch_add(1, std::memory_order_relaxed);
  auto r = rest_->send(
      {.method = "POST",
       .url = rest_->api("/jobs/" + job_id + "/cancel?location=" + rest_->config().location),
       .body = {},
       .content_type = "application/json",
       .headers = {},
       .accept = {404},
       .operation = "jobs.cancel " + job_id,
       .timeout = std::nullopt});
  if (!r) return fail(std::move(r.error()));
  return {};
}

Result<nlohmann::json> Jobs::adopt(const std::string& job_id, const nlohmann::json& labels) {
  counters_.adopted.fetch_add(1, std::memory_order_relaxed);
  auto job = get(job_id, /*tolerate_404=*/true);
  if (!job) {
    Error e = std::move(job.error());
    // The 409 said the id exists; if it never shows up, the unit may re-run.
    if (e.error_class == ErrorClass::permanent) e.error_class = ErrorClass::transient;
    e.message = "409 for our own job " + job_id + " but jobs.get never found it: " + e.message;
    return fail(std::move(e));
  }
  const nlohmann::json& found = member(member(*job, "configuration"), "labels");
  if (found.contains("rebound_config") && found["rebound_config"] != labels["rebound_config"]) {
    return fail(Error::permanent("job id " + job_id +
                                 " already exists with another configuration; refusing to adopt"));
  }
  return job;
}

Result<nlohmann::json> Jobs::wait(const std::string& job_id, nlohmann::json state,
                                  TimePoint deadline) {
  Backoff backoff{Exponential{.initial = options_.poll_initial,
                              .maximum = options_.poll_maximum,
                              .multiplier = options_.poll_multiplier},
                  Rng{1}};
  bool confirmed = false;  // `state` came from jobs.get
  for (;;) {
    if (job_state(state) == "DONE" &&
        (confirmed || !member(member(state, "status"), "errorResult").is_object())) {
      return state;
    }
    if (rest_->clock().now() >= deadline) {
      (void)cancel(job_id);
      return fail(Error::transient(
          "job " + job_id + " did not finish before its deadline (" +
          std::to_string(
              std::chrono::duration_cast<std::chrono::seconds>(options_.timeout).count()) +
          " s); jobs.cancel was sent"));
    }
    if (confirmed) rest_->sleeper().sleep_for(backoff.next());
    auto next = get(job_id, /*tolerate_404=*/true);
    if (!next) return fail(std::move(next.error()));
    state = std::move(*next);
    confirmed = true;
  }
}

Result<nlohmann::json> Jobs::run(std::string_view op, const nlohmann::json& configuration,
                                 const Submit& submit) {
  const std::string uuid = ids_();
  nlohmann::json config = configuration;
  config["labels"]["rebound_op"] = label_value(op);
  config["labels"]["rebound_config"] = config_hash(configuration);
  const TimePoint deadline = rest_->clock().now() + options_.timeout;
  Backoff pause{
      FullJitter{
          .initial = options_.rerun_initial, .maximum = options_.rerun_maximum, .multiplier = 2.0},
      Rng{std::hash<std::string>{}(uuid)}};
  for (int attempt = 1;; ++attempt) {
    const std::string id = make_job_id(op, uuid, attempt);
    const nlohmann::json job = {{"jobReference",
                                 {{"projectId", rest_->config().project},
                                  {"jobId", id},
                                  {"location", rest_->config().location}}},
                                {"configuration", config}};
    counters_.submitted.fetch_add(1, std::memory_order_relaxed);
    auto response = submit ? submit(job) : insert(job);
    if (!response) return fail(std::move(response.error()));
    nlohmann::json state;
    if (response->status == 409) {
      auto adopted = adopt(id, config["labels"]);
      if (!adopted) return fail(std::move(adopted.error()));
      state = std::move(*adopted);
    } else {
      state = nlohmann::json::parse(response->body, nullptr, false);
      if (!state.is_object()) state = nlohmann::json::object();
    }
    auto done = wait(id, std::move(state), deadline);
    if (!done) return fail(std::move(done.error()));
    const nlohmann::json& error_result = member(member(*done, "status"), "errorResult");
    if (!error_result.is_object()) return done;
    const std::string reason = member(error_result, "reason").is_string()
                                   ? error_result["reason"].get<std::string>()
                                   : std::string{};
    Error error = job_error(error_result, id);
    if (!is_job_retry_reason(reason) || attempt >= options_.max_attempts ||
        rest_->clock().now() >= deadline) {
      return fail(std::move(error));
    }
    counters_.reruns.fetch_add(1, std::memory_order_relaxed);
    rest_->sleeper().sleep_for(pause.next());
  }
}

}  // namespace rebound::bigquery
