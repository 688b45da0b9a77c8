// What the end-to-end CLI tests share: the `rebound` binary under test (the
// build's REBOUND_BINARY, or another build named by $REBOUND_BIN), running it,
// the test binary's one PostgreSQL server and small file helpers.
//
//   using namespace rebound::cli_test;
//   CommandResult r = rebound_cli({"load", input.string(), "--into", postgres().url()});
//
// Thread safety: the functions may be called from any thread; postgres()
// starts the shared server once (PostgresServer::shared()).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rebound/testing/command.hpp"
#include "rebound/testing/postgres_server.hpp"

namespace rebound::cli_test {

using testing::CommandResult;
using testing::run_command;

// The binary under test; REBOUND_BIN lets the suite exercise another build.
inline std::string binary() {
  const char* env = std::getenv("REBOUND_BIN");
  return env ? env : REBOUND_BINARY;
}

// Runs `rebound <args...>` and collects its exit code, stdout and stderr.
inline CommandResult rebound_cli(std::vector<std::string> args) {
  args.insert(args.begin(), binary());
  return run_command(args);
}

// The test binary's PostgreSQL 15 (started on first use; aborts with the
// reason when it cannot start).
inline testing::PostgresServer& postgres() { return testing::PostgresServer::shared_or_abort(); }

// Writes `text` to `p` byte for byte; returns `p`.
inline std::filesystem::path write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

// The whole file at `p`, or "" when it cannot be read.
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace rebound::cli_test
