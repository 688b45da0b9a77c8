// rebound load — the batch writer as a tool:
//   rebound load FILE.ndjson --into URL --table T --key a,b [--create] [--json]
// The job is rebound::warehouse::load_ndjson (ndjson_load.hpp): every line
// read and every row checked before the first write, then one retried MERGE
// (all or nothing). This file parses the flags, calls it and prints.

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_output.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "rebound/warehouse/ndjson_load.hpp"

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

// Whose fault a failed load was, as an exit code: rebound refused the
// command line (2), the input is bad (3, nothing written), or the back end
// refused or was unreachable after retries (4).
int exit_code_for(warehouse::LoadStage stage) {
  using enum warehouse::LoadStage;
  switch (stage) {
    case names:
    case read:
    case open_refused:
    case writer:
      return kUsage;
    case input_too_large:
    case parse:
    case rows_refused:
      return kBadInput;
    case open_failed:
    case write_failed:
      return kBackendError;
  }
  return kFailure;
}

int report_error(const LoadArgs& args, const warehouse::LoadFailure& f) {
  const int code = exit_code_for(f.stage);
  std::cerr << "rebound load: " << f.error.message << "\n";
  if (args.json) {
    nlohmann::json j = f.report ? warehouse::load_summary_json(*f.report, args.table, f.warehouse)
                                : nlohmann::json::object();
    j["ok"] = false;
    j["error"] = f.error.message;
    j["error_class"] = std::string(to_string(f.error.error_class));
    j["exit_code"] = code;
    std::cout << json_text(j) << "\n";
  }
  return code;
}

int run_load(const LoadArgs& args) {
  ProgressBar progress(true);  // over the three steps: read, parse and check, write
  auto done = warehouse::load_ndjson({.file = args.file,
                                      .warehouse_url = args.into,
                                      .table = args.table,
                                      .keys = args.keys,
                                      .create_table = args.create,
                                      .retry_scale = args.retry_scale,
                                      .statement_timeout = std::chrono::duration_cast<Duration>(
                                          std::chrono::duration<double>(args.statement_timeout_s))},
                                     std::bind_front(&ProgressBar::show, &progress));
  progress.clear();
  if (!done) return report_error(args, done.error());
  const warehouse::WriteReport& r = done->report;
  if (args.json) {
    nlohmann::json j = warehouse::load_summary_json(r, args.table, done->warehouse);
    j["ok"] = true;
    std::cout << json_text(j) << "\n";
  } else {
    std::cout << "merged " << r.rows_merged << " rows into " << done->table << " (" << r.rows_read
              << " read, " << r.duplicates << " duplicate keys, " << r.retry.attempts
              << " attempt(s)) in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed).count()
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
