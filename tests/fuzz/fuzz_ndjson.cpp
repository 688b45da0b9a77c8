// Fuzzer: NDJSON text -> objects -> rows (parse_ndjson, rows_from_json).
// Properties: no crash, leak or UB; a parsed input yields one row per
// object; every cell is null or has its column's type; an integer cell never
// came from a literal outside int64 (it would have been refused).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rebound/warehouse/ndjson.hpp"
#include "rebound/warehouse/value.hpp"

using namespace rebound::warehouse;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto in =
      parse_ndjson(text, {.threads = 1, .max_input_bytes = 1 << 20, .max_line_bytes = 1 << 16});
  if (!in) {
    if (in.error().message.empty()) std::abort();
    return 0;
  }
  if (in->objects.size() != in->lines.size()) std::abort();
  auto rows = rows_from_json(
      in->objects, {.max_text_bytes = 1 << 16, .max_columns = 64, .source_lines = in->lines});
  if (!rows) {
    if (rows.error().message.empty()) std::abort();
    return 0;
  }
  if (rows->rows.size() != in->objects.size()) std::abort();
  for (const Row& row : rows->rows) {
    if (row.size() != rows->schema.columns.size()) std::abort();
    for (std::size_t c = 0; c < row.size(); ++c) {
      const auto t = type_of(row[c]);
      if (!t) {
        if (!rows->schema.columns[c].nullable) std::abort();
        continue;
      }
      if (*t != rows->schema.columns[c].type) std::abort();
    }
  }
  return 0;
}
