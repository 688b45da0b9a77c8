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
  rebound::cli::add_herd_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "rebound: " << e.what() << "\n";
    return rebound::cli::kFailure;
  }
  return exit_code;
}
