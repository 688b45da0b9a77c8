// http::Client — pooled HTTP with retries built in, on libcurl.
//
//   auto client = rebound::http::Client::make({.total_timeout = 10s}).value();
//   auto r = client->send({.method = "GET", .url = "https://api.example.com/v1/games"});
//   if (r) use(r->status, r->body, r->timing.total, r->reused_connection);
//   client->stats().reuse_rate();
//
//   auto r2 = rebound::http::get("http://127.0.0.1:8080/health");   // shared default client
//
// Design (docs/http.md): a pool of reusable curl easy handles. A request
// leases a handle, and the handle keeps its connection alive between leases,
// so reuse comes from handing the same handle back; no connection cache is
// shared across threads (curl's CURL_LOCK_DATA_CONNECT sharing is documented
// unsafe: KNOWN_BUGS 11.11, curl #4915, #9404). DNS and TLS sessions are
// shared through one share handle with a mutex per lock kind. `max_connections`
// bounds the handles (so the connections) in total; `max_per_host` bounds the
// requests in flight to one host.
//
// Retries run through rebound::retry: connection failures, timeouts, 5xx,
// 408 and 429 for idempotent requests (policies::transient() by default: 3
// attempts, exponential with full jitter); Retry-After is honoured, capped by
// the deadline (clamped and jittered). POST and PATCH are retried only when marked idempotent or
// carrying an Idempotency-Key header. A kept-alive connection the server closed
// is retried on a new connection, for any method when nothing was sent.
//
// Overload protection (docs/overload.md), off unless set in ClientOptions:
// `circuit_breaker` gives every host:port its own CircuitBreaker (a host that
// keeps failing is not called until its probe; the request fails at once
// with circuit_open), `adaptive_rate` its own AdaptiveRateLimiter (429s and
// quota errors slow the send rate to that host). Retry-After and
// X-RateLimit-Reset are honoured through the policy's `pushback`: clamped
// (300 s) and jittered x[1, 1.5). Request::stop cancels a request: its retry
// sleep ends at once, a transfer in flight within curl's progress interval
// (at most a second).
//
// Requests are validated before anything is sent: http/https URLs only, no
// CR/LF/NUL in header names or values. Secrets are redacted (redact.hpp) from
// every message.
//
// Thread safety: thread-safe; share one Client across threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rebound/core/clock.hpp"
#include "rebound/core/headers.hpp"
#include "rebound/http/response.hpp"
#include "rebound/retry/policy.hpp"
#include "rebound/retry/retry_loop.hpp"

namespace rebound::http {

// Whether a request may be sent twice.
enum class Idempotency {
  automatic,       // by method: GET, HEAD, PUT, DELETE, OPTIONS, TRACE yes; POST, PATCH no
                   // unless the request carries an Idempotency-Key header
  idempotent,      // the caller says a repeat is safe
  not_idempotent,  // never retried once it may have reached the server
};

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  Idempotency idempotency = Idempotency::automatic;
  std::optional<Duration> timeout;  // overrides ClientOptions::total_timeout
  // Every HTTP response comes back as a Response, whatever its status; the
  // caller classifies it (the BigQuery client reads the reason from a 5xx
  // body, which a status-only rule would throw away). Transport errors are
  // still errors.
  bool return_every_status = false;
  // Called before each retry sleep, on the calling thread (logs, metrics).
  std::function<void(const RetryEvent&)> on_retry;
  // Cancels the request: ends a retry sleep at once and aborts a transfer in
  // flight; the result is a non_retriable error with code "cancelled".
  std::stop_token stop = {};
};

struct TlsOptions {
  std::string ca_file;                // trust these CAs (PEM) instead of the system bundle
  bool insecure_skip_verify = false;  // off by default; turning it on logs a loud warning once
};

struct ClientOptions {
  Duration connect_timeout = std::chrono::seconds{10};
  Duration total_timeout = std::chrono::seconds{60};
  Headers default_headers;
  std::string user_agent = "rebound/0.1";
  std::size_t max_connections = 64;  // easy handles, so connections, in total
  std::size_t max_per_host = 16;     // requests in flight to one host:port
  std::size_t max_response_bytes = std::size_t{64} << 20;
  TlsOptions tls;
  bool reuse_connections =
      true;  // false: a new connection per request (the naive way, for comparisons)
  RetryPolicy retry = policies::transient();
  Clock* clock = nullptr;  // retry loop injection (tests); defaults to the real ones
  Sleeper* sleeper = nullptr;
  // Jitter seed (tests). Request n's retry loop is seeded from (seed, n), so
  // concurrent requests never share one jitter sequence.
  std::optional<std::uint64_t> seed;
  // Overload protection, per host:port; off unless set. The defaults of the
  // option structs are Polly v8's breaker and the AWS SDKs' adaptive mode.
  // Their clock defaults to `clock` above.
  std::optional<CircuitBreakerOptions> circuit_breaker;
  std::optional<AdaptiveRateOptions> adaptive_rate;
};

class Client {
 public:
  // Validates options (positive timeouts and limits, readable CA file, valid
  // policy). Errors are permanent and name the field.
  [[nodiscard]] static Result<std::shared_ptr<Client>> make(ClientOptions options = {});

  // Sends a request, retrying per the policy. Returns the response of the
  // last attempt for any HTTP status that is not retried (2xx, 4xx…), or the
  // error: invalid request (permanent, nothing sent), transport failure,
  // retried status (classified by classify::http; its message names the
  // status, method and redacted URL) after the policy gave up.
  [[nodiscard]] Result<Response> send(const Request& request);

  [[nodiscard]] Result<Response> get(std::string_view url, Headers headers = {});
  [[nodiscard]] Result<Response> post(std::string_view url, std::string json_body,
                                      Headers headers = {});

  [[nodiscard]] ClientStats stats() const;
  // The breaker / limiter of a host ("127.0.0.1:8080"), or nullptr when that
  // protection is off. Made on first use.
  [[nodiscard]] std::shared_ptr<CircuitBreaker> circuit_breaker(std::string_view host_port);
  [[nodiscard]] std::shared_ptr<AdaptiveRateLimiter> rate_limiter(std::string_view host_port);
  [[nodiscard]] const ClientOptions& options() const noexcept;

  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// The process-wide default client (made on first use with ClientOptions{}).
[[nodiscard]] Client& default_client();
[[nodiscard]] Result<Response> get(std::string_view url, Headers headers = {});
[[nodiscard]] Result<Response> post(std::string_view url, std::string json_body,
                                    Headers headers = {});

}  // namespace rebound::http
