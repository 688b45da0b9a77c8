// Error bodies, type names and row encoding shared by the emulator's routes.
#include "types.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <regex>

namespace rebound::emulator::bigquery::detail {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

json encode_cell(const json& field, const json& value, bool int64_timestamps);

json encode_record(const json& field, const json& value, bool int64_timestamps) {
  json f = json::array();
  const json& sub = field.contains("fields") ? field["fields"] : json::array();
  for (const json& sf : sub) {
    const std::string name = sf.value("name", "");
    const json v = value.is_object() && value.contains(name) ? value[name] : json();
    f.push_back(json{{"v", encode_cell(sf, v, int64_timestamps)}});
  }
  return json{{"f", f}};
}

json encode_scalar(const std::string& type, const json& value, bool int64_timestamps) {
  if (value.is_null()) return nullptr;
  if (type == "BOOLEAN") {
    if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
    if (value.is_number()) return value.get<double>() != 0 ? "true" : "false";
    if (value.is_string()) return value.get<std::string>() == "true" ? "true" : "false";
  }
  if (type == "TIMESTAMP" && value.is_number_integer()) {
    const auto micros = value.get<std::int64_t>();
    if (int64_timestamps) return std::to_string(micros);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(micros) / 1e6);
    return std::string(buf);
  }
  if (type == "RECORD" || type == "JSON") {
    if (value.is_string()) return value;
    return value.dump();
  }
  if (value.is_string()) return value;
  if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (type == "INTEGER") return std::to_string(static_cast<std::int64_t>(d));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return std::string(buf);
  }
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump();
}

json encode_cell(const json& field, const json& value, bool int64_timestamps) {
  const std::string type = canonical_type(field.value("type", "STRING"));
  const bool repeated = field.value("mode", "NULLABLE") == "REPEATED";
  json parsed = value;
  // RECORD and REPEATED columns are stored as JSON text.
  if ((repeated || type == "RECORD") && value.is_string()) {
    parsed = json::parse(value.get<std::string>(), nullptr, false);
    if (parsed.is_discarded()) parsed = nullptr;
  }
  json element_field = field;
  element_field["mode"] = "NULLABLE";
  if (repeated) {
    json items = json::array();
    if (parsed.is_array()) {
      for (const json& item : parsed) {
        items.push_back(json{{"v", encode_cell(element_field, item, int64_timestamps)}});
      }
    }
    return items;
  }
  if (type == "RECORD") {
    if (parsed.is_null()) return nullptr;
    return encode_record(field, parsed, int64_timestamps);
  }
  return encode_scalar(type, value, int64_timestamps);
}

}  // namespace

int status_for_reason(std::string_view reason) {
  static const std::pair<std::string_view, int> kTable[] = {
      {"accessDenied", 403},      {"billingNotEnabled", 403},
      {"blocked", 403},           {"policyViolation", 403},
      {"quotaExceeded", 403},     {"responseTooLarge", 403},
      {"rateLimitExceeded", 403}, {"backendError", 503},
      {"badGateway", 502},        {"internalError", 500},
      {"notImplemented", 501},    {"duplicate", 409},
      {"notFound", 404},          {"stopped", 200},
      {"unauthorized", 401},      {"proxyAuthenticationRequired", 407}};
  for (const auto& [name, status] : kTable) {
    if (name == reason) return status;
  }
  return 400;
}

std::string_view rpc_status_for(int http_status) {
  switch (http_status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
    case 410:
      return "NOT_FOUND";
    case 409:
      return "ALREADY_EXISTS";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 501:
      return "NOT_IMPLEMENTED";
    case 502:
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return http_status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

std::string error_body(const BqError& e, bool with_status) {
  json entry{{"message", e.message}, {"domain", "global"}, {"reason", e.reason}};
  if (!e.location.empty()) {
    entry["location"] = e.location;
    entry["locationType"] = "other";
  }
  json errors = json::array({entry});
  for (const json& extra : e.extra_errors) errors.push_back(extra);
  json err{{"code", e.status}, {"message", e.message}, {"errors", errors}};
  if (with_status) err["status"] = rpc_status_for(e.status);
  return json{{"error", err}}.dump();
}

json error_proto(const BqError& e) {
  json p{{"reason", e.reason}, {"message", e.message}};
  if (!e.location.empty()) p["location"] = e.location;
  return p;
}

std::string canonical_type(std::string_view type) {
  const std::string t = upper(type);
  if (t == "INTEGER" || t == "INT64") return "INTEGER";
  if (t == "FLOAT" || t == "FLOAT64") return "FLOAT";
  if (t == "BOOLEAN" || t == "BOOL") return "BOOLEAN";
  if (t == "RECORD" || t == "STRUCT") return "RECORD";
  if (t == "BIGDECIMAL") return "BIGNUMERIC";
  if (t == "DECIMAL") return "NUMERIC";
  static const char* kSame[] = {"STRING", "BYTES", "NUMERIC",  "BIGNUMERIC", "TIMESTAMP",
                                "DATE",   "TIME",  "DATETIME", "GEOGRAPHY",  "JSON"};
  for (const char* s : kSame) {
    if (t == s) return t;
  }
  return {};
}

BqResult<json> normalise_fields(const json& fields) {
  if (!fields.is_array()) return bq_fail(BqError::invalid("schema.fields must be an array"));
  static const std::regex kName("[A-Za-z_][A-Za-z0-9_]{0,299}");
  json out = json::array();
  for (const json& f : fields) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string()) {
      return bq_fail(BqError::invalid("Every schema field needs a name"));
    }
    const std::string name = f["name"].get<std::string>();
    if (!std::regex_match(name, kName)) {
      return bq_fail(BqError::invalid("Invalid field name \"" + name +
                                      "\". Fields must contain only letters, numbers, and "
                                      "underscores, start with a letter or underscore, and be "
                                      "at most 300 characters long."));
    }
    const std::string type = canonical_type(f.value("type", "STRING"));
    if (type.empty()) {
      return bq_fail(BqError::invalid("Invalid value for type: " + f.value("type", "") +
                                      " is not a valid value (field " + name + ")"));
    }
    std::string mode = upper(f.value("mode", "NULLABLE"));
    if (mode.empty()) mode = "NULLABLE";
    if (mode != "NULLABLE" && mode != "REQUIRED" && mode != "REPEATED") {
      return bq_fail(BqError::invalid("Invalid value for mode: " + mode + " (field " + name + ")"));
    }
    json nf{{"name", name}, {"type", type}, {"mode", mode}};
    if (type == "RECORD") {
      auto sub = normalise_fields(f.value("fields", json::array()));
      if (!sub) return sub;
      if (sub->empty()) {
        return bq_fail(BqError::invalid("Field " + name + " is type RECORD but has no schema"));
      }
      nf["fields"] = *sub;
    }
    for (const char* key : {"description", "defaultValueExpression"}) {
      if (f.contains(key)) nf[key] = f[key];
    }
    out.push_back(std::move(nf));
  }
  return out;
}

json encode_rows(const json& fields, const json& rows, std::size_t begin, std::size_t end,
                 bool int64_timestamps) {
  json out = json::array();
  end = std::min(end, rows.size());
  for (std::size_t r = begin; r < end; ++r) {
    json f = json::array();
    const json& row = rows[r];
    for (std::size_t c = 0; c < fields.size() && c < row.size(); ++c) {
      f.push_back(json{{"v", encode_cell(fields[c], row[c], int64_timestamps)}});
    }
    out.push_back(json{{"f", std::move(f)}});
  }
  return out;
}

std::optional<std::int64_t> parse_timestamp_micros(std::string_view text) {
  // YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][Z|(+|-)HH[:MM]| UTC]
  static const std::regex kTs(
      R"(^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?\s*$)",
      std::regex::icase);
  std::cmatch m;
  if (!std::regex_match(text.data(), text.data() + text.size(), m, kTs)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1].str()) - 1900;
  tm.tm_mon = std::stoi(m[2].str()) - 1;
  tm.tm_mday = std::stoi(m[3].str());
  tm.tm_hour = m[4].matched ? std::stoi(m[4].str()) : 0;
  tm.tm_min = m[5].matched ? std::stoi(m[5].str()) : 0;
  tm.tm_sec = m[6].matched ? std::stoi(m[6].str()) : 0;
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  std::int64_t seconds = ::timegm(&tm);
  std::int64_t micros = 0;
  if (m[7].matched) {
    std::string frac = m[7].str();
    frac.resize(6, '0');
    micros = std::stoll(frac.substr(0, 6));
  }
  if (m[8].matched) {
    const std::string zone = m[8].str();
    if (zone[0] == '+' || zone[0] == '-') {
      const int hours = std::stoi(zone.substr(1, 2));
      std::string rest = zone.substr(3);
      if (!rest.empty() && rest[0] == ':') rest.erase(0, 1);
      const int minutes = rest.empty() ? 0 : std::stoi(rest);
      const std::int64_t offset = hours * 3600 + minutes * 60;
      seconds += zone[0] == '+' ? -offset : offset;
    }
  }
  return seconds * 1000000 + micros;
}

}  // namespace rebound::emulator::bigquery::detail
