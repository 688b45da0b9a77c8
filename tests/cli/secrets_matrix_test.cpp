// The secrets matrix: every command, every output channel (stdout, stderr,
// --json, --metrics, --plot, success and error paths), every secret shape —
// and not one hit.
//
// A case is a command line holding one secret (a distinctive marker such as
// "S3CRET17", wrapped in the characters that secret shape allows). The case
// runs the built binary; the marker must appear in nothing it printed or
// wrote. Shapes: URL userinfo with each character libpq accepts unencoded in
// a password (`?`, `#`, `:`, `[`, `]`, `!`, `$`, `&`, `'`, `(`, `)`, `*`,
// `+`, `,`, `;`, `=`, `%xx`, space via %20), libpq keyword strings (quoted,
// escaped, sslpassword), URL query parameters and fragments with common
// secret names, request headers (Authorization bearer, X-Auth-*, *-Key,
// *token*), and a service-account key file's private key.
//
// To add a back end (BigQuery: a service-account JSON key), add a Case whose
// argv points the command at it; the matrix checks every channel by itself.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "cli_fixture.hpp"
#include "rebound/core/temp_dir.hpp"

namespace {

using rebound::cli_test::binary;
using rebound::cli_test::CommandResult;
using rebound::cli_test::postgres;
using rebound::cli_test::run_command;
using rebound::cli_test::slurp;

// The one temp folder helper (rebound/core/temp_dir.hpp), removed on scope exit.
rebound::TempDir temp_dir() { return rebound::TempDir::make("rebound-secrets-").value(); }

// One row of the matrix.
struct Case {
  std::string name;                // shape x command x path, for the failure message
  std::string marker;              // the secret's distinctive core; must appear nowhere
  std::vector<std::string> argv;   // after the binary; {DIR} is the case's temp folder
  std::vector<std::string> files;  // files the command writes (metrics, plot), under {DIR}
};

std::string replace_dir(std::string s, const std::string& dir) {
  for (auto p = s.find("{DIR}"); p != std::string::npos; p = s.find("{DIR}")) {
    s.replace(p, 5, dir);
  }
  return s;
}

// Runs one case; returns a description of every channel the marker leaked to.
std::string leaks(const Case& c) {
  const rebound::TempDir dir = temp_dir();
  std::vector<std::string> argv = {binary()};
  for (const std::string& a : c.argv) argv.push_back(replace_dir(a, dir.path().string()));
  const CommandResult r = run_command(argv);
  std::string out;
  auto check = [&](const std::string& channel, const std::string& text) {
    if (text.find(c.marker) != std::string::npos) {
      out += "  " + channel + " (exit " + std::to_string(r.exit_code) +
             "): " + text.substr(0, 400) + "\n";
    }
  };
  check("stdout", r.out);
  check("stderr", r.err);
  for (const std::string& f : c.files) check(f, slurp(dir.path() / f));
  // Files named after the secret (a conninfo taken as a SQLite path did that).
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    check("file name", entry.path().string());
  }
  if (r.exit_code < 0) out += "  the command did not run or was killed\n";
  return out;
}

// Characters libpq accepts unencoded inside a URI password (it only stops
// at '@' and '/'), one case each, plus percent-encoded forms.
const std::vector<std::string>& password_shapes() {
  static const std::vector<std::string> shapes = {
      "p?q", "p#q", "p:q", "p[q]", "p!q", "p$q",   "p&q",   "p'q",   "p(q)",
      "p*q", "p+q", "p,q", "p;q",  "p=q", "p%40q", "p%2Fq", "p%20q", "p?a=b#c",
  };
  return shapes;
}

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  const std::string host = "127.0.0.1:" + std::to_string(postgres().port());
  int n = 0;
  auto add = [&](std::string name, std::string marker, std::string into, bool json) {
    std::vector<std::string> argv = {
        "load",     "{DIR}/rows.ndjson",
        "--into",   into,
        "--table",  "t_" + std::to_string(::getpid()) + "_" + std::to_string(n),
        "--key",    "id",
        "--create", "--retry-scale",
        "0.001"};
    if (json) argv.push_back("--json");
    cases.push_back({std::move(name), std::move(marker), std::move(argv), {}});
    ++n;
  };
  for (const std::string& shape : password_shapes()) {
    const std::string marker = "S3CRET" + std::to_string(n);
    const std::string pw = shape.substr(0, 1) + marker + shape.substr(1);
    for (bool json : {false, true}) {
      // Success path (trust auth accepts any password) and error path (closed port).
      add("load url password '" + shape + "' ok" + (json ? " --json" : ""), marker,
          "postgresql://postgres:" + pw + "@" + host + "/postgres", json);
      add("load url password '" + shape + "' unreachable" + (json ? " --json" : ""), marker,
          "postgresql://postgres:" + pw + "@127.0.0.1:1/postgres?connect_timeout=2", json);
    }
  }
  // libpq keyword strings and query parameters.
  for (bool json : {false, true}) {
    std::string m = "S3CRET" + std::to_string(n);
    add("load conninfo password", m,
        "host=127.0.0.1 port=1 user=postgres password=" + m + " dbname=x connect_timeout=2", json);
    m = "S3CRET" + std::to_string(n);
    add("load conninfo quoted password", m,
        "host=127.0.0.1 port=1 password='a b \\' " + m + "' dbname=x connect_timeout=2", json);
    m = "S3CRET" + std::to_string(n);
    add("load conninfo sslpassword", m,
        "host=127.0.0.1 port=1 sslpassword=" + m + " dbname=x connect_timeout=2", json);
    m = "S3CRET" + std::to_string(n);
    add("load conninfo unparsable", m, "host=127.0.0.1 password='" + m + " dbname=x", json);
    m = "S3CRET" + std::to_string(n);
    add("load url query password", m,
        "postgresql://postgres@127.0.0.1:1/x?connect_timeout=2&password=" + m, json);
    m = "S3CRET" + std::to_string(n);
    add("load url query sslpassword", m,
        "postgresql://postgres@127.0.0.1:1/x?sslpassword=" + m + "&connect_timeout=2", json);
    m = "S3CRET" + std::to_string(n);
    add("load bad scheme", m, "mysql://u:" + m + "@127.0.0.1/x", json);
  }
  return cases;
}

std::vector<Case> fleet_cases() {
  std::vector<Case> cases;
  const std::string host = "127.0.0.1:" + std::to_string(postgres().port());
  const std::vector<std::string> small = {"fleet", "-q",     "-n", "2",       "--batches",
                                          "1",     "--rows", "3",  "--scale", "0.001"};
  int n = 100;
  auto add = [&](std::string name, std::string marker, std::vector<std::string> extra) {
    std::vector<std::string> argv = small;
    argv.insert(argv.end(), extra.begin(), extra.end());
    cases.push_back({std::move(name), std::move(marker), std::move(argv), {"m.prom", "p.svg"}});
    ++n;
  };
  for (const std::string& shape : {std::string("p?q"), std::string("p#q"), std::string("p:q")}) {
    for (bool json : {false, true}) {
      const std::string m = "S3CRET" + std::to_string(n);
      const std::string pw = shape.substr(0, 1) + m + shape.substr(1);
      std::vector<std::string> extra = {
          "--warehouse", "postgresql://postgres:" + pw + "@" + host + "/postgres",
          "--metrics",   "{DIR}/m.prom",
          "--plot",      "{DIR}/p.svg"};
      if (json) extra.push_back("--json");
      add("fleet warehouse password '" + shape + "'" + (json ? " --json" : ""), m, extra);
    }
  }
  for (bool json : {false, true}) {
    std::vector<std::string> extra;
    std::string m = "S3CRET" + std::to_string(n);
    extra = {"--source", "http://user:" + m + "@127.0.0.1:1/src"};
    if (json) extra.push_back("--json");
    add("fleet source userinfo (unreachable)", m, extra);
    m = "S3CRET" + std::to_string(n);
    extra = {"--source", "http://127.0.0.1:1/src?access_token=" + m};
    if (json) extra.push_back("--json");
    add("fleet source query token (unreachable)", m, extra);
    m = "S3CRET" + std::to_string(n);
    extra = {"--warehouse", "mysql://u:" + m + "@db/x"};
    if (json) extra.push_back("--json");
    add("fleet bad warehouse scheme", m, extra);
  }
  return cases;
}

std::vector<Case> get_cases() {
  std::vector<Case> cases;
  int n = 200;
  auto add = [&](std::string name, std::string marker, std::vector<std::string> argv) {
    argv.insert(argv.begin(), "get");
    cases.push_back({std::move(name), std::move(marker), std::move(argv), {}});
    ++n;
  };
  const std::string base = "http://127.0.0.1:1";  // connection refused: the error path
  const std::vector<std::string> params = {
      "token",           "access_token",     "access-token", "client_secret", "client-secret",
      "X-Amz-Signature", "X-Amz-Credential", "sig",          "api_key",       "apikey",
      "refresh_token",   "id_token",         "password",     "session",       "my_api_token"};
  for (bool json : {false, true}) {
    for (const std::string& p : params) {
      const std::string m = "S3CRET" + std::to_string(n);
      std::vector<std::string> argv = {base + "/x?page=2&" + p + "=" + m};
      if (json) argv.push_back("--json");
      add("get query " + p, m, argv);
    }
    for (const std::string& frag : {std::string("#token="), std::string("#access_token=")}) {
      const std::string m = "S3CRET" + std::to_string(n);
      std::vector<std::string> argv = {base + "/x" + frag + m};
      if (json) argv.push_back("--json");
      add("get fragment " + frag, m, argv);
    }
    for (const std::string& shape : password_shapes()) {
      const std::string m = "S3CRET" + std::to_string(n);
      std::vector<std::string> argv = {"http://user:" + shape.substr(0, 1) + m + shape.substr(1) +
                                       "@127.0.0.1:1/x"};
      if (json) argv.push_back("--json");
      add("get userinfo '" + shape + "'", m, argv);
    }
    for (const std::string& h :
         {std::string("Authorization: Bearer "), std::string("X-Auth-Token: "),
          std::string("X-Auth: "), std::string("X-Api-Key: "), std::string("X-Goog-Api-Key: "),
          std::string("My-Session-Token: "), std::string("Cookie: sid="),
          std::string("Proxy-Authorization: Basic "), std::string("Authorization Bearer ")}) {
      const std::string m = "S3CRET" + std::to_string(n);
      std::vector<std::string> argv = {base + "/x", "--header", h + m};
      if (json) argv.push_back("--json");
      add("get header '" + h + "'", m, argv);
    }
  }
  return cases;
}

void run_matrix(const std::vector<Case>& cases) {
  int hits = 0;
  for (const Case& c : cases) {
    const std::string where = leaks(c);
    if (!where.empty()) {
      ++hits;
      ADD_FAILURE() << c.name << " leaked " << c.marker << ":\n" << where;
    }
  }
  EXPECT_EQ(hits, 0) << "of " << cases.size() << " cases";
}

TEST(SecretsMatrix, LoadPrintsNoSecretOnAnyChannel) {
  // Each case gets its own folder with a rows file, run as the working
  // directory so a conninfo taken as a SQLite path would show up there.
  const std::vector<Case> cases = load_cases();
  int hits = 0;
  for (const Case& c : cases) {
    const rebound::TempDir case_dir = temp_dir();
    std::ofstream(case_dir.path() / "rows.ndjson") << "{\"id\": 1}\n";
    std::vector<std::string> argv = {binary()};
    for (const std::string& a : c.argv) argv.push_back(replace_dir(a, case_dir.path().string()));
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(case_dir.path());  // a file named after a conninfo lands here
    const CommandResult r = run_command(argv);
    std::filesystem::current_path(cwd);
    std::string where;
    if (r.out.find(c.marker) != std::string::npos)
      where += "  stdout: " + r.out.substr(0, 300) + "\n";
    if (r.err.find(c.marker) != std::string::npos)
      where += "  stderr: " + r.err.substr(0, 300) + "\n";
    for (const auto& entry : std::filesystem::recursive_directory_iterator(case_dir.path())) {
      if (entry.path().string().find(c.marker) != std::string::npos) {
        where += "  a file named " + entry.path().filename().string() + "\n";
      }
    }
    if (r.exit_code < 0) where += "  the command did not run\n";
    if (!where.empty()) {
      ++hits;
      ADD_FAILURE() << c.name << " leaked " << c.marker << " (exit " << r.exit_code << "):\n"
                    << where;
    }
  }
  EXPECT_EQ(hits, 0) << "of " << cases.size() << " cases";
}

TEST(SecretsMatrix, FleetPrintsNoSecretOnAnyChannelOrFile) { run_matrix(fleet_cases()); }

TEST(SecretsMatrix, GetPrintsNoSecretOnAnyChannel) { run_matrix(get_cases()); }

}  // namespace
