// The NDJSON load job; see ndjson_load.hpp.
#include "rebound/warehouse/ndjson_load.hpp"

#include <fstream>
#include <iostream>
#include <utility>

#include "rebound/warehouse/identifier.hpp"
#include "rebound/warehouse/open.hpp"

namespace rebound::warehouse {
namespace {

std::unexpected<LoadFailure> stop(LoadStage stage, Error error, std::string warehouse = {},
                                  std::optional<WriteReport> report = std::nullopt) {
  return std::unexpected(LoadFailure{.stage = stage,
                                     .error = std::move(error),
                                     .report = std::move(report),
                                     .warehouse = std::move(warehouse)});
}

// Reads the whole input, but never more than `limit` (+1 byte to tell "at
// the limit" from "over it"): /dev/zero or an endless pipe used to grow
// memory without bound.
std::expected<std::string, LoadFailure> read_all(const std::string& file, std::size_t limit) {
  std::ifstream f;
  std::istream* in = &std::cin;
  if (file != "-") {
    f.open(file, std::ios::binary);
    if (!f) return stop(LoadStage::read, Error::permanent("cannot open " + file));
    in = &f;
  }
  std::string out;
  std::string chunk(1 << 20, '\0');
  while (*in) {
    in->read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    out.append(chunk.data(), static_cast<std::size_t>(in->gcount()));
    if (out.size() > limit) {
      return stop(LoadStage::input_too_large,
                  Error::make(ErrorClass::permanent,
                              "input " + file + " is larger than the limit of " +
                                  std::to_string(limit >> 20) + " MiB; split it into several loads",
                              "rebound", "input_too_large"));
    }
  }
  if (in->bad()) return stop(LoadStage::read, Error::permanent("read error in " + file));
  return out;
}

// Names first: a bad table or key is refused before reading anything.
std::expected<TableName, LoadFailure> check_names(const LoadOptions& o) {
  auto table = parse_table_name(o.table);
  if (!table) return stop(LoadStage::names, std::move(table.error()));
  for (const std::string& k : o.keys) {
    if (auto ok = validate_identifier(k, "key column"); !ok) {
      return stop(LoadStage::names, std::move(ok.error()));
    }
  }
  return std::move(*table);
}

// Refused by rebound itself (a typed refusal, or a URL or setting it could
// not use) or by the back end.
LoadStage open_stage(const Error& e) {
  return e.reason.as<OpenRefusal>() || e.source == "rebound" ? LoadStage::open_refused
                                                             : LoadStage::open_failed;
}

}  // namespace

std::expected<LoadDone, LoadFailure> load_ndjson(const LoadOptions& o,
                                                 const LoadProgress& progress) {
  const auto started = std::chrono::steady_clock::now();
  auto say = [&](const std::string& what, std::uint64_t step) {
    if (progress) progress(what, step, 3);
  };
  auto table = check_names(o);
  if (!table) return std::unexpected(std::move(table.error()));
  say("reading " + o.file + " ...", 0);
  auto text = read_all(o.file, o.max_input_bytes);
  if (!text) return std::unexpected(std::move(text.error()));
  say("parsing and checking " + std::to_string(text->size()) + " bytes ...", 1);
  // One pass from text to typed rows (simdjson), every row type-checked
  // with line numbers before the warehouse is touched.
  auto rows = rows_from_ndjson(*text);
  text->clear();
  text->shrink_to_fit();
  if (!rows) return stop(LoadStage::parse, std::move(rows.error()));
  auto wh = open_warehouse(o.warehouse_url, {.statement_timeout = o.statement_timeout});
  if (!wh) return stop(open_stage(wh.error()), std::move(wh.error()));
  const std::string shown = (*wh)->display_url();
  auto writer = BatchWriter::make(*wh, {.table = o.table,
                                        .keys = o.keys,
                                        .create_table = o.create_table,
                                        .policy = default_write_policy(o.retry_scale)});
  if (!writer) return stop(LoadStage::writer, std::move(writer.error()), shown);
  say("writing " + std::to_string(rows->rows.size()) + " rows into " + table->display() + " ...",
      2);
  WriteOutcome out = writer->write(std::move(*rows));
  out.report.elapsed = std::chrono::steady_clock::now() - started;  // reading included
  if (!out) {
    Error& e = out.status.error();
    const LoadStage stage =
        e.reason.as<WriteRefusal>() ? LoadStage::rows_refused : LoadStage::write_failed;
    return stop(stage, std::move(e), shown, out.report);
  }
  return LoadDone{.report = out.report, .table = table->display(), .warehouse = shown};
}

nlohmann::json load_summary_json(const WriteReport& r, std::string_view table,
                                 std::string_view warehouse) {
  nlohmann::json retries = nlohmann::json::object();
  for (std::size_t c = 0; c < kErrorClassCount; ++c) {
    retries[std::string(to_string(static_cast<ErrorClass>(c)))] = r.retry.failures[c];
  }
  return {
      {"table", table},
      {"warehouse", warehouse},
      {"rows_read", r.rows_read},
      {"duplicates", r.duplicates},
      {"rows_merged", r.rows_merged},
      {"attempts", r.retry.attempts},
      {"retries", r.retry.retries()},
      {"failures_by_class", retries},
      {"slept_ms", std::chrono::duration<double, std::milli>(r.retry.slept).count()},
      {"elapsed_ms", std::chrono::duration<double, std::milli>(r.elapsed).count()},
  };
}

}  // namespace rebound::warehouse
