// rebound — the command-line front end. Errors become exit codes here and
// only here (CLI11_PARSE pattern); the library never exits or throws on hot paths.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"rebound: retries that do not stampede, pooled clients, safe warehouse writes"};
  app.require_subcommand(1);
  int exit_code = rebound::cli::kOk;
  rebound::cli::add_fleet_command(app, exit_code);
  rebound::cli::add_herd_command(app, exit_code);
  rebound::cli::add_load_command(app, exit_code);
  rebound::cli::add_get_command(app, exit_code);
  rebound::cli::add_emulate_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // app.exit prints help or the mistake; CLI11's own codes (106 for a
    // missing option, …) collapse to the documented kUsage.
    return app.exit(e) == 0 ? rebound::cli::kOk : rebound::cli::kUsage;
  } catch (const std::exception& e) {
    std::cerr << "rebound: " << e.what() << "\n";
    return rebound::cli::kFailure;
  }
  return exit_code;
}
