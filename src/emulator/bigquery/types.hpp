// Internal vocabulary of the BigQuery emulator: the error a route or a job
// answers with, table schemas and query outcomes. Not installed.
//
// Thread safety: value types.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace rebound::emulator::bigquery::detail {

using json = nlohmann::json;

// An error as BigQuery reports it: HTTP status (when surfaced over HTTP),
// reason, message and an optional location (a field, a file).
struct BqError {
  int status = 400;
  std::string reason = "invalid";
  std::string message;
  std::string location;
  // Extra entries for errors[] after the main one (the load's three-entry shape).
  json extra_errors = json::array();

  [[nodiscard]] static BqError make(int status, std::string reason, std::string message) {
    return BqError{.status = status, .reason = std::move(reason), .message = std::move(message)};
  }
  [[nodiscard]] static BqError invalid(std::string message) {
    return make(400, "invalid", std::move(message));
  }
  [[nodiscard]] static BqError invalid_query(std::string message) {
    return make(400, "invalidQuery", std::move(message));
  }
  [[nodiscard]] static BqError not_found(std::string message) {
    return make(404, "notFound", std::move(message));
  }
  [[nodiscard]] static BqError duplicate(std::string message) {
    return make(409, "duplicate", std::move(message));
  }
};

template <class T>
using BqResult = std::expected<T, BqError>;

[[nodiscard]] inline std::unexpected<BqError> bq_fail(BqError e) {
  return std::unexpected(std::move(e));
}

// The HTTP status BigQuery uses for `reason` (contract §4.2).
[[nodiscard]] int status_for_reason(std::string_view reason);
// google.rpc status name for an HTTP status ("NOT_FOUND").
[[nodiscard]] std::string_view rpc_status_for(int http_status);
// {"error":{"code","message","errors":[{message,domain,reason}],"status"}}.
[[nodiscard]] std::string error_body(const BqError& e, bool with_status);
// ErrorProto for a job's status: {reason, message, location?}.
[[nodiscard]] json error_proto(const BqError& e);

// A table's place: project, dataset, table.
struct TableRef {
  std::string project;
  std::string dataset;
  std::string table;

  // The SQLite table name: "p.d.t".
  [[nodiscard]] std::string storage_name() const { return project + "." + dataset + "." + table; }
  // "p:d.t", as BigQuery's messages write it.
  [[nodiscard]] std::string colon_name() const { return project + ":" + dataset + "." + table; }
  [[nodiscard]] std::string dotted_name() const { return project + "." + dataset + "." + table; }
  friend bool operator==(const TableRef&, const TableRef&) = default;
};

// Canonical type name: INTEGER, FLOAT, BOOLEAN, STRING, BYTES, NUMERIC,
// BIGNUMERIC, TIMESTAMP, DATE, TIME, DATETIME, GEOGRAPHY, JSON, RECORD;
// empty for an unknown name.
[[nodiscard]] std::string canonical_type(std::string_view type);

// Validates and normalises a schema's fields (names, types, modes); the
// error names the offending field.
[[nodiscard]] BqResult<json> normalise_fields(const json& fields);

// A query's outcome: schema + rows (SQLite values as JSON: null, integer,
// float or string) and DML counts.
struct QueryOutcome {
  std::string statement_type = "SELECT";
  json fields = json::array();
  json rows = json::array();  // array of arrays
  bool dml = false;
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
  std::int64_t deleted = 0;
};

// Encodes stored rows as BigQuery's {"f":[{"v":…}]} using the schema.
[[nodiscard]] json encode_rows(const json& fields, const json& rows, std::size_t begin,
                               std::size_t end, bool int64_timestamps);

// Parses an RFC 3339 / "YYYY-MM-DD HH:MM:SS[.ffffff][+zz:zz|Z| UTC]"
// timestamp to Unix microseconds.
[[nodiscard]] std::optional<std::int64_t> parse_timestamp_micros(std::string_view text);

}  // namespace rebound::emulator::bigquery::detail
