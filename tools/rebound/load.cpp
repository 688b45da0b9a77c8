// rebound load — the batch writer as a tool:
//   rebound load FILE.ndjson --into URL --table T --key a,b [--create] [--json]
// Reads every line and validates every row before the first write, then
// writes them all in one retried MERGE (all or nothing). See docs/warehouse.md.

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_output.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "rebound/warehouse/batch_writer.hpp"
#include "rebound/warehouse/ndjson.hpp"
#include "rebound/warehouse/open.hpp"

namespace rebound::cli {
namespace {

struct LoadArgs {
  std::string file;
  std::string into;
  std::string table;
  std::vector<std::string> keys;
  bool create = false;
  bool json = false;
  double retry_scale = 1.0;
  double statement_timeout_s = 60;
};

// Reads the whole input, but never more than the NDJSON limit (+1 byte to
// tell "at the limit" from "over it"): /dev/zero or an endless pipe used to
// grow memory without bound.
Result<std::string> read_all(const std::string& file, std::size_t limit) {
  std::ifstream f;
  std::istream* in = &std::cin;
  if (file != "-") {
    f.open(file, std::ios::binary);
    if (!f) return fail(Error::permanent("cannot open " + file));
    in = &f;
  }
  std::string out;
  std::string chunk(1 << 20, '\0');
  while (*in) {
    in->read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    out.append(chunk.data(), static_cast<std::size_t>(in->gcount()));
    if (out.size() > limit) {
      return fail(Error::make(ErrorClass::permanent,
                              "input " + file + " is larger than the limit of " +
                                  std::to_string(limit >> 20) + " MiB; split it into several loads",
                              "rebound", "input_too_large"));
    }
  }
  if (in->bad()) return fail(Error::permanent("read error in " + file));
  return out;
}

std::vector<std::string> split_keys(const std::vector<std::string>& raw) {
  std::vector<std::string> keys;
  for (const std::string& item : raw) {
    std::size_t start = 0;
    while (start <= item.size()) {
      const std::size_t comma = item.find(',', start);
      const std::size_t end = comma == std::string::npos ? item.size() : comma;
      keys.push_back(item.substr(start, end - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return keys;
}

// Rows the writer refused (a typed WriteRefusal) are bad input; any other
// failure of the write came from the back end.
int exit_code_for(const Error& e) {
  return e.reason.as<warehouse::WriteRefusal>() ? kBadInput : kBackendError;
}

nlohmann::json summary_json(const LoadArgs& args, const warehouse::WriteReport& r,
                            std::string_view warehouse_url) {
  nlohmann::json retries = nlohmann::json::object();
  for (std::size_t c = 0; c < kErrorClassCount; ++c) {
    retries[std::string(to_string(static_cast<ErrorClass>(c)))] = r.retry.failures[c];
  }
  return {
      {"table", args.table},
      {"warehouse", warehouse_url},
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

int report_error(const LoadArgs& args, const Error& e, int code, const warehouse::WriteReport* r,
                 std::string_view url) {
  std::cerr << "rebound load: " << e.message << "\n";
  if (args.json) {
    nlohmann::json j = r ? summary_json(args, *r, url) : nlohmann::json::object();
    j["ok"] = false;
    j["error"] = e.message;
    j["error_class"] = std::string(to_string(e.error_class));
    j["exit_code"] = code;
    std::cout << json_text(j) << "\n";
  }
  return code;
}

int run_load(const LoadArgs& args) {
  const auto started = std::chrono::steady_clock::now();
  // Names first: a bad --table or --key is a usage error, caught before reading anything.
  auto table = warehouse::parse_table_name(args.table);
  if (!table) return report_error(args, table.error(), kUsage, nullptr, {});
  const std::vector<std::string> keys = split_keys(args.keys);
  for (const std::string& k : keys) {
    if (auto ok = warehouse::validate_identifier(k, "key column"); !ok) {
      return report_error(args, ok.error(), kUsage, nullptr, {});
    }
  }

  // A bar over the load's three phases (read, parse and check, write).
  ProgressBar progress(true);
  progress.show("reading " + args.file + " ...", 0, 3);
  auto text = read_all(args.file, warehouse::kDefaultMaxInputBytes);
  if (!text) {
    progress.clear();
    const int code = text.error().code == "input_too_large" ? kBadInput : kUsage;
    return report_error(args, text.error(), code, nullptr, {});
  }
  progress.show("parsing and checking " + std::to_string(text->size()) + " bytes ...", 1, 3);
  // One pass from text to typed rows (simdjson), every row type-checked
  // with line numbers before the warehouse is touched.
  auto rows = warehouse::rows_from_ndjson(*text);
  text->clear();
  text->shrink_to_fit();
  if (!rows) {
    progress.clear();
    return report_error(args, rows.error(), kBadInput, nullptr, {});
  }

  const auto statement_timeout =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(args.statement_timeout_s));
  auto wh = warehouse::open_warehouse(args.into, {.statement_timeout = statement_timeout});
  if (!wh) {
    progress.clear();
    // Refused by rebound itself (a typed refusal, or a URL/config it could
    // not use): a usage error; anything the back end said is exit 4.
    const Error& e = wh.error();
    const int code =
        e.reason.as<warehouse::OpenRefusal>() || e.source == "rebound" ? kUsage : kBackendError;
    return report_error(args, wh.error(), code, nullptr, {});
  }
  auto writer = warehouse::BatchWriter::make(
      *wh, {.table = args.table,
            .keys = keys,
            .create_table = args.create,
            .policy = warehouse::default_write_policy(args.retry_scale)});
  if (!writer) {
    progress.clear();
    return report_error(args, writer.error(), kUsage, nullptr, (*wh)->display_url());
  }
  progress.show(
      "writing " + std::to_string(rows->rows.size()) + " rows into " + table->display() + " ...", 2,
      3);
  warehouse::WriteOutcome out = writer->write(std::move(*rows));
  progress.clear();
  out.report.elapsed = std::chrono::steady_clock::now() - started;  // include reading
  if (!out) {
    const Error& e = out.status.error();
    return report_error(args, e, exit_code_for(e), &out.report, (*wh)->display_url());
  }
  if (args.json) {
    nlohmann::json j = summary_json(args, out.report, (*wh)->display_url());
    j["ok"] = true;
    std::cout << json_text(j) << "\n";
  } else {
    std::cout << "merged " << out.report.rows_merged << " rows into " << table->display() << " ("
              << out.report.rows_read << " read, " << out.report.duplicates << " duplicate keys, "
              << out.report.retry.attempts << " attempt(s)) in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(out.report.elapsed).count()
              << " ms\n";
  }
  return kOk;
}

}  // namespace

void add_load_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<LoadArgs>();
  CLI::App* cmd = app.add_subcommand(
      "load", "Upsert NDJSON rows into a warehouse table with the retry-safe batch writer");
  cmd->add_option("file", args->file, "NDJSON input, one object per line ('-' for stdin)")
      ->required();
  cmd->add_option("--into", args->into,
                  "warehouse URL: a file path, sqlite:///path, postgresql://user@host/db or "
                  "bigquery://PROJECT/DATASET?location=EU")
      ->required();
  cmd->add_option("--table", args->table, "target table: table or schema.table")->required();
  cmd->add_option("--key", args->keys, "key column(s), comma separated: --key day,box")
      ->required()
      ->delimiter(',');
  cmd->add_flag("--create", args->create, "create the table from the rows' types when absent");
  cmd->add_flag("--json", args->json, "print a JSON summary on stdout");
  cmd->add_option("--retry-scale", args->retry_scale,
                  "multiply every retry delay (e.g. 0.01 for quick demos)")
      ->check(finite_range(1e-4, 100));
  cmd->add_option("--statement-timeout", args->statement_timeout_s,
                  "PostgreSQL: seconds one write attempt may wait on the server before it is "
                  "abandoned and retried (default 60)")
      ->check(finite_range(0.1, 86400));
  cmd->callback([args, &exit_code] { exit_code = run_load(*args); });
}

}  // namespace rebound::cli
