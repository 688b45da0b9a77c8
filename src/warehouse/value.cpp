// JSON -> RowSet conversion and schema conformance: all validation happens
// here, before anything touches a back end, so bad input never half-writes.
#include "rebound/warehouse/value.hpp"

#include <charconv>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "rebound/warehouse/identifier.hpp"

namespace rebound::warehouse {
namespace {

std::string where(const JsonRowsOptions& o, std::size_t row) {
  if (row < o.source_lines.size()) return "line " + std::to_string(o.source_lines[row]);
  return "row " + std::to_string(row + 1);
}

std::string json_kind(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "integer";
    case nlohmann::json::value_t::number_float:
      return "real";
    case nlohmann::json::value_t::string:
      return "text";
    case nlohmann::json::value_t::object:
      return "object";
    case nlohmann::json::value_t::array:
      return "array";
    default:
      return "unsupported value";
  }
}

// Which inferred types may share a column: integer + real widen to real;
// anything else is a conflict.
std::optional<ColumnType> unify(ColumnType a, ColumnType b) {
  if (a == b) return a;
  const bool numeric_a = a == ColumnType::integer || a == ColumnType::real;
  const bool numeric_b = b == ColumnType::integer || b == ColumnType::real;
  if (numeric_a && numeric_b) return ColumnType::real;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(ColumnType t) noexcept {
  switch (t) {
    case ColumnType::boolean:
      return "boolean";
    case ColumnType::integer:
      return "integer";
    case ColumnType::real:
      return "real";
    case ColumnType::text:
      return "text";
  }
  return "unknown";
}

std::optional<ColumnType> type_of(const Value& v) noexcept {
  switch (v.index()) {
    case 1:
      return ColumnType::boolean;
    case 2:
      return ColumnType::integer;
    case 3:
      return ColumnType::real;
    case 4:
      return ColumnType::text;
    default:
      return std::nullopt;
  }
}

std::string to_display(const Value& v) {
  if (is_null(v)) return "null";
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const double* d = std::get_if<double>(&v)) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, *d);
    return std::string(buf, r.ptr);
  }
  const std::string& s = std::get<std::string>(v);
  if (s.size() > 40)
    return "\"" + s.substr(0, 40) + "...\" (" + std::to_string(s.size()) + " bytes)";
  return "\"" + s + "\"";
}

std::optional<std::size_t> Schema::index_of(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return i;
  }
  return std::nullopt;
}

const Column* Schema::find(std::string_view name) const noexcept {
  auto i = index_of(name);
  return i ? &columns[*i] : nullptr;
}

std::string Schema::describe() const {
  std::string out;
  for (const Column& c : columns) {
    if (!out.empty()) out += ", ";
    out += c.name + " " + std::string(to_string(c.type));
    if (!c.nullable) out += " not null";
  }
  return out;
}

Result<RowSet> rows_from_json(std::span<const nlohmann::json> objects,
                              const JsonRowsOptions& options) {
  RowSet out;
  // Pass 1: columns in order of first appearance, and their unified types.
  std::vector<std::optional<ColumnType>> types;
  std::vector<std::size_t> first_seen;  // row that fixed the column's type, for messages
  std::vector<std::size_t> present;     // rows that have a non-null value
  // Column lookup by name: a hash map, so a row with many columns is linear
  // (Schema::index_of is a scan; 100k columns made it quadratic).
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t r = 0; r < objects.size(); ++r) {
    const nlohmann::json& obj = objects[r];
    if (!obj.is_object()) {
      return fail(
          Error::permanent(where(options, r) + ": expected a JSON object, got " + json_kind(obj)));
    }
    if (obj.size() > options.max_columns) {
      return fail(Error::permanent(where(options, r) + ": " + std::to_string(obj.size()) +
                                   " columns exceed the limit of " +
                                   std::to_string(options.max_columns) + " columns per row"));
    }
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      std::optional<std::size_t> col;
      if (auto found = index.find(it.key()); found != index.end()) col = found->second;
      if (!col) {
        if (out.schema.columns.size() >= options.max_columns) {
          return fail(Error::permanent(where(options, r) + ": more than " +
                                       std::to_string(options.max_columns) +
                                       " distinct columns across the rows"));
        }
        if (auto ok = validate_identifier(it.key(), "column"); !ok) {
          return fail(Error::permanent(where(options, r) + ": " + ok.error().message));
        }
        out.schema.columns.push_back(
            {.name = it.key(), .type = ColumnType::text, .nullable = true});
        types.emplace_back();
        first_seen.push_back(r);
        present.push_back(0);
        col = out.schema.columns.size() - 1;
        index.emplace(it.key(), *col);
      }
      const nlohmann::json& v = it.value();
      std::optional<ColumnType> t;
      switch (v.type()) {
        case nlohmann::json::value_t::null:
          continue;
        case nlohmann::json::value_t::boolean:
          t = ColumnType::boolean;
          break;
        case nlohmann::json::value_t::number_integer:
          t = ColumnType::integer;
          break;
        case nlohmann::json::value_t::number_unsigned:
          if (v.get<std::uint64_t>() >
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return fail(Error::permanent(where(options, r) + ", column \"" + it.key() +
                                         "\": integer " + v.dump() +
                                         " does not fit a signed 64-bit integer"));
          }
          t = ColumnType::integer;
          break;
        case nlohmann::json::value_t::number_float:
          t = ColumnType::real;
          break;
        case nlohmann::json::value_t::string: {
          const auto& s = v.get_ref<const std::string&>();
          if (s.size() > options.max_text_bytes) {
            return fail(Error::permanent(where(options, r) + ", column \"" + it.key() +
                                         "\": text value of " + std::to_string(s.size()) +
                                         " bytes exceeds the limit of " +
                                         std::to_string(options.max_text_bytes) + " bytes"));
          }
          if (std::memchr(s.data(), '\0', s.size()) != nullptr) {
            return fail(Error::permanent(where(options, r) + ", column \"" + it.key() +
                                         "\": text contains a NUL byte, which the "
                                         "warehouse cannot store"));
          }
          t = ColumnType::text;
          break;
        }
        default:
          return fail(Error::permanent(where(options, r) + ", column \"" + it.key() +
                                       "\": " + json_kind(v) +
                                       " values are not supported; flatten it or send it "
                                       "as a string"));
      }
      ++present[*col];
      std::optional<ColumnType>& slot = types[*col];
      if (!slot) {
        slot = t;
        first_seen[*col] = r;
        continue;
      }
      auto unified = unify(*slot, *t);
      if (!unified) {
        return fail(Error::permanent(
            where(options, r) + ", column \"" + it.key() + "\": " + json_kind(v) + " value " +
            v.dump().substr(0, 60) + " does not match the column's type " +
            std::string(to_string(*slot)) + " (set by " + where(options, first_seen[*col]) + ")"));
      }
      slot = unified;
    }
  }
  for (std::size_t c = 0; c < out.schema.columns.size(); ++c) {
    out.schema.columns[c].type = types[c].value_or(ColumnType::text);
    out.schema.columns[c].nullable = present[c] != objects.size();
  }
  // Pass 2: cells, typed by the column (integers widen to real where needed).
  out.rows.reserve(objects.size());
  const std::size_t width = out.schema.columns.size();
  for (const nlohmann::json& obj : objects) {
    Row row(width);
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::size_t c = index.at(it.key());
      const nlohmann::json& v = it.value();
      switch (v.type()) {
        case nlohmann::json::value_t::boolean:
          row[c] = v.get<bool>();
          break;
        case nlohmann::json::value_t::number_integer:
        case nlohmann::json::value_t::number_unsigned:
          if (out.schema.columns[c].type == ColumnType::real) {
            row[c] = v.get<double>();
          } else {
            row[c] = v.get<std::int64_t>();
          }
          break;
        case nlohmann::json::value_t::number_float:
          row[c] = v.get<double>();
          break;
        case nlohmann::json::value_t::string:
          row[c] = v.get<std::string>();
          break;
        default:
          break;  // null stays Null
      }
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

Result<RowSet> conform(RowSet rows, const Schema& table, std::string_view table_name,
                       std::span<const std::string> keys) {
  Schema typed;
  std::vector<std::string> names;
  for (const Column& c : table.columns) names.push_back(c.name);
  for (const Column& c : rows.schema.columns) {
    const Column* target = table.find(c.name);
    if (!target) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      return fail(Error::permanent("column \"" + c.name + "\" does not exist in table " +
                                   std::string(table_name) + " (its columns: " + list + ")"));
    }
    typed.columns.push_back(*target);
  }
  for (const std::string& key : keys) {
    if (!rows.schema.find(key)) {
      return fail(Error::permanent("key column \"" + key + "\" is missing from the rows"));
    }
  }
  for (std::size_t r = 0; r < rows.rows.size(); ++r) {
    Row& row = rows.rows[r];
    for (std::size_t c = 0; c < row.size(); ++c) {
      Value& v = row[c];
      const Column& col = typed.columns[c];
      auto t = type_of(v);
      if (!t) {
        if (!col.nullable) {
          return fail(Error::permanent("row " + std::to_string(r + 1) + ": column \"" + col.name +
                                       "\" of " + std::string(table_name) +
                                       " is not null, but the value is null or missing"));
        }
        continue;
      }
      if (*t == col.type) continue;
      if (*t == ColumnType::integer && col.type == ColumnType::real) {
        v = static_cast<double>(std::get<std::int64_t>(v));
        continue;
      }
      return fail(Error::permanent("row " + std::to_string(r + 1) + ": column \"" + col.name +
                                   "\" of " + std::string(table_name) + " has type " +
                                   std::string(to_string(col.type)) + ", but the value " +
                                   to_display(v) + " is " + std::string(to_string(*t))));
    }
    for (const std::string& key : keys) {
      if (is_null(row[*rows.schema.index_of(key)])) {
        return fail(Error::permanent("row " + std::to_string(r + 1) + ": key column \"" + key +
                                     "\" is null or missing; every row needs all keys"));
      }
    }
  }
  rows.schema = std::move(typed);
  return rows;
}

}  // namespace rebound::warehouse
