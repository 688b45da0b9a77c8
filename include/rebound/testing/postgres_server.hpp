// PostgresServer — a throwaway PostgreSQL 15 server for tests and benchmarks.
//
// initdb into a fresh temp folder, listen on 127.0.0.1 at a free port (and a
// unix socket inside that folder), fsync off, trust authentication for the
// superuser "postgres". Stopped and deleted in the destructor — also when a
// test fails. Running as root (postgres refuses it), the server tools run via
// `runuser -u postgres --` with the folder chowned to that user.
//
//   auto pg = rebound::testing::PostgresServer::start({.max_connections = 20}).value();
//   auto wh = rebound::warehouse::open_warehouse(pg->url()).value();
//   pg->restart();  // connections drop; the pool must heal
//
// One server per test binary keeps startup (~1-2 s) off every test:
//   rebound::testing::PostgresServer& pg = *rebound::testing::PostgresServer::shared().value();
//   rebound::testing::PostgresServer& pg = rebound::testing::PostgresServer::shared_or_abort();
//
// Thread safety: start/stop/restart are one thread at a time (they may run
// while other threads use the server); url() and port() are immutable.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/core/error.hpp"
#include "rebound/core/temp_dir.hpp"

namespace rebound::testing {

struct PostgresServerOptions {
  int max_connections = 100;
  std::filesystem::path bin_dir = "/usr/lib/postgresql/15/bin";
  std::vector<std::string> settings;  // extra "name=value" server settings
};

class PostgresServer {
 public:
  // initdb + start. Errors (permanent) name the step and include the tail of
  // the server log.
  [[nodiscard]] static Result<std::unique_ptr<PostgresServer>> start(
      PostgresServerOptions options = {});

  // The binary-wide server: started on first call (later calls ignore
  // `options`), stopped at exit.
  [[nodiscard]] static Result<PostgresServer*> shared(const PostgresServerOptions& options = {});

  // shared() for fixtures that hand out a reference: when the server cannot
  // start, prints "cannot start PostgreSQL: <error>" to stderr (unbuffered,
  // so the reason survives) and aborts the test binary.
  [[nodiscard]] static PostgresServer& shared_or_abort(const PostgresServerOptions& options = {});

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;
  ~PostgresServer();

  // postgresql://postgres@127.0.0.1:<port>/<database>
  [[nodiscard]] std::string url(std::string_view database = "postgres") const;
  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  [[nodiscard]] const std::filesystem::path& bin_dir() const noexcept { return options_.bin_dir; }

  // pg_ctl stop -m fast (connections are terminated) / start again on the same port.
  [[nodiscard]] Status stop();
  [[nodiscard]] Status start_again();
  [[nodiscard]] Status restart();

  // Runs a server tool (psql, pgbench, …) from bin_dir as the server's OS
  // user; returns its exit status. Output goes to `log` (or the server log).
  [[nodiscard]] Result<int> run_tool(const std::vector<std::string>& args,
                                     const std::filesystem::path& log = {}) const;

 private:
  explicit PostgresServer(PostgresServerOptions options) : options_(std::move(options)) {}
  [[nodiscard]] Status pg_ctl_start();

  PostgresServerOptions options_;
  std::optional<TempDir> temp_;  // removed after the server has stopped
  std::filesystem::path dir_;    // temp_->path()
  int port_ = 0;
  bool running_ = false;
};

}  // namespace rebound::testing
