// BigQuery error bodies -> classified Errors. See api_error.hpp.
#include "rebound/warehouse/bigquery/api_error.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "rebound/retry/classify.hpp"

namespace rebound::bigquery {
namespace {

std::string printable_prefix(std::string_view body, std::size_t limit = 200) {
  std::string out;
  for (char c : body.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  if (body.size() > limit) out += "…";
  return out;
}

std::string string_field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string{};
}

}  // namespace

ApiError parse_error_body(int status, std::string_view body) {
  ApiError out{.status = status, .reason = {}, .message = {}};
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto err = j.find("error");
    if (err != j.end() && err->is_object()) {
      out.message = string_field(*err, "message");
      auto errors = err->find("errors");
      if (errors != err->end() && errors->is_array() && !errors->empty() &&
          (*errors)[0].is_object()) {
        out.reason = string_field((*errors)[0], "reason");
        if (out.message.empty()) out.message = string_field((*errors)[0], "message");
      }
      if (out.message.empty()) out.message = string_field(*err, "status");
      return out;
    }
    if (err != j.end() && err->is_string()) {  // OAuth: {"error":"invalid_grant",…}
      out.reason = err->get<std::string>();
      out.message = string_field(j, "error_description");
      return out;
    }
  }
  out.message = body.empty() ? "(empty body)" : printable_prefix(body);
  return out;
}

Error classify(const ApiError& error, std::string_view operation) {
  std::string message = std::string(operation) + ": HTTP " + std::to_string(error.status);
  if (!error.reason.empty()) message += " " + error.reason;
  message += ": " + error.message;
  Error e = error.reason.empty()
                ? classify::http(error.status, std::move(message))
                : classify::bigquery(error.status, error.reason, std::move(message));
  if (error.reason.empty() && error.status == 429) e.error_class = ErrorClass::rate_limited;
  e.source = "bigquery";
  if (e.code.empty() || !error.reason.empty()) {
    e.code = error.reason.empty() ? std::to_string(error.status) : error.reason;
  }
  return e;
}

Error error_from_response(int status, std::string_view body, std::string_view operation) {
  return classify(parse_error_body(status, body), operation);
}

Error job_error(const nlohmann::json& error_result, std::string_view job_id) {
  const std::string reason = error_result.is_object() ? string_field(error_result, "reason") : "";
  const std::string text = error_result.is_object() ? string_field(error_result, "message") : "";
  // A job's reason carries no status; 400 is what jobs.query would have said.
  Error e = classify::bigquery(400, reason,
                               "job " + std::string(job_id) + " failed: " + reason + ": " + text);
  e.source = "bigquery";
  e.code = reason;
  return e;
}

bool is_job_retry_reason(std::string_view reason) noexcept {
  static constexpr std::array<std::string_view, 6> kReasons = {
      "jobBackendError", "jobInternalError", "jobRateLimitExceeded",
      "backendError",    "internalError",    "rateLimitExceeded"};
  for (std::string_view r : kReasons) {
    if (r == reason) return true;
  }
  return false;
}

}  // namespace rebound::bigquery
