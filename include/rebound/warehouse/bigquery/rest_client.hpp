// RestClient — one BigQuery REST call, authenticated and retried the way
// contract §4.5 says, on rebound's pooled HTTP client.
//
//   auto rest = rebound::bigquery::RestClient::make(config, tokens, http).value();
//   auto r = rest->send({.method = "GET", .url = rest->api("/jobs/" + id + "?location=EU"),
//                        .accept = {404}, .operation = "jobs.get " + id});
//   if (!r) return fail(r.error());          // classified: reason first
//   if (r->status == 404) …                  // accepted statuses come back as responses
//
// Every call:
//   * carries `Authorization: Bearer …` unless the config is anonymous, and an
//     empty `Expect:` (no 100-continue round trip on large bodies);
//   * on 401 invalidates the token and is sent once more with a fresh one;
//   * is retried — same body, so the same jobId / requestId — on transport
//     errors, on 408/429/5xx with no reason, and on reasons rateLimitExceeded,
//     backendError, internalError, badGateway at any status (full jitter
//     1 s → 60 s, 600 s deadline: request_retry_policy());
//   * returns 2xx and the statuses in `accept` as responses; anything else is
//     the classified Error (api_error.hpp), never a retried quotaExceeded.
//
// Thread safety: thread-safe; share one RestClient.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rebound/core/clock.hpp"
#include "rebound/core/headers.hpp"
#include "rebound/http/client.hpp"
#include "rebound/retry/policy.hpp"
#include "rebound/warehouse/bigquery/config.hpp"
#include "rebound/warehouse/bigquery/token_source.hpp"

namespace rebound::bigquery {

// §4.5 request retry: transient and rate_limited, full jitter 1 s .. 60 s,
// 600 s deadline, 10 attempts. `scale` multiplies every duration.
[[nodiscard]] RetryPolicy request_retry_policy(double scale = 1.0);

struct RestOptions {
  RetryPolicy retry = request_retry_policy();
  Duration request_timeout = std::chrono::seconds{120};
  Clock* clock = nullptr;      // default steady_clock()
  Sleeper* sleeper = nullptr;  // default real_sleeper()
  std::optional<std::uint64_t> seed;
};

struct Call {
  std::string method = "GET";
  std::string url;  // absolute: api(...) / upload(...) / a resumable session URI
  std::string body;
  std::string content_type = "application/json";
  Headers headers;
  std::vector<int> accept;  // non-2xx statuses handed back as responses (308, 404, 409 …)
  std::string operation;    // for messages: "jobs.insert merge_ab_a1"
  std::optional<Duration> timeout;
  // jobs.query / getQueryResults: an HTTP 400 whose reason says the *job*
  // failed (job*, or backendError at 400) is not re-sent — the same requestId
  // would only fetch the same failed job; the caller re-runs the job instead.
  bool failed_job_is_final = false;
};

// True for the error of a call whose job was created and then failed
// (HTTP 400 with reason jobBackendError / jobInternalError /
// jobRateLimitExceeded, or backendError at 400).
[[nodiscard]] bool is_failed_job_error(const Error& error) noexcept;

class RestClient {
 public:
  // `tokens` may be null only for an anonymous config. `http` null: a client
  // of its own (no HTTP-level retries; this class retries).
  [[nodiscard]] static Result<std::shared_ptr<RestClient>> make(Config config,
                                                                std::shared_ptr<TokenSource> tokens,
                                                                std::shared_ptr<http::Client> http,
                                                                RestOptions options = {});

  // One call with §4.5 request retries (see the header comment).
  [[nodiscard]] Result<http::Response> send(const Call& call);
  // One attempt (plus the one re-send after a 401). Transport errors and every
  // non-accepted status are returned as classified Errors.
  [[nodiscard]] Result<http::Response> send_once(const Call& call);

  // {endpoint}/bigquery/v2/projects/{project}{path}
  [[nodiscard]] std::string api(std::string_view path) const;
  // {endpoint}/upload/bigquery/v2/projects/{project}/jobs?uploadType={type}
  [[nodiscard]] std::string upload(std::string_view upload_type) const;

  [[nodiscard]] const Config& config() const noexcept { return config_; }
  [[nodiscard]] const RestOptions& options() const noexcept { return options_; }
  [[nodiscard]] Clock& clock() const noexcept;
  [[nodiscard]] Sleeper& sleeper() const noexcept;
  [[nodiscard]] http::Client& http() const noexcept { return *http_; }
  [[nodiscard]] const std::shared_ptr<TokenSource>& tokens() const noexcept { return tokens_; }

  RestClient(Config config, std::shared_ptr<TokenSource> tokens, std::shared_ptr<http::Client> http,
             RestOptions options);

 private:
  [[nodiscard]] Result<http::Response> attempt(const Call& call, const std::string& token);

  Config config_;
  std::shared_ptr<TokenSource> tokens_;
  std::shared_ptr<http::Client> http_;
  RestOptions options_;
};

// An HTTP client for BigQuery calls: no retries of its own (RestClient and
// TokenSource retry with BigQuery's rules), generous pool.
[[nodiscard]] Result<std::shared_ptr<http::Client>> make_http_client(
    std::size_t max_connections = 32);

}  // namespace rebound::bigquery
