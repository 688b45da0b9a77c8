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

std::optional<ColumnType> unify(ColumnType a, ColumnType b) noexcept {
  if (a == b) return a;
  const bool numeric_a = a == ColumnType::integer || a == ColumnType::real;
  const bool numeric_b = b == ColumnType::integer || b == ColumnType::real;
  if (numeric_a && numeric_b) return ColumnType::real;
  return std::nullopt;
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

namespace {

// Pass 1 of rows_from_json: columns in order of first appearance and their
// unified types, every cell checked. One step per method.
class ColumnInference {
 public:
  explicit ColumnInference(const JsonRowsOptions& options) : options_(options) {}

  Status add_object(const nlohmann::json& obj, std::size_t r) {
    if (auto ok = check_object(obj, r); !ok) return ok;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      auto col = column_for(it.key(), r);
      if (!col) return fail(std::move(col.error()));
      auto t = cell_type(it.value(), it.key(), r);
      if (!t) return fail(std::move(t.error()));
      if (!*t) continue;  // null: the column stays nullable, its type open
      if (auto ok = widen(*col, **t, it.value(), it.key(), r); !ok) return ok;
    }
    return {};
  }

  // The schema once every object was added: unseen types are text, a column
  // missing or null in any row is nullable.
  Schema schema(std::size_t rows) && {
    for (std::size_t c = 0; c < schema_.columns.size(); ++c) {
      schema_.columns[c].type = types_[c].value_or(ColumnType::text);
      schema_.columns[c].nullable = present_[c] != rows;
    }
    return std::move(schema_);
  }
  [[nodiscard]] std::size_t index_of(const std::string& name) const { return index_.at(name); }

 private:
  std::string where(std::size_t row) const { return warehouse::where(options_, row); }
  std::string cell(std::size_t row, const std::string& key) const {
    return where(row) + ", column \"" + key + "\"";
  }

  Status check_object(const nlohmann::json& obj, std::size_t r) const {
    if (!obj.is_object()) {
      return fail(Error::permanent(where(r) + ": expected a JSON object, got " + json_kind(obj)));
    }
    if (obj.size() > options_.max_columns) {
      return fail(Error::permanent(where(r) + ": " + std::to_string(obj.size()) +
                                   " columns exceed the limit of " +
                                   std::to_string(options_.max_columns) + " columns per row"));
    }
    return {};
  }

  // The column's index, added (validated, typeless, nullable) on first sight.
  // A hash map, so a row with many columns is linear (Schema::index_of is a
  // scan; 100k columns made it quadratic).
  Result<std::size_t> column_for(const std::string& key, std::size_t r) {
    if (auto found = index_.find(key); found != index_.end()) return found->second;
    if (schema_.columns.size() >= options_.max_columns) {
      return fail(Error::permanent(where(r) + ": more than " +
                                   std::to_string(options_.max_columns) +
                                   " distinct columns across the rows"));
    }
    if (auto ok = validate_identifier(key, "column"); !ok) {
      return fail(Error::permanent(where(r) + ": " + ok.error().message));
    }
    schema_.columns.push_back({.name = key, .type = ColumnType::text, .nullable = true});
    types_.emplace_back();
    first_seen_.push_back(r);
    present_.push_back(0);
    const std::size_t col = schema_.columns.size() - 1;
    index_.emplace(key, col);
    return col;
  }

  // The type of one cell (nullopt for null), or why the cell is refused.
  Result<std::optional<ColumnType>> cell_type(const nlohmann::json& v, const std::string& key,
                                              std::size_t r) const {
    using Json = nlohmann::json;
    switch (v.type()) {
      case Json::value_t::null:
        return std::optional<ColumnType>{};
      case Json::value_t::boolean:
        return ColumnType::boolean;
      case Json::value_t::number_integer:
        return ColumnType::integer;
      case Json::value_t::number_unsigned:
        if (v.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          return fail(Error::permanent(cell(r, key) + ": integer " + v.dump() +
                                       " does not fit a signed 64-bit integer"));
        }
        return ColumnType::integer;
      case Json::value_t::number_float:
        return ColumnType::real;
      case Json::value_t::string:
        if (auto ok = check_text(v.get_ref<const std::string&>(), key, r); !ok) {
          return fail(std::move(ok.error()));
        }
        return ColumnType::text;
      default:
        return fail(Error::permanent(cell(r, key) + ": " + json_kind(v) +
                                     " values are not supported; flatten it or send it "
                                     "as a string"));
    }
  }

  Status check_text(const std::string& s, const std::string& key, std::size_t r) const {
    if (s.size() > options_.max_text_bytes) {
      return fail(Error::permanent(cell(r, key) + ": text value of " + std::to_string(s.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(options_.max_text_bytes) + " bytes"));
    }
    if (std::memchr(s.data(), '\0', s.size()) != nullptr) {
      return fail(Error::permanent(cell(r, key) + ": text contains a NUL byte, which the "
                                                  "warehouse cannot store"));
    }
    return {};
  }

  // Folds a non-null cell's type into its column's (unify()).
  Status widen(std::size_t col, ColumnType t, const nlohmann::json& v, const std::string& key,
               std::size_t r) {
    ++present_[col];
    std::optional<ColumnType>& slot = types_[col];
    if (!slot) {
      slot = t;
      first_seen_[col] = r;
      return {};
    }
    auto unified = unify(*slot, t);
    if (!unified) {
      return fail(Error::permanent(cell(r, key) + ": " + json_kind(v) + " value " +
                                   v.dump().substr(0, 60) + " does not match the column's type " +
                                   std::string(to_string(*slot)) + " (set by " +
                                   where(first_seen_[col]) + ")"));
    }
    slot = unified;
    return {};
  }

  const JsonRowsOptions& options_;
  Schema schema_;
  std::vector<std::optional<ColumnType>> types_;
  std::vector<std::size_t> first_seen_;  // row that fixed the column's type, for messages
  std::vector<std::size_t> present_;     // rows that have a non-null value
  std::unordered_map<std::string, std::size_t> index_;
};

// Pass 2 of rows_from_json: one object's cells in schema order, typed by the
// column (integers widen to real where the column is real; null stays Null).
Row typed_row(const nlohmann::json& obj, const Schema& schema, const ColumnInference& columns) {
  using Json = nlohmann::json;
  Row row(schema.columns.size());
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::size_t c = columns.index_of(it.key());
    const Json& v = it.value();
    switch (v.type()) {
      case Json::value_t::boolean:
        row[c] = v.get<bool>();
        break;
      case Json::value_t::number_integer:
      case Json::value_t::number_unsigned:
        if (schema.columns[c].type == ColumnType::real) {
          row[c] = v.get<double>();
        } else {
          row[c] = v.get<std::int64_t>();
        }
        break;
      case Json::value_t::number_float:
        row[c] = v.get<double>();
        break;
      case Json::value_t::string:
        row[c] = v.get<std::string>();
        break;
      default:
        break;  // null stays Null
    }
  }
  return row;
}

}  // namespace

Result<RowSet> rows_from_json(std::span<const nlohmann::json> objects,
                              const JsonRowsOptions& options) {
  ColumnInference columns(options);
  for (std::size_t r = 0; r < objects.size(); ++r) {
    if (auto ok = columns.add_object(objects[r], r); !ok) return fail(std::move(ok.error()));
  }
  RowSet out;
  out.schema = std::move(columns).schema(objects.size());
  out.rows.reserve(objects.size());
  for (const nlohmann::json& obj : objects) out.rows.push_back(typed_row(obj, out.schema, columns));
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
