#include "batch.hpp"

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <optional>
#include <vector>

#include "rebound/warehouse/value.hpp"

namespace rebound::fleet::detail {
namespace {

namespace wh = rebound::warehouse;

// The reference transform on nlohmann::json: it words every error, and the
// fast path below hands it anything unusual so both always agree.
Result<wh::RowSet> parse_batch_reference(const std::string& body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("records") ||
      !doc["records"].is_array()) {
    return fail(Error::permanent("source returned a body that is not {\"records\": [...]}"));
  }
  std::vector<nlohmann::json> rows;
  for (auto& record : doc["records"]) {
    if (!record.is_object() || !record.contains("id") || !record["id"].is_number_integer()) {
      return fail(
          Error::permanent("source record without an integer id: " + record.dump().substr(0, 80)));
    }
    // The transform step of a processor: keep the columns the target has.
    try {
      rows.push_back({{"id", record["id"]},
                      {"name", record.value("name", "")},
                      {"score", record.value("score", 0)}});
    } catch (const nlohmann::json::exception&) {
      return fail(Error::permanent("source record with a mistyped name or score: " +
                                   record.dump().substr(0, 80)));
    }
  }
  return wh::rows_from_json(rows);
}

// The transform on simdjson's DOM (validated in full, no nlohmann objects):
// {"records": [{"id": int, "name"?: string, "score"?: number, ...}, ...]}
// straight to typed rows. nullopt: let the reference path decide.
std::optional<wh::RowSet> parse_batch_fast(const std::string& body) {
  namespace dom = simdjson::dom;
  thread_local dom::parser parser;  // reused: no allocation per batch
  dom::object doc;
  dom::array records;
  if (parser.parse(body).get_object().get(doc) != simdjson::SUCCESS) return std::nullopt;
  int found = 0;  // nlohmann keeps the last of duplicate keys, simdjson the first: refuse both
  for (dom::key_value_pair field : doc) {
    if (field.key == "records" && ++found == 1 &&
        field.value.get_array().get(records) != simdjson::SUCCESS)
      return std::nullopt;
  }
  if (found != 1 || records.size() == 0) return std::nullopt;
  wh::RowSet out;
  bool real_score = false;
  out.rows.reserve(records.size());
  for (dom::element record : records) {
    dom::object fields;
    if (record.get_object().get(fields) != simdjson::SUCCESS) return std::nullopt;
    wh::Row row{wh::Null{}, std::string(), std::int64_t{0}};
    bool seen_id = false, seen_name = false, seen_score = false;
    for (dom::key_value_pair field : fields) {
      const dom::element_type type = field.value.type();
      if (field.key == "id") {
        if (seen_id || type != dom::element_type::INT64) return std::nullopt;
        row[0] = field.value.get_int64().value_unsafe();
        seen_id = true;
      } else if (field.key == "name") {
        if (seen_name || type != dom::element_type::STRING) return std::nullopt;
        row[1] = std::string(field.value.get_string().value_unsafe());
        seen_name = true;
      } else if (field.key == "score") {
        if (seen_score) return std::nullopt;
        if (type == dom::element_type::INT64) {
          row[2] = field.value.get_int64().value_unsafe();
        } else if (type == dom::element_type::DOUBLE) {
          row[2] = field.value.get_double().value_unsafe();
          real_score = true;
        } else {
          return std::nullopt;
        }
        seen_score = true;
      }
    }
    if (!seen_id) return std::nullopt;
    const std::string& name = std::get<std::string>(row[1]);
    if (name.size() > wh::JsonRowsOptions{}.max_text_bytes ||
        std::memchr(name.data(), '\0', name.size()) != nullptr)
      return std::nullopt;
    out.rows.push_back(std::move(row));
  }
  if (real_score) {
    for (wh::Row& row : out.rows) {
      if (const auto* i = std::get_if<std::int64_t>(&row[2])) row[2] = static_cast<double>(*i);
    }
  }
  out.schema.columns = {{.name = "id", .type = wh::ColumnType::integer, .nullable = false},
                        {.name = "name", .type = wh::ColumnType::text, .nullable = false},
                        {.name = "score",
                         .type = real_score ? wh::ColumnType::real : wh::ColumnType::integer,
                         .nullable = false}};
  return out;
}

}  // namespace

Result<wh::RowSet> parse_batch(const std::string& body) {
  if (auto rows = parse_batch_fast(body)) return std::move(*rows);
  return parse_batch_reference(body);
}

}  // namespace rebound::fleet::detail
