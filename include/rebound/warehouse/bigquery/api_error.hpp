// api_error — BigQuery's error bodies, read and classified in one place.
//
//   auto e = rebound::bigquery::error_from_response(403, body, "jobs.insert merge_x_a1");
//   e.code;         // "rateLimitExceeded" (errors[0].reason)
//   e.error_class;  // ErrorClass::rate_limited
//
// Order (contract §4.5): errors[0].reason decides, then the HTTP status when
// there is no reason. Two texts come first because BigQuery sends them under
// generic reasons (invalidQuery / badRequest): "Could not serialize access …
// due to concurrent update" (serialization_conflict — Google's own
// predicates miss it) and the streaming-buffer error (non_retriable, with
// BigQuery's message). The mapping itself is rebound::classify::bigquery.
//
// A finished job's errorResult goes through job_error(); is_job_retry_reason()
// says whether a job that failed that way may be re-run with a new job id.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "rebound/core/error.hpp"

namespace rebound::bigquery {

struct ApiError {
  int status = 0;
  std::string reason;   // errors[0].reason, or the OAuth "error" code; empty when none
  std::string message;  // error.message, error_description, or the start of a non-JSON body
};

// Reads {"error":{"code","message","errors":[{"reason"}],"status"}}, the OAuth
// shape {"error":"invalid_grant","error_description":…}, or any other body
// (its first 200 bytes, control characters dropped, as the message).
[[nodiscard]] ApiError parse_error_body(int status, std::string_view body);

// The classified Error for a failed call: source "bigquery", code = reason (or
// the status when there is none); the message names the operation, status
// and reason: "jobs.insert merge_x_a1: HTTP 403 rateLimitExceeded: Exceeded rate limits…".
[[nodiscard]] Error classify(const ApiError& error, std::string_view operation);
[[nodiscard]] Error error_from_response(int status, std::string_view body,
                                        std::string_view operation);

// The Error for a job that ended DONE with `error_result` (an ErrorProto).
[[nodiscard]] Error job_error(const nlohmann::json& error_result, std::string_view job_id);

// jobBackendError, jobInternalError, jobRateLimitExceeded, backendError,
// internalError, rateLimitExceeded: the job failed without effect and "retrying
// the job may solve the problem" — with a new job id.
[[nodiscard]] bool is_job_retry_reason(std::string_view reason) noexcept;

}  // namespace rebound::bigquery
