// NginxServer — a throwaway Debian nginx (/usr/sbin/nginx) for tests and
// benchmarks: plain HTTP and HTTPS on free 127.0.0.1 ports, with a
// self-signed CA and server certificate (SAN IP:127.0.0.1, DNS:localhost)
// made by the `openssl` CLI in a fresh temp folder.
//
//   auto nginx = rebound::testing::NginxServer::start().value();
//   auto client = rebound::http::Client::make({.tls = {.ca_file = nginx->ca_file()}}).value();
//   client->get(nginx->http_url("/small.json"));   // 200, small JSON
//   client->get(nginx->https_url("/big.bin"));     // 200, 1 MiB
//   client->get(nginx->http_url("/status"));       // 200 "ok"
//   client->get(nginx->https_url("/close"));       // 200 "ok", then nginx closes
//
// nginx runs in the foreground (`daemon off;`) as our child, with one or two
// workers, `keepalive_requests 1000000` and `keepalive_timeout 60s`; its pid,
// error and access logs live in the temp folder (access.log, when
// NginxOptions::access_log is on, has one "<request> <status> <r|.>" line a
// request: "r" when the TLS handshake resumed a session). start() returns once both
// ports accept connections. The destructor sends SIGQUIT (graceful), then
// SIGKILL after a few seconds, reaps the child and removes the folder.
//
// Thread safety: immutable after start(); the accessors may be called from
// any thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rebound/core/error.hpp"
#include "rebound/core/temp_dir.hpp"

namespace rebound::testing {

struct NginxOptions {
  std::filesystem::path nginx = "/usr/sbin/nginx";
  int worker_processes = 1;
  bool access_log = false;  // off by default: benchmarks should not measure disk writes
};

class NginxServer {
 public:
  // Generates the certificates, config and static files, starts nginx and
  // waits (up to 10 s) until both ports accept. Errors are permanent and
  // include the tail of the error log or the openssl output.
  [[nodiscard]] static Result<std::unique_ptr<NginxServer>> start(NginxOptions options = {});

  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;
  ~NginxServer();

  // "http://127.0.0.1:<port><path>" and "https://127.0.0.1:<tls port><path>".
  [[nodiscard]] std::string http_url(std::string_view path = "/") const;
  [[nodiscard]] std::string https_url(std::string_view path = "/") const;
  [[nodiscard]] int http_port() const noexcept { return http_port_; }
  [[nodiscard]] int https_port() const noexcept { return https_port_; }
  // PEM of the throwaway CA that signed the server certificate.
  [[nodiscard]] std::string ca_file() const { return (dir_ / "ca.pem").string(); }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  // Size in bytes of /big.bin (1 MiB) and the exact body of /small.json.
  [[nodiscard]] static std::size_t big_size() noexcept { return std::size_t{1} << 20; }
  [[nodiscard]] static std::string_view small_json() noexcept;

 private:
  NginxServer() = default;

  std::optional<TempDir> temp_;  // removed after the server has stopped
  std::filesystem::path dir_;    // temp_->path()
  int http_port_ = 0;
  int https_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace rebound::testing
