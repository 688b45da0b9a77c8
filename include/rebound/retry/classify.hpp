// classify — the one place where back-end error codes become ErrorClasses.
//
//   Error e = rebound::classify::postgres("40001", "could not serialize access ...");
//   e.error_class == ErrorClass::serialization_conflict;
//
//   Error h = rebound::classify::http(429, "Too Many Requests", "120");
//   h.error_class == ErrorClass::rate_limited;  *h.retry_after == 120s
//
// Mapping (each function documents its table):
//   PostgreSQL SQLSTATE  40001, 40P01 -> serialization_conflict; 53300 -> too_many_connections;
//                        08xxx, 57P01..57P03, 53xxx (other resources), 58xxx -> transient;
//                        42xxx (syntax, undefined, privilege) -> non_retriable;
//                        57014 (query canceled / statement timeout) -> transient;
//                        anything else -> permanent.
//   SQLite result code   BUSY (5), LOCKED (6) and their extended codes -> serialization_conflict;
//                        IOERR, PROTOCOL -> transient; FULL, NOMEM -> transient;
//                        others -> permanent.
//   HTTP status          408, 5xx (except 501, 505) -> transient; 429 -> rate_limited;
//                        other 4xx -> permanent. Retry-After (seconds or HTTP-date) -> hint.
//   BigQuery             reason + message: "could not serialize access ... concurrent update"
//                        (arrives as HTTP 400 invalidQuery) -> serialization_conflict;
//                        streaming buffer -> non_retriable; rateLimitExceeded,
//                        jobRateLimitExceeded -> rate_limited; quotaExceeded -> quota_exceeded;
//                        backendError, internalError, badGateway -> transient; invalidQuery,
//                        invalid, notFound, accessDenied, responseTooLarge, duplicate ->
//                        permanent (accessDenied, invalidQuery, responseTooLarge ->
//                        non_retriable); unknown or no reason -> by HTTP status.
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "rebound/core/error.hpp"

namespace rebound::classify {

[[nodiscard]] Error postgres(std::string_view sqlstate, std::string message);

// `code` is the primary or extended SQLite result code (sqlite3_extended_errcode).
[[nodiscard]] Error sqlite(int code, std::string message);

// `retry_after` is the raw header value (may be empty). `now` interprets HTTP-dates.
[[nodiscard]] Error http(
    int status, std::string message, std::string_view retry_after = {},
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

[[nodiscard]] Error bigquery(int http_status, std::string_view reason, std::string message);

// Parses Retry-After: delta-seconds ("120") or an HTTP-date in any of the three
// RFC 9110 forms (IMF-fixdate, RFC 850, asctime). A date in the past yields
// 0 s. nullopt for anything malformed (negative, garbage, overflow).
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// True when the error is a timeout — the attempt waited its whole time and
// so cost the server the most: curl 28 (CURLE_OPERATION_TIMEDOUT), HTTP 408
// and 504, PostgreSQL 57014 (statement timeout), or code "timeout" from any
// source (the simulator, callables that time out themselves). The retry
// budget charges these more (RetryBudgetOptions::timeout_cost).
[[nodiscard]] bool is_timeout(const Error& e) noexcept;

// True when a message text names a serialization conflict (BigQuery, and
// drivers that only pass text): "could not serialize", "concurrent update",
// "concurrent write". Case-insensitive.
[[nodiscard]] bool mentions_serialization_conflict(std::string_view message) noexcept;

}  // namespace rebound::classify
