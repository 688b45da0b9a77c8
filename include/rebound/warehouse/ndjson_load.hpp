// NDJSON load — the `rebound load` job as a library call: check the table
// and key names, read an NDJSON file (or stdin) up to the input limit, parse
// and type-check every row (line numbers in errors), open the warehouse and
// upsert all rows with the BatchWriter in one retried MERGE: all or nothing.
//
//   auto done = rebound::warehouse::load_ndjson({.file = "rows.ndjson",
//                                                .warehouse_url = "/tmp/stats.db",
//                                                .table = "stats", .keys = {"day"},
//                                                .create_table = true});
//   if (done) done->report.rows_merged;
//   else done.error().stage;   // which step failed, done.error().error says why
//
// Nothing reaches the warehouse before every line is read and every row is
// valid. The stage of a failure says whose fault it is (LoadStage), so a
// caller maps it (the CLI's exit codes) without reading the message.
//
// Thread safety: load_ndjson is reentrant; call it from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"
#include "rebound/warehouse/batch_writer.hpp"
#include "rebound/warehouse/ndjson.hpp"

namespace rebound::warehouse {

struct LoadOptions {
  std::string file;           // NDJSON path, or "-" for stdin
  std::string warehouse_url;  // as open_warehouse takes it
  std::string table;          // `table` or `schema.table`
  std::vector<std::string> keys;
  bool create_table = false;
  double retry_scale = 1.0;                               // default_write_policy(retry_scale)
  Duration statement_timeout = std::chrono::seconds{60};  // PostgreSQL, per attempt
  std::size_t max_input_bytes = kDefaultMaxInputBytes;
};

// Where a load stopped, and so whose fault it was.
enum class LoadStage : std::uint8_t {
  names,            // a table or key name was refused (nothing read)
  read,             // the file could not be opened or read
  input_too_large,  // the input is over max_input_bytes
  parse,            // a line is malformed or a row does not type-check
  open_refused,     // rebound refused the URL or its settings (nothing tried)
  open_failed,      // the back end could not be opened
  writer,           // the writer refused its options
  rows_refused,     // the rows do not fit the table (a WriteRefusal; nothing written)
  write_failed,     // the back end failed the write after retries (nothing written)
};

struct LoadFailure {
  LoadStage stage = LoadStage::names;
  Error error;
  std::optional<WriteReport> report;  // for rows_refused and write
  std::string warehouse;              // display URL once opened, else empty
};

struct LoadDone {
  WriteReport report;     // elapsed: from the start of reading
  std::string table;      // display form
  std::string warehouse;  // display URL (password redacted)
};

// Called before each of the three steps (0: reading, 1: parsing and
// checking, 2: writing) with what it is about to do.
using LoadProgress =
    std::function<void(const std::string& what, std::uint64_t step, std::uint64_t steps)>;

[[nodiscard]] std::expected<LoadDone, LoadFailure> load_ndjson(const LoadOptions& options,
                                                               const LoadProgress& progress = {});

// The summary of a write: {"table", "warehouse", "rows_read", "duplicates",
// "rows_merged", "attempts", "retries", "failures_by_class", "slept_ms",
// "elapsed_ms"}.
[[nodiscard]] nlohmann::json load_summary_json(const WriteReport& report, std::string_view table,
                                               std::string_view warehouse);

}  // namespace rebound::warehouse
