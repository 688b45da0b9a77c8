// Throwaway PostgreSQL: initdb + pg_ctl in a temp folder, tools spawned with
// posix_spawn (safe while other threads run), as user postgres when root.
#include "rebound/testing/postgres_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "server_process.hpp"

namespace rebound::testing {
namespace {

// Runs argv (as user postgres when we are root) in `dir`, output appended
// to `log`, and waits for it.
Result<int> spawn_wait(std::vector<std::string> argv, const std::filesystem::path& dir,
                       const std::filesystem::path& log) {
  if (::geteuid() == 0) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  auto pid = detail::spawn(argv, log, dir);
  if (!pid) return fail(pid.error());
  return detail::wait_exit(*pid);
}

}  // namespace

Result<std::unique_ptr<PostgresServer>> PostgresServer::start(PostgresServerOptions options) {
  std::unique_ptr<PostgresServer> server(new PostgresServer(std::move(options)));
  auto temp = TempDir::make("rebound-pg-");
  if (!temp) return fail(Error::permanent(temp.error().message));
  server->temp_ = std::move(*temp);
  server->dir_ = server->temp_->path();
  const std::string templ = server->dir_.string();
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) return fail(Error::permanent("running as root, but there is no user \"postgres\""));
    if (::chown(templ.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return fail(Error::permanent("cannot chown " + templ + " to postgres"));
    }
  }
  const auto log = server->dir_ / "initdb.log";
  auto rc = spawn_wait(
      {(server->options_.bin_dir / "initdb").string(), "-D", (server->dir_ / "data").string(), "-U",
       "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"},
      server->dir_, log);
  if (!rc) return fail(rc.error());
  if (*rc != 0) {
    return fail(Error::permanent("initdb failed (exit " + std::to_string(*rc) +
                                 "): " + detail::tail_of(log)));
  }
  // The port is free when we look but another process may take it before the
  // server binds it: try a few.
  Status started = fail(Error::permanent("not started"));
  for (int attempt = 0; attempt < 5 && !started; ++attempt) {
    auto port = detail::free_loopback_port();
    if (!port) return fail(port.error());
    server->port_ = *port;
    started = server->pg_ctl_start();
  }
  if (!started) return fail(started.error());
  return server;
}

Result<PostgresServer*> PostgresServer::shared(const PostgresServerOptions& options) {
  static Result<std::unique_ptr<PostgresServer>> instance = start(options);
  if (!instance) return fail(instance.error());
  return instance->get();
}

PostgresServer& PostgresServer::shared_or_abort(const PostgresServerOptions& options) {
  auto server = shared(options);
  if (!server) {
    std::fprintf(stderr, "cannot start PostgreSQL: %s\n", server.error().describe().c_str());
    std::abort();
  }
  return **server;
}

Status PostgresServer::pg_ctl_start() {
  std::string opts = "-c port=" + std::to_string(port_) +
                     " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir_.string() +
                     " -c max_connections=" + std::to_string(options_.max_connections) +
                     " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
  for (const std::string& s : options_.settings) opts += " -c " + s;
  const auto log = dir_ / "server.log";
  auto rc = spawn_wait({(options_.bin_dir / "pg_ctl").string(), "-D", (dir_ / "data").string(),
                        "-l", log.string(), "-w", "-t", "60", "-o", opts, "start"},
                       dir_, dir_ / "pg_ctl.log");
  if (!rc) return fail(rc.error());
  if (*rc != 0) {
    return fail(Error::permanent("pg_ctl start failed on port " + std::to_string(port_) + ": " +
                                 detail::tail_of(log)));
  }
  running_ = true;
  return {};
}

Status PostgresServer::stop() {
  if (!running_) return {};
  auto rc = spawn_wait({(options_.bin_dir / "pg_ctl").string(), "-D", (dir_ / "data").string(),
                        "-m", "fast", "-w", "-t", "60", "stop"},
                       dir_, dir_ / "pg_ctl.log");
  if (!rc) return fail(rc.error());
  if (*rc != 0)
    return fail(Error::permanent("pg_ctl stop failed: " + detail::tail_of(dir_ / "pg_ctl.log")));
  running_ = false;
  return {};
}

Status PostgresServer::start_again() {
  if (running_) return {};
  return pg_ctl_start();
}

Status PostgresServer::restart() {
  if (auto st = stop(); !st) return st;
  return start_again();
}

Result<int> PostgresServer::run_tool(const std::vector<std::string>& args,
                                     const std::filesystem::path& log) const {
  std::vector<std::string> argv = args;
  if (!argv.empty() && argv[0].find('/') == std::string::npos) {
    argv[0] = (options_.bin_dir / argv[0]).string();
  }
  return spawn_wait(std::move(argv), dir_, log.empty() ? dir_ / "tools.log" : log);
}

std::string PostgresServer::url(std::string_view database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + std::string(database);
}

PostgresServer::~PostgresServer() {
  if (running_) {
    (void)spawn_wait({(options_.bin_dir / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-m",
                      "immediate", "-w", "stop"},
                     dir_, dir_ / "pg_ctl.log");
  }
}

}  // namespace rebound::testing
