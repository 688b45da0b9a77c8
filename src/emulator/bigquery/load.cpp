// NDJSON loads: row conversion against a schema (shared with insertAll), the
// dispositions, maxBadRecords and BigQuery's three-entry bad-record error.
#include <cctype>
#include <cmath>
#include <regex>

#include "store.hpp"

namespace rebound::emulator::bigquery::detail {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

BqError convert_error(const std::string& type, const std::string& field, const json& value) {
  const std::string shown = value.is_string() ? value.get<std::string>() : value.dump();
  return BqError::invalid("Could not convert value to " + lower(type) + ". Field: " + field +
                          "; Value: " + shown);
}

BqResult<json> convert_value(const json& field, const json& value, const std::string& path,
                             bool ignore_unknown);

BqResult<json> convert_record(const json& field, const json& value, const std::string& path,
                              bool ignore_unknown) {
  if (!value.is_object()) return bq_fail(convert_error("record", path, value));
  json out = json::object();
  const json& sub = field["fields"];
  for (const json& sf : sub) {
    const std::string name = sf["name"].get<std::string>();
    const json v = value.contains(name) ? value[name] : json();
    auto converted = convert_value(sf, v, path + "." + name, ignore_unknown);
    if (!converted) return converted;
    out[name] = *converted;
  }
  if (!ignore_unknown) {
    for (const auto& [key, _] : value.items()) {
      bool known = false;
      for (const json& sf : sub) known = known || sf["name"] == key;
      if (!known) return bq_fail(BqError::invalid("No such field: " + path + "." + key + "."));
    }
  }
  return out;
}

BqResult<json> convert_scalar(const std::string& type, const json& v, const std::string& path) {
  static const std::regex kInt(R"(\s*[+-]?\d+\s*)");
  static const std::regex kNum(R"(\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*)");
  static const std::regex kDate(R"(\d{4}-\d{1,2}-\d{1,2})");
  const bool is_str = v.is_string();
  const std::string s = is_str ? v.get<std::string>() : "";
  if (type == "STRING" || type == "BYTES" || type == "GEOGRAPHY" || type == "TIME" ||
      type == "DATETIME") {
    if (!is_str) return bq_fail(convert_error(type, path, v));
    return v;
  }
  if (type == "DATE") {
    if (!is_str || !std::regex_match(s, kDate)) return bq_fail(convert_error(type, path, v));
    return v;
  }
  if (type == "INTEGER") {
    if (v.is_number_integer()) return v.get<std::int64_t>();
    if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) {
      return static_cast<std::int64_t>(v.get<double>());
    }
    if (is_str && std::regex_match(s, kInt)) {
      try {
        return std::stoll(s);
      } catch (const std::exception&) {
      }
    }
    return bq_fail(convert_error(type, path, v));
  }
  if (type == "FLOAT") {
    if (v.is_number()) return v.get<double>();
    if (is_str && std::regex_match(s, kNum)) return std::stod(s);
    if (is_str && (s == "NaN" || s == "Infinity" || s == "-Infinity")) return v;
    return bq_fail(convert_error(type, path, v));
  }
  if (type == "NUMERIC" || type == "BIGNUMERIC") {
    if (v.is_number()) return v.dump();
    if (is_str && std::regex_match(s, kNum)) return v;
    return bq_fail(convert_error(type, path, v));
  }
  if (type == "BOOLEAN") {
    if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
    const std::string l = lower(s);
    if (is_str && (l == "true" || l == "1")) return 1;
    if (is_str && (l == "false" || l == "0")) return 0;
    return bq_fail(convert_error(type, path, v));
  }
  if (type == "TIMESTAMP") {
    if (v.is_number()) return static_cast<std::int64_t>(std::llround(v.get<double>() * 1e6));
    if (is_str) {
      if (auto micros = parse_timestamp_micros(s)) return *micros;
      if (std::regex_match(s, kNum))
        return static_cast<std::int64_t>(std::llround(std::stod(s) * 1e6));
    }
    return bq_fail(convert_error(type, path, v));
  }
  if (type == "JSON") return v.dump();
  return bq_fail(convert_error(type, path, v));
}

BqResult<json> convert_value(const json& field, const json& value, const std::string& path,
                             bool ignore_unknown) {
  const std::string type = field["type"].get<std::string>();
  const std::string mode = field.value("mode", "NULLABLE");
  if (mode == "REPEATED") {
    if (value.is_null()) return json::array();
    if (!value.is_array()) return bq_fail(convert_error("array", path, value));
    json element = field;
    element["mode"] = "NULLABLE";
    json out = json::array();
    for (const json& item : value) {
      if (item.is_null()) {
        return bq_fail(BqError::invalid(
            "Array specified for non-repeated field or null in array: " + path + "."));
      }
      auto c = convert_value(element, item, path, ignore_unknown);
      if (!c) return c;
      out.push_back(*c);
    }
    return out;
  }
  if (value.is_null()) {
    if (mode == "REQUIRED")
      return bq_fail(BqError::invalid("Missing required field: " + path + "."));
    return json();
  }
  if (type == "RECORD") return convert_record(field, value, path, ignore_unknown);
  return convert_scalar(type, value, path);
}

json bad_record_proto(const std::string& message) {
  return json{{"reason", "invalid"}, {"message", message}};
}

}  // namespace

BqResult<std::vector<json>> Store::convert_row(const json& fields, const json& row,
                                               bool ignore_unknown) const {
  if (!row.is_object()) return bq_fail(BqError::invalid("Row is not a JSON object."));
  std::vector<json> out;
  out.reserve(fields.size());
  for (const json& f : fields) {
    const std::string name = f["name"].get<std::string>();
    const json v = row.contains(name) ? row[name] : json();
    auto c = convert_value(f, v, name, ignore_unknown);
    if (!c) {
      BqError e = c.error();
      e.location = name;
      return bq_fail(std::move(e));
    }
    const std::string mode = f.value("mode", "NULLABLE");
    if ((mode == "REPEATED" || f["type"] == "RECORD") && !c->is_null()) {
      out.push_back(c->dump());
    } else {
      out.push_back(*c);
    }
  }
  if (!ignore_unknown) {
    for (const auto& [key, _] : row.items()) {
      bool known = false;
      for (const json& f : fields) known = known || f["name"] == key;
      if (!known) {
        BqError e = BqError::invalid("No such field: " + key + ".");
        e.location = key;
        return bq_fail(std::move(e));
      }
    }
  }
  return out;
}

namespace {

// Decides the table's schema and whether the load may go ahead (dispositions).
BqResult<json> load_schema(Store& store, const LoadRequest& request,
                           const std::optional<TableInfo>& existing) {
  const json& config = request.config;
  json fields = json::array();
  bool has_schema = false;
  if (config.contains("schema") && config["schema"].contains("fields")) {
    auto n = normalise_fields(config["schema"]["fields"]);
    if (!n) return n;
    fields = *n;
    has_schema = true;
  }
  const std::string create = config.value("createDisposition", "CREATE_IF_NEEDED");
  const std::string write = config.value("writeDisposition", "WRITE_APPEND");
  if (!existing) {
    if (create == "CREATE_NEVER") {
      return bq_fail(BqError::not_found("Not found: Table " + request.table.colon_name()));
    }
    if (!has_schema) {
      return bq_fail(BqError::invalid("No schema specified on job or table."));
    }
    return fields;
  }
  if (write == "WRITE_EMPTY" && store.row_count(request.table) > 0) {
    return bq_fail(BqError::duplicate("Already Exists: Table " + request.table.colon_name()));
  }
  if (write == "WRITE_TRUNCATE" && has_schema) return fields;
  if (has_schema && fields != existing->fields) {
    return bq_fail(BqError::invalid("Provided Schema does not match Table " +
                                    request.table.colon_name() + "."));
  }
  return existing->fields;
}

}  // namespace

BqResult<LoadOutcome> Store::load(const LoadRequest& request) {
  const json& config = request.config;
  const std::string format = config.value("sourceFormat", "CSV");
  if (format != "NEWLINE_DELIMITED_JSON") {
    return bq_fail(BqError::invalid("sourceFormat " + format +
                                    " is not supported by the emulator; use "
                                    "NEWLINE_DELIMITED_JSON"));
  }
  if (!get_dataset(request.table.project, request.table.dataset)) {
    return bq_fail(BqError::not_found("Not found: Dataset " + request.table.project + ":" +
                                      request.table.dataset));
  }
  const std::optional<TableInfo> existing = table(request.table);
  auto fields = load_schema(*this, request, existing);
  if (!fields) return bq_fail(fields.error());

  const bool ignore_unknown = config.value("ignoreUnknownValues", false);
  const json& max_bad_json = config.contains("maxBadRecords") ? config["maxBadRecords"] : json(0);
  const std::int64_t max_bad = max_bad_json.is_string()
                                   ? std::stoll(max_bad_json.get<std::string>())
                                   : max_bad_json.get<std::int64_t>();
  LoadOutcome outcome;
  outcome.input_bytes = static_cast<std::int64_t>(request.data.size());
  std::vector<std::vector<json>> rows;
  json bad = json::array();
  std::int64_t rows_read = 0;
  std::size_t pos = 0;
  const std::string& data = request.data;
  while (pos < data.size()) {
    std::size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    const std::string_view line(data.data() + pos, end - pos);
    const std::size_t start = pos;
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    ++rows_read;
    json row = json::parse(line, nullptr, false);
    std::string problem;
    if (row.is_discarded() || !row.is_object()) {
      problem = "Parser terminated before end of string";
    } else if (auto converted = convert_row(*fields, row, ignore_unknown)) {
      rows.push_back(std::move(*converted));
      continue;
    } else {
      problem = converted.error().message;
    }
    bad.push_back(
        bad_record_proto("Error while reading data, error message: JSON parsing error "
                         "in row starting at position " +
                         std::to_string(start) + ": " + problem));
    if (static_cast<std::int64_t>(bad.size()) > max_bad) {
      const std::string counts =
          "Rows: " + std::to_string(rows_read) + "; errors: " + std::to_string(bad.size());
      BqError e = BqError::invalid(
          "Error while reading data, error message: JSON table encountered too many errors, "
          "giving up. " +
          counts + ". Please look into the errors[] collection for more details.");
      e.location = request.error_location;
      e.extra_errors.push_back(bad_record_proto(
          "Error while reading data, error message: JSON processing encountered too many "
          "errors, giving up. " +
          counts + "; max bad: " + std::to_string(max_bad) + "; error percent: 0"));
      for (const json& b : bad) e.extra_errors.push_back(b);
      return bq_fail(std::move(e));
    }
  }
  const std::string write = config.value("writeDisposition", "WRITE_APPEND");
  TableInfo target;
  if (!existing || (write == "WRITE_TRUNCATE" && *fields != existing->fields)) {
    auto created =
        create_table(request.table, *fields, existing ? existing->expiration_ms : std::nullopt,
                     existing ? existing->extra : json::object(), true);
    if (!created) return bq_fail(created.error());
    target = *created;
  } else {
    target = *existing;
    if (write == "WRITE_TRUNCATE" || write == "WRITE_TRUNCATE_DATA") {
      if (auto r = run("DELETE FROM " + quote_ident(request.table.storage_name())); !r) {
        return bq_fail(r.error());
      }
    }
  }
  if (auto r = insert_rows(target, rows); !r) return bq_fail(r.error());
  outcome.output_rows = static_cast<std::int64_t>(rows.size());
  outcome.bad_records = static_cast<std::int64_t>(bad.size());
  outcome.warnings = bad;
  return outcome;
}

}  // namespace rebound::emulator::bigquery::detail
