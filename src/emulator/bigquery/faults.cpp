// Fault rules (contract §6.6): parsing {"faults":[…]} and matching each
// request against the armed rules, in order. A rule matches on method, a
// path regex and an optional body substring, then fires from its nth
// matching call, `times` times (0: forever), with a seeded probability.
#include "impl.hpp"

namespace rebound::emulator::bigquery {

using namespace detail;

namespace {

const std::set<std::string, std::less<>> kKinds = {"error",
                                                   "duplicate",
                                                   "failJob",
                                                   "warnings",
                                                   "slowJob",
                                                   "lateVisibility",
                                                   "acceptThenDrop",
                                                   "dropBeforeProcessing",
                                                   "delay",
                                                   "truncate",
                                                   "invalidJson",
                                                   "shortRange",
                                                   "noRange",
                                                   "expireUpload",
                                                   "oauthError",
                                                   "tokenExpiresIn",
                                                   "omitMetadataFlavor"};

// Kinds applied to the job (or upload session, or token reply) the request
// creates, rather than to the HTTP exchange.
const std::set<std::string, std::less<>> kEffects = {
    "failJob", "warnings",     "slowJob",        "lateVisibility",    "shortRange",
    "noRange", "expireUpload", "tokenExpiresIn", "omitMetadataFlavor"};

std::string default_message(const std::string& reason) {
  static const std::map<std::string, std::string, std::less<>> kMessages = {
      {"backendError", "Backend error. Job aborted."},
      {"internalError", "An internal error occurred and the request could not be completed."},
      {"badGateway", "Bad gateway"},
      {"rateLimitExceeded",
       "Exceeded rate limits: too many table update operations for this table. For more "
       "information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas"},
      {"quotaExceeded",
       "Quota exceeded: Your table exceeded quota for total number of dml jobs writing to a "
       "table, pending + running"},
      {"responseTooLarge",
       "Response too large to return. Consider specifying a destination table."},
      {"accessDenied", "Access Denied: the emulator was told to deny this request"},
      {"notFound", "Not found: the emulator was told to answer 404"},
      {"invalidQuery", "Syntax error: the emulator was told to reject this query"},
      {"invalid", "Invalid request (injected by the emulator)"},
      {"unauthorized", "Request had invalid authentication credentials."},
      {"jobBackendError",
       "The job encountered an error during execution. Retrying the job may solve the problem."},
      {"jobInternalError",
       "The job encountered an internal error during execution and was unable to complete "
       "successfully."},
      {"jobRateLimitExceeded",
       "Job exceeded rate limits: Your project_and_region exceeded quota for concurrent queries. "
       "For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas"},
      {"stopped", "Job execution was cancelled: Job timed out"},
      {"duplicate", "Already Exists: the emulator was told to answer duplicate"}};
  auto it = kMessages.find(reason);
  return it == kMessages.end() ? "Injected error " + reason : it->second;
}

std::optional<std::string> body_field(const std::string& body, const std::string& name) {
  const std::regex re("\"" + name + "\"\\s*:\\s*\"([^\"]*)\"");
  std::smatch m;
  if (!std::regex_search(body, m, re)) return std::nullopt;
  return m[1].str();
}

}  // namespace

BqResult<std::vector<FaultRule>> Emulator::Impl::parse_faults(const std::string& text) const {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return bq_fail(BqError::invalid("fault rules are not valid JSON"));
  const json list = doc.is_array() ? doc : doc.value("faults", json());
  if (!list.is_array()) return bq_fail(BqError::invalid("fault rules need {\"faults\": [ … ]}"));
  std::vector<FaultRule> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& r = list[i];
    const std::string where = "fault rule " + std::to_string(i) + ": ";
    if (!r.is_object()) return bq_fail(BqError::invalid(where + "must be an object"));
    FaultRule rule;
    rule.method = r.value("method", "");
    rule.path_text = r.value("path", "");
    try {
      rule.path = std::regex(rule.path_text);
    } catch (const std::regex_error& e) {
      return bq_fail(
          BqError::invalid(where + "bad path regex \"" + rule.path_text + "\": " + e.what()));
    }
    rule.body_contains = r.value("bodyContains", "");
    rule.nth = static_cast<int>(to_int(r.value("nth", json(1))).value_or(-1));
    rule.times = static_cast<int>(to_int(r.value("times", json(1))).value_or(-1));
    rule.probability = r.value("probability", 1.0);
    if (rule.nth < 1) return bq_fail(BqError::invalid(where + "nth must be >= 1"));
    if (rule.times < 0) return bq_fail(BqError::invalid(where + "times must be >= 0 (0: forever)"));
    if (rule.probability < 0 || rule.probability > 1) {
      return bq_fail(BqError::invalid(where + "probability must be within [0, 1]"));
    }
    rule.action = r.value("action", json::object());
    const std::string kind = rule.action.value("kind", "");
    if (!kKinds.contains(kind)) {
      return bq_fail(BqError::invalid(where + "unknown action kind \"" + kind + "\""));
    }
    if (kind == "error" && !rule.action.contains("status")) {
      return bq_fail(BqError::invalid(where + "an error action needs a status"));
    }
    out.push_back(std::move(rule));
  }
  return out;
}

namespace {

Reply variant_reply(int status, const std::string& variant, std::string json_body) {
  Reply r;
  r.status = status;
  if (variant == "html") {
    r.headers = {{"Content-Type", "text/html; charset=UTF-8"}};
    r.body = "<html><head><title>Error " + std::to_string(status) +
             "</title></head><body><h1>Error " + std::to_string(status) + "</h1></body></html>";
  } else if (variant == "empty") {
    r.body.clear();
  } else {
    r.headers = {{"Content-Type", "application/json; charset=UTF-8"}};
    r.body = std::move(json_body);
  }
  return r;
}

}  // namespace

FaultPlan Emulator::Impl::match_faults(const ServerRequest& request) {
  FaultPlan plan;
  for (FaultRule& rule : fault_rules) {
    if (!rule.method.empty() && rule.method != request.method) continue;
    if (!rule.path_text.empty() && !std::regex_search(request.path, rule.path)) continue;
    if (!rule.body_contains.empty() && request.body.find(rule.body_contains) == std::string::npos)
      continue;
    ++rule.seen;
    if (rule.seen < rule.nth || (rule.times > 0 && rule.fired >= rule.times)) continue;
    if (rule.probability < 1.0 &&
        std::uniform_real_distribution<double>(0, 1)(rng) >= rule.probability)
      continue;
    ++rule.fired;
    const json& a = rule.action;
    const std::string kind = a.value("kind", "");
    plan.names += (plan.names.empty() ? "" : ",") + kind;
    if (kEffects.contains(kind)) {
      plan.job_effects.push_back(a);
      continue;
    }
    if (plan.immediate) continue;  // the first immediate answer wins
    if (kind == "error") {
      const int status = static_cast<int>(to_int(a["status"]).value_or(500));
      const std::string reason = a.value("reason", "");
      const std::string message =
          a.value("message", default_message(reason.empty() ? "error" : reason));
      std::string body;
      if (reason.empty()) {
        body = json{{"error",
                     {{"code", status}, {"message", message}, {"status", rpc_status_for(status)}}}}
                   .dump();
      } else {
        body = error_body(BqError::make(status, reason, message),
                          options.unconfirmed.error_status_field);
      }
      plan.immediate = variant_reply(status, a.value("body", "json"), body);
    } else if (kind == "oauthError") {
      const int status = static_cast<int>(to_int(a.value("status", json(400))).value_or(400));
      plan.immediate =
          variant_reply(status, "json",
                        json{{"error", a.value("error", "invalid_grant")},
                             {"error_description", a.value("description", "Injected OAuth error")}}
                            .dump());
    } else if (kind == "duplicate") {
      const std::size_t p0 = request.path.find("/projects/");
      std::string project = options.project;
      if (p0 != std::string::npos) {
        const auto rest = request.path.substr(p0 + 10);
        project = rest.substr(0, rest.find('/'));
      }
      std::string message;
      if (request.path.find("/tables") != std::string::npos) {
        const std::string ds = request.path.substr(request.path.find("/datasets/") + 10);
        message = "Already Exists: Table " + project + ":" + ds.substr(0, ds.find('/')) + "." +
                  body_field(request.body, "tableId").value_or("table");
      } else {
        const std::string id = body_field(request.body, "jobId").value_or("job");
        const std::string location = body_field(request.body, "location").value_or("US");
        message = "Already Exists: Job " + project + ":" + upper_location(location) + "." + id;
        const int not_found = static_cast<int>(to_int(a.value("getNotFound", json(0))).value_or(0));
        if (auto job = find_job(project, id, location); job && not_found > 0)
          job->not_found_left = not_found;
      }
      plan.immediate = error_reply(BqError::duplicate(message));
    } else if (kind == "dropBeforeProcessing") {
      Reply r;
      r.fault = a.value("reset", false) ? Fault::reset : Fault::drop;
      plan.immediate = r;
    } else if (kind == "acceptThenDrop") {
      plan.after = a.value("reset", false) ? Fault::reset : Fault::drop;
    } else if (kind == "truncate") {
      plan.after = Fault::reset_mid_body;
    } else if (kind == "delay") {
      plan.delay = std::chrono::milliseconds(to_int(a.value("ms", json(30000))).value_or(30000));
    } else if (kind == "invalidJson") {
      plan.invalid_json = true;
    }
  }
  return plan;
}

void Emulator::Impl::apply_job_faults(Job& job, const json& effects) {
  const std::string target =
      job.plan && job.plan->target ? job.plan->target->colon_name() : "unknown";
  const std::string dotted =
      job.plan && job.plan->target ? job.plan->target->dotted_name() : "unknown";
  for (const json& a : effects) {
    const std::string kind = a.value("kind", "");
    if (kind == "failJob") {
      const std::string preset = a.value("preset", "");
      BqError e;
      if (preset == "serialize") {
        e = BqError::make(
            400, options.unconfirmed.serialize_reason,
            "Could not serialize access to table " + target + " due to concurrent update");
      } else if (preset == "streamingBuffer") {
        e = BqError::make(400, options.unconfirmed.streaming_buffer_reason,
                          "UPDATE or DELETE statement over table " + dotted +
                              " would affect rows in the streaming buffer, which is not supported");
      } else if (preset == "mergeDuplicate") {
        e = BqError::make(400, options.unconfirmed.merge_duplicate_reason,
                          "UPDATE/MERGE must match at most one source row for each target row");
      } else if (preset == "invalidLoad") {
        e = BqError::invalid(
            "Error while reading data, error message: JSON table encountered too many errors, "
            "giving up. Rows: 2; errors: 1. Please look into the errors[] collection for more "
            "details.");
        e.location = options.unconfirmed.upload_error_location;
        e.extra_errors =
            json::array({json{{"reason", "invalid"},
                              {"message",
                               "Error while reading data, error message: JSON processing "
                               "encountered too many errors, giving up. Rows: 2; errors: 1; max "
                               "bad: 0; error percent: 0"}},
                         json{{"reason", "invalid"},
                              {"message",
                               "Error while reading data, error message: JSON parsing error in "
                               "row starting at position 43: Could not convert value to string. "
                               "Field: name; Value: 3"}}});
      } else {
        const std::string reason = a.value("reason", "backendError");
        e = BqError::make(400, reason, a.value("message", default_message(reason)));
      }
      job.forced_failure = e;
    } else if (kind == "warnings") {
      json errors = a.value("errors", json::array());
      if (errors.empty())
        errors.push_back(json{{"reason", "invalid"}, {"message", "Injected warning"}});
      job.forced_warnings = errors;
    } else if (kind == "slowJob") {
      job.pending_left =
          static_cast<int>(to_int(a.value("pendingPolls", json(job.pending_left))).value_or(0));
      job.running_left =
          static_cast<int>(to_int(a.value("runningPolls", json(job.running_left))).value_or(0));
      job.incomplete_left =
          static_cast<int>(to_int(a.value("incompleteResponses", json(0))).value_or(0));
    } else if (kind == "lateVisibility") {
      job.not_found_left = static_cast<int>(to_int(a.value("polls", json(1))).value_or(1));
    }
  }
}

}  // namespace rebound::emulator::bigquery
