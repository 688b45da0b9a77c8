// NDJSON text straight to typed rows with simdjson On Demand: no
// nlohmann::json object per line, one pass that infers the column types and
// stores the cells, then one fix-up pass that widens integers in real columns.
//
// Only clean input takes this path. Anything the fast path would have to
// describe — malformed JSON, a type conflict, a nested value, an oversized or
// NUL-carrying text, a key that is not a valid column name, a duplicate key,
// a number outside int64 — sends the whole input through the reference path
// (parse_ndjson + rows_from_json), which produces exactly the line/column
// messages users already rely on. Errors are the cold path; paying one
// nlohmann parse for them keeps the messages identical by construction.
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>

#include "rebound/warehouse/identifier.hpp"
#include "rebound/warehouse/ndjson.hpp"

namespace rebound::warehouse {
namespace {

namespace od = simdjson::ondemand;

struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct ColumnState {
  std::optional<ColumnType> type;
  std::size_t present = 0;   // rows with a non-null value
  std::size_t last_row = 0;  // 1 + the last row that had this key (duplicate check)
  bool saw_integer = false;  // an integer cell was stored (widened if the column is real)
};

class FastRows {
 public:
  explicit FastRows(const JsonRowsOptions& options) : options_(options) {}

  // False: this input needs the reference path (see the file comment).
  bool parse(std::string_view text) {
    const simdjson::padded_string padded(text);
    std::size_t number = 0;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::size_t len = end - pos;
      ++number;
      if (len > 0 && text[pos + len - 1] == '\r') --len;
      const std::string_view line = text.substr(pos, len);
      if (line.find_first_not_of(" \t") != std::string_view::npos) {
        // The line sits inside the padded copy, so the bytes after it are
        // readable padding as far as simdjson is concerned.
        if (!parse_line(padded.data() + pos, len, padded.size() + simdjson::SIMDJSON_PADDING - pos))
          return false;
      }
      pos = end + 1;
    }
    finish();
    return true;
  }

  RowSet take() { return std::move(out_); }

 private:
  bool parse_line(const char* data, std::size_t len, std::size_t capacity) {
    od::document doc;
    if (parser_.iterate(data, len, capacity).get(doc) != simdjson::SUCCESS) return false;
    od::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) return false;
    const std::size_t row_number = out_.rows.size() + 1;
    const std::size_t first_new = out_.schema.columns.size();
    cells_.clear();
    std::size_t position = 0;
    for (auto field_result : object) {
      od::field field;
      std::string_view key;
      if (std::move(field_result).get(field) != simdjson::SUCCESS ||
          field.unescaped_key().get(key) != simdjson::SUCCESS)
        return false;
      const std::optional<std::size_t> column = column_for(key, position++);
      if (!column) return false;
      ColumnState& state = states_[*column];
      if (state.last_row == row_number) return false;  // duplicate key: last one wins there
      state.last_row = row_number;
      if (!read_value(field.value(), *column)) return false;
    }
    // Anything after the object (a second value, garbage) is malformed.
    if (const char* rest = nullptr; doc.current_location().get(rest) == simdjson::SUCCESS)
      return false;
    // nlohmann keeps object keys sorted, so the reference path adds the new
    // columns of one object in key order: do the same.
    if (out_.schema.columns.size() - first_new > 1) sort_new_columns(first_new);
    Row row(out_.schema.columns.size());
    for (auto& [c, value] : cells_) row[c] = std::move(value);
    out_.rows.push_back(std::move(row));
    return true;
  }

  // The column of `key`, created on first sight; nullopt for a bad name.
  std::optional<std::size_t> column_for(std::string_view key, std::size_t position) {
    // Rows usually repeat the previous row's key order: try that first.
    if (position < last_order_.size()) {
      const std::size_t guess = last_order_[position];
      if (out_.schema.columns[guess].name == key) return guess;
    }
    std::size_t column = 0;
    if (auto it = index_.find(key); it != index_.end()) {
      column = it->second;
    } else {
      if (!validate_identifier(key, "column")) return std::nullopt;
      column = out_.schema.columns.size();
      out_.schema.columns.push_back(
          {.name = std::string(key), .type = ColumnType::text, .nullable = true});
      states_.emplace_back();
      index_.emplace(std::string(key), column);
    }
    if (position >= last_order_.size()) last_order_.resize(position + 1);
    last_order_[position] = column;
    return column;
  }

  bool read_value(od::value value, std::size_t column) {
    od::json_type type{};
    if (value.type().get(type) != simdjson::SUCCESS) return false;
    switch (type) {
      case od::json_type::null: {
        bool null = false;
        return value.is_null().get(null) == simdjson::SUCCESS && null;
      }
      case od::json_type::boolean: {
        bool b = false;
        if (value.get_bool().get(b) != simdjson::SUCCESS) return false;
        return store(column, ColumnType::boolean, b);
      }
      case od::json_type::number:
        return read_number(value, column);
      case od::json_type::string: {
        std::string_view s;
        if (value.get_string().get(s) != simdjson::SUCCESS) return false;
        if (s.size() > options_.max_text_bytes || std::memchr(s.data(), '\0', s.size()) != nullptr)
          return false;
        return store(column, ColumnType::text, std::string(s));
      }
      default:
        return false;  // objects and arrays are refused with a message
    }
  }

  bool read_number(od::value value, std::size_t column) {
    od::number_type kind{};
    if (value.get_number_type().get(kind) != simdjson::SUCCESS) return false;
    switch (kind) {
      case od::number_type::signed_integer: {
        std::int64_t i = 0;
        if (value.get_int64().get(i) != simdjson::SUCCESS) return false;
        return store(column, ColumnType::integer, i);
      }
      case od::number_type::unsigned_integer: {
        std::uint64_t u = 0;
        if (value.get_uint64().get(u) != simdjson::SUCCESS ||
            u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          return false;
        return store(column, ColumnType::integer, static_cast<std::int64_t>(u));
      }
      case od::number_type::floating_point_number: {
        double d = 0;
        if (value.get_double().get(d) != simdjson::SUCCESS) return false;
        return store(column, ColumnType::real, d);
      }
      default:
        return false;  // big integers: the reference path decides
    }
  }

  bool store(std::size_t column, ColumnType type, Value value) {
    ColumnState& state = states_[column];
    if (!state.type) {
      state.type = type;
    } else {
      const auto unified = unify(*state.type, type);
      if (!unified) return false;
      state.type = unified;
    }
    ++state.present;
    if (type == ColumnType::integer) state.saw_integer = true;
    cells_.emplace_back(column, std::move(value));
    return true;
  }

  void sort_new_columns(std::size_t first_new) {
    auto& columns = out_.schema.columns;
    std::vector<std::size_t> order(columns.size() - first_new);
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = first_new + i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return columns[a].name < columns[b].name; });
    std::vector<std::size_t> remap(columns.size());
    for (std::size_t i = 0; i < columns.size(); ++i) remap[i] = i;
    std::vector<Column> sorted_columns;
    std::vector<ColumnState> sorted_states;
    for (std::size_t i = 0; i < order.size(); ++i) {
      remap[order[i]] = first_new + i;
      sorted_columns.push_back(std::move(columns[order[i]]));
      sorted_states.push_back(states_[order[i]]);
    }
    for (std::size_t i = 0; i < order.size(); ++i) {
      columns[first_new + i] = std::move(sorted_columns[i]);
      states_[first_new + i] = sorted_states[i];
      index_[columns[first_new + i].name] = first_new + i;
    }
    for (auto& cell : cells_) cell.first = remap[cell.first];
    for (auto& c : last_order_) c = remap[c];
  }

  void finish() {
    const std::size_t width = out_.schema.columns.size();
    for (std::size_t c = 0; c < width; ++c) {
      out_.schema.columns[c].type = states_[c].type.value_or(ColumnType::text);
      out_.schema.columns[c].nullable = states_[c].present != out_.rows.size();
    }
    for (Row& row : out_.rows) {
      row.resize(width);
      for (std::size_t c = 0; c < width; ++c) {
        if (out_.schema.columns[c].type != ColumnType::real || !states_[c].saw_integer) continue;
        if (const auto* i = std::get_if<std::int64_t>(&row[c])) row[c] = static_cast<double>(*i);
      }
    }
  }

  const JsonRowsOptions& options_;
  od::parser parser_;
  RowSet out_;
  std::vector<ColumnState> states_;
  std::unordered_map<std::string, std::size_t, NameHash, std::equal_to<>> index_;
  std::vector<std::size_t> last_order_;               // column seen at each key position
  std::vector<std::pair<std::size_t, Value>> cells_;  // the current row's cells
};

}  // namespace

Result<RowSet> rows_from_ndjson(std::string_view text, const JsonRowsOptions& options) {
  FastRows fast(options);
  if (fast.parse(text)) return fast.take();
  auto input = parse_ndjson(text);
  if (!input) return fail(input.error());
  return rows_from_json(input->objects,
                        {.max_text_bytes = options.max_text_bytes, .source_lines = input->lines});
}

}  // namespace rebound::warehouse
