// Private: what the blocking Client and the AsyncClient share about one
// request — validation, idempotency, the curl options of an attempt, the
// per-transfer body/header sinks, and turning a finished transfer into a
// Result<Response> with the same classification, redaction and counters.
// Both APIs go through these functions, so they cannot drift apart.
//
// Thread safety: free functions; Counters is thread-safe (atomics); a
// Transfer belongs to one transfer at a time.
#pragma once

#include <curl/curl.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "curl_easy.hpp"
#include "rebound/http/client.hpp"
#include "rebound/http/response.hpp"

namespace rebound::http::detail {

// What validation learns about a request before anything is sent.
struct Target {
  std::string host_port;             // for the per-host limit
  std::string shown;                 // "GET https://host/x?token=***": for messages
  std::vector<std::string> secrets;  // values to scrub from curl's own messages
};

[[nodiscard]] bool has_control(std::string_view s);
[[nodiscard]] std::string upper(std::string s);

// Validates client options (positive timeouts and limits, readable CA file,
// valid policy); a permanent Error naming the field. Warns once on stderr
// when TLS verification is off.
[[nodiscard]] Status check_options(const ClientOptions& options);

// Checks method, URL (http/https only), headers (no CR/LF/NUL). A permanent
// Error naming the offending part (redacted); nothing is sent.
[[nodiscard]] Result<Target> validate(const Request& request, const ClientOptions& options);

// Idempotency::automatic resolved by method and Idempotency-Key header.
[[nodiscard]] bool is_idempotent(const Request& request);

// The default headers, then the request's, as one curl list.
[[nodiscard]] Slist header_list(const ClientOptions& options, const Request& request);

// State of one transfer, reached from curl's callbacks.
struct Transfer {
  Response response;
  std::size_t limit = 0;
  bool too_large = false;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  // Request::stop: aborts the transfer from curl's progress callback.
  std::stop_token stop = {};

  // Called by curl during the transfer (and about once a second when idle):
  // a non-zero return aborts it with CURLE_ABORTED_BY_CALLBACK.
  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self);
};

struct Counters {
  std::atomic<std::uint64_t> requests{0}, attempts{0}, new_connections{0}, reused_connections{0},
      failures{0}, bytes_received{0}, bytes_sent{0};
  std::array<std::atomic<std::uint64_t>, kErrorClassCount> retries{};

  [[nodiscard]] ClientStats snapshot() const;
};

// The options every request of a client shares (set once per easy handle).
void configure_client_wide(CURL* curl, const ClientOptions& options, CURLSH* share);

// Sets the options of one attempt on a handle. A handle belongs to one
// client, so its client-wide options never change: when both the previous and
// this request are plain GETs (no method or body options to clear), only the
// per-request options are set again (curl_easy_reset and re-setting every
// option cost ~10% of a kept-alive loopback GET's CPU).
void configure_attempt(EasyHandle& handle, const ClientOptions& options, CURLSH* share,
                       const Request& request, const Slist& headers, Transfer& transfer,
                       Duration timeout);

// Turns a finished transfer into the attempt's result: counts connections
// and bytes, maps curl failures (scrubbed of secrets) and retried statuses
// (classify::http, Retry-After read against `wall_clock`) to Errors, and
// marks retriable failures of non-idempotent requests not retried. A
// transfer aborted by Request::stop is a non_retriable "cancelled" error;
// X-RateLimit-Reset stands in for a missing Retry-After.
[[nodiscard]] Result<Response> finish_attempt(CURL* curl, CURLcode code, Transfer& transfer,
                                              const Request& request, const Target& target,
                                              bool idempotent, const ClientOptions& options,
                                              Counters& counters, const Clock& wall_clock);

// Rewrites a retriable error of a request that must not be repeated.
[[nodiscard]] Error not_retried(Error error, const Request& request);

}  // namespace rebound::http::detail
