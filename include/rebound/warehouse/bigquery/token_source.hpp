// TokenSource — OAuth access tokens for BigQuery calls, cached and refreshed
// ahead of expiry.
//
//   auto tokens = rebound::bigquery::TokenSource::make(creds, http_client).value();
//   auto t = tokens->token();              // Result<std::string>: the Bearer value
//   if (r.status == 401) tokens->invalidate(*t);   // next token() fetches a new one
//
// Per credential kind (contract §5):
//   service account  RS256 JWT (iss = client_email, aud = token_uri, 1 h) posted
//                    to the key's token_uri as a jwt-bearer grant;
//   authorized user  refresh_token grant at its token_uri;
//   metadata server  GET {base}/computeMetadata/v1/instance/service-accounts/
//                    default/token with Metadata-Flavor: Google;
//   anonymous        no token (token() returns an empty string).
// A token is reused until `refresh_ahead` (5 min, google-cloud-cpp's margin)
// before it expires; if a refresh fails while the old token is still valid,
// the old one is kept. Token-endpoint failures are retried as google-auth
// does: 408/429/500/503/504 and the OAuth errors internal_failure,
// server_error, temporarily_unavailable; 3 attempts, 1 s ×2 with jitter.
// invalid_grant and other 4xx are permanent, with the endpoint's
// error_description — never the assertion, secret or token.
//
// Thread safety: thread-safe. One refresh at a time (callers wait for it).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "rebound/core/clock.hpp"
#include "rebound/http/client.hpp"
#include "rebound/retry/policy.hpp"
#include "rebound/warehouse/bigquery/credentials.hpp"

namespace rebound::bigquery {

inline constexpr std::string_view kBigQueryScope = "https://www.googleapis.com/auth/bigquery";

// google-auth's token retry: 3 attempts, 1 s .. 4 s, x2, jitter. `scale`
// multiplies the durations (tests use a fake sleeper instead).
[[nodiscard]] RetryPolicy token_retry_policy(double scale = 1.0);

struct TokenSourceOptions {
  Duration refresh_ahead = std::chrono::minutes{5};
  std::string scope = std::string(kBigQueryScope);
  RetryPolicy retry = token_retry_policy();
  Duration request_timeout = std::chrono::seconds{30};
  Clock* clock = nullptr;      // default steady_clock(); wall_now() dates the JWT
  Sleeper* sleeper = nullptr;  // default real_sleeper()
  std::optional<std::uint64_t> seed;
};

class TokenSource {
 public:
  // Errors: an invalid retry policy (permanent). Credentials are checked on
  // first use (a bad private key fails the first token() with a clear error).
  [[nodiscard]] static Result<std::shared_ptr<TokenSource>> make(Credentials credentials,
                                                                 std::shared_ptr<http::Client> http,
                                                                 TokenSourceOptions options = {});

  // The current access token, fetching one when none is cached or it expires
  // within refresh_ahead. Empty for anonymous credentials. Errors are
  // classified (transient after retries; permanent for invalid_grant, a bad
  // key, a malformed reply).
  [[nodiscard]] Result<std::string> token();

  // Drops the cached token if it is still `rejected` (a 401 answered it), so
  // the next token() fetches a fresh one; a token another thread already
  // replaced is left alone.
  void invalidate(const std::string& rejected);

  [[nodiscard]] bool anonymous() const noexcept;
  [[nodiscard]] std::uint64_t fetches() const;  // successful token fetches
  [[nodiscard]] const Credentials& credentials() const noexcept { return credentials_; }

  TokenSource(Credentials credentials, std::shared_ptr<http::Client> http,
              TokenSourceOptions options);

 private:
  struct Fetched {
    std::string token;
    Duration lifetime{};
  };
  [[nodiscard]] Result<Fetched> fetch();
  [[nodiscard]] Result<Fetched> fetch_once();
  [[nodiscard]] Result<http::Request> token_request();
  [[nodiscard]] Clock& clock() const;

  Credentials credentials_;
  std::shared_ptr<http::Client> http_;
  TokenSourceOptions options_;
  mutable std::mutex mu_;
  std::string token_;  // guarded by mu_
  TimePoint expires_at_{};
  std::uint64_t fetches_ = 0;
};

}  // namespace rebound::bigquery
