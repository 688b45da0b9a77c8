// Authenticated, retried BigQuery REST calls. See rest_client.hpp.
#include "rebound/warehouse/bigquery/rest_client.hpp"

#include <algorithm>

#include "rebound/retry/retry_loop.hpp"
#include "rebound/warehouse/bigquery/api_error.hpp"

namespace rebound::bigquery {

RetryPolicy request_retry_policy(double scale) {
  return policies::scaled(
      RetryPolicy{.rules = {ClassRule{.classes = {ErrorClass::transient, ErrorClass::rate_limited},
                                      .initial = std::chrono::seconds{1},
                                      .maximum = std::chrono::seconds{60},
                                      .multiplier = 2.0,
                                      .backoff = BackoffKind::full_jitter,
                                      .max_attempts = 10}},
                  .deadline = std::chrono::seconds{600},
                  .max_attempts = 0,
                  .attempt_timeout = std::nullopt,
                  .budget = nullptr,
                  .on_retry = nullptr},
      scale);
}

Result<std::shared_ptr<http::Client>> make_http_client(std::size_t max_connections) {
  return http::Client::make({.connect_timeout = std::chrono::seconds{10},
                             .total_timeout = std::chrono::seconds{120},
                             .default_headers = {},
                             .user_agent = "rebound/0.1 bigquery",
                             .max_connections = max_connections,
                             .max_per_host = max_connections,
                             .max_response_bytes = std::size_t{256} << 20,
                             .tls = {},
                             .reuse_connections = true,
                             .retry = RetryPolicy{.rules = {},
                                                  .deadline = std::chrono::seconds{600},
                                                  .max_attempts = 1,
                                                  .attempt_timeout = std::nullopt,
                                                  .budget = nullptr,
                                                  .on_retry = nullptr},
                             .clock = nullptr,
                             .sleeper = nullptr,
                             .seed = std::nullopt});
}

Result<std::shared_ptr<RestClient>> RestClient::make(Config config,
                                                     std::shared_ptr<TokenSource> tokens,
                                                     std::shared_ptr<http::Client> http,
                                                     RestOptions options) {
  if (!tokens && !config.anonymous) {
    return fail(Error::permanent("BigQuery client for " + display_url(config) +
                                 " needs credentials (or auth=none for an emulator)"));
  }
  auto policy = make_policy(options.retry);
  if (!policy) return fail(std::move(policy.error()));
  options.retry = std::move(*policy);
  if (!http) {
    auto made = make_http_client();
    if (!made) return fail(std::move(made.error()));
    http = std::move(*made);
  }
  return std::make_shared<RestClient>(std::move(config), std::move(tokens), std::move(http),
                                      std::move(options));
}

RestClient::RestClient(Config config, std::shared_ptr<TokenSource> tokens,
                       std::shared_ptr<http::Client> http, RestOptions options)
    : config_(std::move(config)),
      tokens_(std::move(tokens)),
      http_(std::move(http)),
      options_(std::move(options)) {}

Clock& RestClient::clock() const noexcept {
  return options_.clock ? *options_.clock : steady_clock();
}
Sleeper& RestClient::sleeper() const noexcept {
  return options_.sleeper ? *options_.sleeper : real_sleeper();
}

std::string RestClient::api(std::string_view path) const {
  return config_.endpoint + "/bigquery/v2/projects/" + config_.project + std::string(path);
}

std::string RestClient::upload(std::string_view upload_type) const {
  return config_.endpoint + "/upload/bigquery/v2/projects/" + config_.project +
         "/jobs?uploadType=" + std::string(upload_type);
}

Result<http::Response> RestClient::attempt(const Call& call, const std::string& token) {
  http::Request request{.method = call.method,
                        .url = call.url,
                        .headers = call.headers,
                        .body = call.body,
                        .idempotency = http::Idempotency::idempotent,
                        .timeout = call.timeout.value_or(options_.request_timeout),
                        .return_every_status = true};
  request.headers.emplace_back("Expect", "");
  if (!call.body.empty() || call.method == "POST" || call.method == "PUT") {
    request.headers.emplace_back("Content-Type", call.content_type);
  }
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
  auto response = http_->send(request);
  if (!response) {
    Error e = std::move(response.error());
    e.message = call.operation + ": " + e.message;
    return fail(std::move(e));
  }
  return response;
}

Result<http::Response> RestClient::send_once(const Call& call) {
  std::string token;
  if (!config_.anonymous) {
    auto t = tokens_->token();
    if (!t) return fail(std::move(t.error()));
    token = std::move(*t);
  }
  auto response = attempt(call, token);
  if (response && response->status == 401 && !config_.anonymous) {
    // One refresh and one re-send (google-auth refreshes on 401 too).
    tokens_->invalidate(token);
    auto fresh = tokens_->token();
    if (!fresh) return fail(std::move(fresh.error()));
    response = attempt(call, *fresh);
  }
  if (!response) return response;
  const int status = response->status;
  if ((status >= 200 && status < 300) ||
      std::find(call.accept.begin(), call.accept.end(), status) != call.accept.end()) {
    return response;
  }
  return fail(error_from_response(status, response->body, call.operation));
}

bool is_failed_job_error(const Error& error) noexcept {
  if (error.source != "bigquery") return false;
  if (error.code == "jobBackendError" || error.code == "jobInternalError" ||
      error.code == "jobRateLimitExceeded") {
    return true;
  }
  return error.code == "backendError" && error.message.find(": HTTP 400 ") != std::string::npos;
}

Result<http::Response> RestClient::send(const Call& call) {
  std::optional<Error> failed_job;
  auto out = retry(options_.retry,
                   [&]() -> Result<http::Response> {
                     auto r = send_once(call);
                     if (!r && call.failed_job_is_final && is_failed_job_error(r.error())) {
                       failed_job = r.error();
                       return fail(Error::make(ErrorClass::non_retriable, "job failed"));
                     }
                     return r;
                   },
                   {.operation = call.operation,
                    .clock = options_.clock,
                    .sleeper = options_.sleeper,
                    .seed = options_.seed});
  if (failed_job) return fail(std::move(*failed_job));
  if (!out) return fail(out.error());
  return std::move(*out.value);
}

}  // namespace rebound::bigquery
