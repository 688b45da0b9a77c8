// NDJSON input — newline-delimited JSON objects, parsed whole before anything
// is written, with errors that name the line and column.
//
//   auto in = rebound::warehouse::parse_ndjson(text);
//   if (!in) std::cerr << in.error().message;  // line 4, column 19: malformed JSON (...)
//   auto rows = rebound::warehouse::rows_from_json(in->objects, {.source_lines = in->lines});
//   auto same = rebound::warehouse::rows_from_ndjson(text);   // one step, no JSON objects
//
// Blank lines (and a trailing "\r") are skipped; line numbers count every
// line, so they match an editor's. Columns are 1-based bytes within the line.
// Large inputs are parsed on several threads (contiguous line ranges); the
// error reported is always the first malformed line, as a serial parse would.
//
// Thread safety: pure function.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rebound/core/error.hpp"
#include "rebound/warehouse/value.hpp"

namespace rebound::warehouse {

struct NdjsonInput {
  std::vector<nlohmann::json> objects;
  std::vector<std::size_t> lines;  // 1-based input line of each object
};

// Limits. Parsed JSON takes about ten times its text in memory (an 80 MB
// file peaks near 850 MB), so the whole input is capped; a single line is
// capped too, so one absurd row fails fast with its line number.
inline constexpr std::size_t kDefaultMaxInputBytes = std::size_t{256} << 20;  // 256 MiB
inline constexpr std::size_t kDefaultMaxLineBytes = std::size_t{64} << 20;    // 64 MiB

struct NdjsonOptions {
  std::size_t threads = 0;  // 0: hardware concurrency (serial for small inputs)
  std::size_t max_input_bytes = kDefaultMaxInputBytes;
  std::size_t max_line_bytes = kDefaultMaxLineBytes;
};

// Errors (permanent): "line N, column C: malformed JSON (<reason>)";
// "line N, column C: integer … does not fit a signed 64-bit integer" for an
// integer literal below -2^63 or at/above 2^64 (nlohmann would silently turn
// it into a double; 2^63 .. 2^64-1 is refused later by rows_from_json);
// input or line larger than the limits above.
[[nodiscard]] Result<NdjsonInput> parse_ndjson(std::string_view text,
                                               const NdjsonOptions& options = {});

// NDJSON text straight to typed rows (simdjson On Demand: no JSON object per
// line, ~10x less CPU than parse_ndjson + rows_from_json). Returns exactly
// what rows_from_json(parse_ndjson(text)->objects, {.source_lines = lines})
// returns — the same schema (column order included), cells and error
// messages naming the line and column: input the fast path would have to
// refuse is handed to that reference path, which words the error.
// `options.source_lines` is ignored (the lines are the text's own).
[[nodiscard]] Result<RowSet> rows_from_ndjson(std::string_view text,
                                              const JsonRowsOptions& options = {});

}  // namespace rebound::warehouse
