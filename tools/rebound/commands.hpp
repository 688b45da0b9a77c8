// The rebound subcommands. Each registers itself on the app and returns the
// exit code through the ExitCode it is given (see main.cpp for the codes).
#pragma once

#include <CLI/CLI.hpp>

namespace rebound::cli {

// Exit codes shared by every subcommand (documented in README.md):
enum ExitCode : int {
  kOk = 0,
  kFailure = 1,       // the job ran and failed (a target missed, rows lost, requests failed)
  kUsage = 2,         // bad command line (CLI11 also uses 2 for parse errors)
  kBadInput = 3,      // malformed input data: nothing was written
  kBackendError = 4,  // the back end refused or was unreachable after retries
};

// Each add_*_command registers a subcommand whose callback stores its exit
// code in `exit_code`.
void add_herd_command(CLI::App& app, int& exit_code);
void add_fleet_command(CLI::App& app, int& exit_code);    // fleet.cpp
void add_load_command(CLI::App& app, int& exit_code);     // load.cpp
void add_get_command(CLI::App& app, int& exit_code);      // get.cpp
void add_emulate_command(CLI::App& app, int& exit_code);  // emulate.cpp

}  // namespace rebound::cli
