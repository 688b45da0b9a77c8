// Throwaway nginx: openssl CLI for a CA + server certificate, a generated
// nginx.conf, nginx in the foreground as our child (posix_spawn, safe while
// other threads run), readiness by connecting to both ports.
#include "rebound/testing/nginx_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "server_process.hpp"

namespace rebound::testing {
namespace {

constexpr std::string_view kSmallJson =
    R"({"id":42,"name":"rebound","tags":["retry","pool","http"],"ok":true})";

bool accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

Status run(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  auto pid = detail::spawn(argv, log);
  if (!pid) return fail(pid.error());
  auto code = detail::wait_exit(*pid);
  if (!code) return fail(code.error());
  if (*code != 0) {
    return fail(Error::permanent("NginxServer: " + argv[0] + " " + argv[1] + " exited with " +
                                 std::to_string(*code) + ": " + detail::tail_of(log)));
  }
  return {};
}

Status write_file(const std::filesystem::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) return fail(Error::permanent("NginxServer: cannot write " + path.string()));
  return {};
}

// A throwaway CA and a server certificate it signs, valid for 127.0.0.1 and
// localhost. EC P-256 keys: generation takes milliseconds, unlike RSA.
Status make_certificates(const std::filesystem::path& dir) {
  const auto log = dir / "openssl.log";
  const std::string d = dir.string() + "/";
  if (auto s = write_file(dir / "server.ext",
                          "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                          "basicConstraints=critical,CA:FALSE\n"
                          "keyUsage=critical,digitalSignature,keyEncipherment\n"
                          "extendedKeyUsage=serverAuth\n");
      !s) {
    return s;
  }
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-keyout", d + "ca.key", "-out", d + "ca.pem", "-days", "2", "-subj",
       "/CN=rebound throwaway test CA"},
      {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", d + "server.key", "-out", d + "server.csr", "-subj", "/CN=localhost"},
      {"openssl", "x509", "-req", "-in", d + "server.csr", "-CA", d + "ca.pem", "-CAkey",
       d + "ca.key", "-CAcreateserial", "-out", d + "server.pem", "-days", "2", "-extfile",
       d + "server.ext"},
  };
  for (const auto& step : steps) {
    if (auto s = run(step, log); !s) return s;
  }
  return {};
}

std::string make_config(const std::filesystem::path& dir, int http_port, int https_port,
                        const NginxOptions& options) {
  const std::string d = dir.string();
  std::string c;
  c += "daemon off;\nmaster_process on;\n";
  if (::geteuid() == 0) c += "user root;\n";
  c += "worker_processes " + std::to_string(options.worker_processes) + ";\n";
  c += "pid " + d + "/nginx.pid;\n";
  c += "error_log " + d + "/error.log warn;\n";
  c += "events { worker_connections 4096; }\n";
  c += "http {\n";
  // One line a request: "<request> <status> <r|.>", the last field saying
  // whether the TLS handshake resumed a session ("r") or was full (".").
  c += "  log_format rebound '$request $status $ssl_session_reused';\n";
  c += options.access_log ? "  access_log " + d + "/access.log rebound;\n" : "  access_log off;\n";
  for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    c += "  " + std::string(kind) + "_temp_path " + d + "/tmp_" + kind + ";\n";
  }
  c += "  types { application/json json; application/octet-stream bin; text/plain txt; }\n";
  c += "  default_type application/octet-stream;\n";
  c += "  sendfile on;\n  tcp_nodelay on;\n";
  c += "  keepalive_requests 1000000;\n  keepalive_timeout 60s;\n";
  c += "  ssl_session_cache shared:SSL:1m;\n  ssl_session_tickets on;\n";
  c += "  server {\n";
  c += "    listen 127.0.0.1:" + std::to_string(http_port) + ";\n";
  c += "    listen 127.0.0.1:" + std::to_string(https_port) + " ssl;\n";
  c += "    server_name localhost;\n";
  c += "    ssl_certificate " + d + "/server.pem;\n";
  c += "    ssl_certificate_key " + d + "/server.key;\n";
  c += "    root " + d + "/www;\n";
  c += "    location = /status { default_type text/plain; return 200 \"ok\"; }\n";
  // Answers, then closes the connection: every request needs a new one.
  c += "    location = /close { keepalive_timeout 0; default_type text/plain; return 200 \"ok\"; "
       "}\n";
  c += "  }\n}\n";
  return c;
}

}  // namespace

std::string_view NginxServer::small_json() noexcept { return kSmallJson; }

Result<std::unique_ptr<NginxServer>> NginxServer::start(NginxOptions options) {
  std::unique_ptr<NginxServer> server(new NginxServer());
  auto temp = TempDir::make("rebound-nginx-");
  if (!temp) return fail(Error::permanent("NginxServer: " + temp.error().message));
  server->temp_ = std::move(*temp);
  server->dir_ = server->temp_->path();
  const auto& dir = server->dir_;
  std::error_code ec;
  std::filesystem::create_directories(dir / "www", ec);
  if (ec) return fail(Error::permanent("NginxServer: cannot create " + (dir / "www").string()));

  if (auto s = make_certificates(dir); !s) return fail(s.error());
  if (auto s = write_file(dir / "www" / "small.json", kSmallJson); !s) return fail(s.error());
  std::string big(big_size(), '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) % 251);
  if (auto s = write_file(dir / "www" / "big.bin", big); !s) return fail(s.error());

  auto http_port = detail::free_loopback_port();
  auto https_port = detail::free_loopback_port();
  if (!http_port) return fail(http_port.error());
  if (!https_port) return fail(https_port.error());
  if (*http_port == *https_port) return fail(Error::permanent("NginxServer: port clash, retry"));
  server->http_port_ = *http_port;
  server->https_port_ = *https_port;
  const auto conf = dir / "nginx.conf";
  if (auto s = write_file(conf, make_config(dir, *http_port, *https_port, options)); !s) {
    return fail(s.error());
  }

  // -e: the error log before the config is read (else /var/log/nginx/error.log).
  auto pid = detail::spawn({options.nginx.string(), "-p", dir.string(), "-c", conf.string(), "-e",
                            (dir / "error.log").string()},
                           dir / "stdout.log");
  if (!pid) return fail(pid.error());
  server->pid_ = *pid;

  for (int i = 0; i < 1000; ++i) {
    int status = 0;
    if (::waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->pid_ = -1;
      return fail(Error::permanent(
          "NginxServer: nginx exited at start: " + detail::tail_of(dir / "error.log") +
          detail::tail_of(dir / "stdout.log")));
    }
    if (accepts(*http_port) && accepts(*https_port)) return server;
    // Polling a child process that has no readiness signal; not a test wait.
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return fail(Error::permanent("NginxServer: nginx did not accept within 10 s: " +
                               detail::tail_of(dir / "error.log")));
}

NginxServer::~NginxServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);  // fast shutdown: workers exit with the master
    int status = 0;
    bool reaped = false;
    for (int i = 0; i < 500 && !reaped; ++i) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      reaped = r == pid_ || (r < 0 && errno != EINTR);
      if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    if (!reaped) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
}

std::string NginxServer::http_url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(http_port_) + std::string(path);
}

std::string NginxServer::https_url(std::string_view path) const {
  return "https://127.0.0.1:" + std::to_string(https_port_) + std::string(path);
}

}  // namespace rebound::testing
