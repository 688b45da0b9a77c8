// Access tokens: fetch, cache, refresh ahead, retry the token endpoint.
// See token_source.hpp.
#include "rebound/warehouse/bigquery/token_source.hpp"

#include <curl/curl.h>

#include <nlohmann/json.hpp>

#include "rebound/retry/retry_loop.hpp"
#include "rebound/warehouse/bigquery/api_error.hpp"
#include "rebound/warehouse/bigquery/jwt.hpp"

namespace rebound::bigquery {
namespace {

std::string form_escape(std::string_view s) {
  std::string out;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// google-auth's retryable token-endpoint answers.
bool retryable_token_failure(const ApiError& e) {
  const int s = e.status;
  return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504 ||
         e.reason == "internal_failure" || e.reason == "server_error" ||
         e.reason == "temporarily_unavailable";
}

}  // namespace

RetryPolicy token_retry_policy(double scale) {
  return policies::scaled(
      RetryPolicy{.rules = {ClassRule{.classes = {ErrorClass::transient, ErrorClass::rate_limited},
                                      .initial = std::chrono::seconds{1},
                                      .maximum = std::chrono::seconds{4},
                                      .multiplier = 2.0,
                                      .backoff = BackoffKind::equal_jitter,
                                      .max_attempts = 3}},
                  .deadline = std::chrono::seconds{60},
                  .max_attempts = 3,
                  .attempt_timeout = std::nullopt,
                  .budget = nullptr,
                  .on_retry = nullptr},
      scale);
}

Result<std::shared_ptr<TokenSource>> TokenSource::make(Credentials credentials,
                                                       std::shared_ptr<http::Client> http,
                                                       TokenSourceOptions options) {
  auto policy = make_policy(options.retry);
  if (!policy) return fail(std::move(policy.error()));
  options.retry = std::move(*policy);
  if (!http && !std::holds_alternative<Anonymous>(credentials)) {
    return fail(Error::permanent("TokenSource needs an HTTP client for its token endpoint"));
  }
  return std::make_shared<TokenSource>(std::move(credentials), std::move(http), std::move(options));
}

TokenSource::TokenSource(Credentials credentials, std::shared_ptr<http::Client> http,
                         TokenSourceOptions options)
    : credentials_(std::move(credentials)), http_(std::move(http)), options_(std::move(options)) {}

Clock& TokenSource::clock() const { return options_.clock ? *options_.clock : steady_clock(); }

bool TokenSource::anonymous() const noexcept {
  return std::holds_alternative<Anonymous>(credentials_);
}

std::uint64_t TokenSource::fetches() const {
  std::lock_guard lock(mu_);
  return fetches_;
}

Result<std::string> TokenSource::token() {
  if (anonymous()) return std::string{};
  std::lock_guard lock(mu_);
  const TimePoint now = clock().now();
  if (!token_.empty() && now + options_.refresh_ahead < expires_at_) return token_;
  auto fetched = fetch();
  if (!fetched) {
    // google-cloud-cpp keeps a still-valid token when a refresh fails.
    if (!token_.empty() && now < expires_at_) return token_;
    return fail(std::move(fetched.error()));
  }
  token_ = std::move(fetched->token);
  expires_at_ = now + fetched->lifetime;
  ++fetches_;
  return token_;
}

void TokenSource::invalidate(const std::string& rejected) {
  std::lock_guard lock(mu_);
  if (token_ == rejected) token_.clear();
}

Result<TokenSource::Fetched> TokenSource::fetch() {
  auto out = retry(options_.retry, [&]() { return fetch_once(); },
                   {.operation = "fetching an access token",
                    .clock = options_.clock,
                    .sleeper = options_.sleeper,
                    .seed = options_.seed});
  if (!out) return fail(out.error());
  return std::move(*out.value);
}

Result<http::Request> TokenSource::token_request() {
  http::Request request{.method = "POST",
                        .url = {},
                        .headers = {{"Content-Type", "application/x-www-form-urlencoded"}},
                        .body = {},
                        .idempotency = http::Idempotency::idempotent,
                        .timeout = options_.request_timeout,
                        .return_every_status = true};
  if (const auto* key = std::get_if<ServiceAccountKey>(&credentials_)) {
    const auto wall =
        std::chrono::duration_cast<std::chrono::seconds>(clock().wall_now().time_since_epoch())
            .count();
    auto jwt = make_jwt({.issuer = key->client_email,
                         .subject = {},
                         .audience = key->token_uri,
                         .scope = options_.scope,
                         .issued_at = wall,
                         .expires_at = wall + 3600},
                        key->private_key, key->private_key_id);
    if (!jwt) {
      return fail(
          Error::permanent("service account key " + key->origin + ": " + jwt.error().message));
    }
    request.url = key->token_uri;
    request.body =
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + *jwt;
  } else if (const auto* user = std::get_if<AuthorizedUser>(&credentials_)) {
    request.url = user->token_uri;
    request.body = "grant_type=refresh_token&client_id=" + form_escape(user->client_id) +
                   "&client_secret=" + form_escape(user->client_secret) +
                   "&refresh_token=" + form_escape(user->refresh_token);
  } else if (const auto* md = std::get_if<MetadataServer>(&credentials_)) {
    request.method = "GET";
    request.url = md->base_url + "/computeMetadata/v1/instance/service-accounts/default/token";
    request.headers = {{"Metadata-Flavor", "Google"}};
  }
  return request;
}

Result<TokenSource::Fetched> TokenSource::fetch_once() {
  auto request = token_request();
  if (!request) return fail(std::move(request.error()));
  const std::string where = "token endpoint " + request->url;
  auto response = http_->send(*request);
  if (!response) {
    Error e = std::move(response.error());
    e.message = "fetching an access token from " + where + ": " + e.message;
    if (e.error_class == ErrorClass::non_retriable) e.error_class = ErrorClass::transient;
    return fail(std::move(e));
  }
  if (response->status != 200) {
    ApiError api = parse_error_body(response->status, response->body);
    Error e =
        Error::make(retryable_token_failure(api) ? ErrorClass::transient : ErrorClass::permanent,
                    where + " answered HTTP " + std::to_string(api.status) +
                        (api.reason.empty() ? "" : " " + api.reason) + ": " + api.message,
                    "oauth", api.reason.empty() ? std::to_string(api.status) : api.reason);
    return fail(std::move(e));
  }
  auto j = nlohmann::json::parse(response->body, nullptr, false);
  auto token = j.is_object() ? j.find("access_token") : j.end();
  auto expires = j.is_object() ? j.find("expires_in") : j.end();
  if (!j.is_object() || token == j.end() || !token->is_string() ||
      token->get<std::string>().empty() || expires == j.end() ||
      !(expires->is_number() || expires->is_string())) {
    return fail(Error::permanent(where + " answered 200 without access_token and expires_in"));
  }
  std::int64_t seconds = 0;
  if (expires->is_number()) {
    seconds = expires->get<std::int64_t>();
  } else {
    seconds = std::strtoll(expires->get<std::string>().c_str(), nullptr, 10);
  }
  return Fetched{.token = token->get<std::string>(), .lifetime = std::chrono::seconds{seconds}};
}

}  // namespace rebound::bigquery
