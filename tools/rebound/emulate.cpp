// rebound emulate bigquery — a local BigQuery REST v2 emulator that
// misbehaves on demand (docs/emulator-bigquery.md):
//   rebound emulate bigquery [--port N] [--project P] [--data DIR] [--faults FILE.json]
//       [--seed S] [--job-latency-ms MS] [--pending-polls N] [--running-polls N]
//       [--dml-conflicts] [--max-dml-jobs N] [--require-auth --public-key PEM]
//       [--refresh-token T]...
// Prints its base URL (http://127.0.0.1:PORT) as the first stdout line once it
// accepts connections, then serves until SIGINT/SIGTERM and exits 0. Bad
// options or an unreadable file exit 2; a port in use exits 1.
#include <CLI/CLI.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "rebound/emulator/bigquery/emulator.hpp"

namespace rebound::cli {
namespace {

struct EmulateArgs {
  emulator::bigquery::Options options;
  std::string faults_file;
  std::string public_key_file;
  std::vector<std::string> refresh_tokens;
  long long job_latency_ms = 0;
  long long streaming_buffer_s = 90;
};

// Reads the file an option names into `out` (nothing for no file); false
// after saying which option's file could not be read.
bool read_option_file(const char* option, const std::string& path, std::string& out) {
  if (path.empty()) return true;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "rebound emulate bigquery: cannot read " << option << " " << path << "\n";
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

int run_emulate(EmulateArgs& args) {
  emulator::bigquery::Options options = args.options;
  options.job_latency = std::chrono::milliseconds(args.job_latency_ms);
  options.streaming_buffer_duration = std::chrono::seconds(args.streaming_buffer_s);
  options.refresh_tokens = args.refresh_tokens;
  std::string faults;
  if (!read_option_file("--public-key", args.public_key_file,
                        options.service_account_public_key_pem) ||
      !read_option_file("--faults", args.faults_file, faults)) {
    return kUsage;
  }
  // Block the stop signals before any server thread exists, so every thread
  // inherits the mask and sigwait() below is the only receiver.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  auto emu = emulator::bigquery::Emulator::start(options);
  if (!emu) {
    std::cerr << "rebound emulate bigquery: " << emu.error().message << "\n";
    return options.port != 0 ? kFailure : kUsage;
  }
  if (!args.faults_file.empty()) {
    if (auto armed = (*emu)->add_faults(faults); !armed) {
      std::cerr << "rebound emulate bigquery: " << armed.error().message << "\n";
      return kUsage;
    }
  }
  std::cout << (*emu)->url() << std::endl;
  std::cerr << "BigQuery emulator for project " << options.project << " on " << (*emu)->url()
            << (options.data_dir.empty() ? " (in memory)" : " (data in " + options.data_dir + ")")
            << "; control plane at " << (*emu)->url() << "/__emulator/; Ctrl-C to stop\n";
  int sig = 0;
  sigwait(&stop, &sig);
  std::cerr << "rebound emulate bigquery: stopping on signal " << sig << "\n";
  return kOk;
}

}  // namespace

void add_emulate_command(CLI::App& app, int& exit_code) {
  CLI::App* emulate = app.add_subcommand("emulate", "Run a local emulator of a back end");
  emulate->require_subcommand(1);
  auto args = std::make_shared<EmulateArgs>();
  auto& o = args->options;
  CLI::App* bq = emulate->add_subcommand(
      "bigquery", "A local BigQuery REST v2 emulator with jobs, DML conflicts, quotas and faults");
  bq->add_option("--port", o.port, "port on 127.0.0.1 (0: pick a free one)")
      ->check(CLI::Range(0, 65535));
  bq->add_option("--project", o.project, "default project id")->capture_default_str();
  bq->add_option("--data", o.data_dir, "keep data in SQLite under DIR (default: in memory)");
  bq->add_option("--faults", args->faults_file, "arm fault rules from FILE.json")
      ->check(CLI::ExistingFile);
  bq->add_option("--seed", o.seed, "seed for fault probabilities")->capture_default_str();
  bq->add_option("--job-latency-ms", args->job_latency_ms,
                 "minimum RUNNING time of a job (virtual ms)")
      ->check(CLI::NonNegativeNumber);
  bq->add_option("--pending-polls", o.pending_polls, "jobs.get polls a job stays PENDING")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  bq->add_option("--running-polls", o.running_polls, "jobs.get polls a job stays RUNNING")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  bq->add_flag("--dml-conflicts", o.dml_conflicts,
               "fail the later of two DML jobs on one table whose RUNNING windows overlap");
  bq->add_option("--max-dml-jobs", o.max_dml_jobs_per_table,
                 "pending+running DML jobs per table before quotaExceeded (0: no cap)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  bq->add_option("--table-updates-per-10s", o.table_updates_per_window,
                 "table update operations per 10 s before rateLimitExceeded (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  bq->add_option("--streaming-buffer-s", args->streaming_buffer_s,
                 "seconds insertAll rows stay buffered")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  bq->add_flag("--require-auth", o.require_auth, "BigQuery routes need a Bearer token from /token");
  bq->add_option("--public-key", args->public_key_file,
                 "PEM public key (or certificate) that verifies service-account JWTs")
      ->check(CLI::ExistingFile);
  bq->add_option("--refresh-token", args->refresh_tokens,
                 "accepted refresh_token grant (repeatable)");
  bq->callback([args, &exit_code] { exit_code = run_emulate(*args); });
}

}  // namespace rebound::cli
