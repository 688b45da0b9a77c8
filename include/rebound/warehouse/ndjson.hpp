// NDJSON input — newline-delimited JSON objects, parsed whole before anything
// is written, with errors that name the line and column.
//
//   auto in = rebound::warehouse::parse_ndjson(text);
//   if (!in) std::cerr << in.error().message;  // line 4, column 19: malformed JSON (...)
//   auto rows = rebound::warehouse::rows_from_json(in->objects, {.source_lines = in->lines});
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

namespace rebound::warehouse {

struct NdjsonInput {
  std::vector<nlohmann::json> objects;
  std::vector<std::size_t> lines;  // 1-based input line of each object
};

struct NdjsonOptions {
  std::size_t threads = 0;  // 0: hardware concurrency (serial for small inputs)
};

// Errors (permanent): "line N, column C: malformed JSON (<reason>)".
[[nodiscard]] Result<NdjsonInput> parse_ndjson(std::string_view text,
                                               const NdjsonOptions& options = {});

}  // namespace rebound::warehouse
