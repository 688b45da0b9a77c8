// The rebound command line as a hostile user drives it: libpq keyword
// strings, non-UTF-8 bytes with --json, malformed headers, bad schemes, NaN
// and absurd numbers. Every case here once printed a secret, lied, or
// failed late; each asserts the exit code and what reaches stdout/stderr.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rebound/testing/command.hpp"
#include "rebound/testing/postgres_server.hpp"

namespace {

using rebound::testing::CommandResult;
using rebound::testing::run_command;

std::string binary() {
  const char* env = std::getenv("REBOUND_BIN");
  return env ? env : REBOUND_BINARY;
}

CommandResult rebound_cli(std::vector<std::string> args) {
  args.insert(args.begin(), binary());
  return run_command(args);
}

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "rebound-hostile-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

rebound::testing::PostgresServer& postgres() {
  auto server = rebound::testing::PostgresServer::shared();
  if (!server) {
    ADD_FAILURE() << "cannot start PostgreSQL: " << server.error().message;
    std::abort();
  }
  return **server;
}

std::filesystem::path write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

// --- load ----------------------------------------------------------------------

TEST(HostileCli, LoadTakesALibpqKeywordStringAsPostgresNotAFileName) {
  TempDir dir;
  const auto input = write_file(dir.path() / "rows.ndjson", "{\"id\": 1, \"v\": \"a\"}\n");
  const std::string table = "kw_" + std::to_string(::getpid());
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(postgres().port()) +
                               " user=postgres password=kw-s3cr3t dbname=postgres";
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  CommandResult r = rebound_cli({"load", input.string(), "--into", conninfo, "--table", table,
                                 "--key", "id", "--create", "--json"});
  std::filesystem::current_path(cwd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["rows_merged"], 1);
  EXPECT_EQ(r.out.find("kw-s3cr3t"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("kw-s3cr3t"), std::string::npos) << r.err;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename(), "rows.ndjson") << "a file named after the conninfo";
  }
}

TEST(HostileCli, LoadJsonIsValidJsonWithNonUtf8BytesInAPath) {
  TempDir dir;
  const auto input = write_file(dir.path() / "rows.ndjson", "{\"id\": 1}\n");
  const std::string db = (dir.path() / "bad\xff\xfe.db").string();  // not UTF-8
  CommandResult ok = rebound_cli(
      {"load", input.string(), "--into", db, "--table", "t", "--key", "id", "--create", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const auto doc = nlohmann::json::parse(ok.out);  // throws on invalid JSON
  EXPECT_EQ(doc["ok"], true);

  const auto bad_input = write_file(dir.path() / "bad.ndjson", "{\"id\": 1, \"\xff\": 2}\n");
  CommandResult bad = rebound_cli(
      {"load", bad_input.string(), "--into", db, "--table", "t", "--key", "id", "--json"});
  EXPECT_EQ(bad.exit_code, 3) << bad.err;
  const auto err_doc = nlohmann::json::parse(bad.out);
  EXPECT_EQ(err_doc["ok"], false);
}

TEST(HostileCli, LoadRefusesNonFiniteNumbersBeforeAnyWork) {
  TempDir dir;
  const auto input = write_file(dir.path() / "rows.ndjson", "{\"id\": 1}\n");
  const std::string db = (dir.path() / "x.db").string();
  for (const char* bad : {"nan", "inf", "1e-300", "-1"}) {
    CommandResult r = rebound_cli({"load", input.string(), "--into", db, "--table", "t", "--key",
                                   "id", "--create", "--retry-scale", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--retry-scale"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(db)) << "work started before the options were checked";
}

// --- get -----------------------------------------------------------------------

TEST(HostileCli, GetNeverEchoesAMalformedHeader) {
  CommandResult r =
      rebound_cli({"get", "http://127.0.0.1:9/", "--header", "Authorization Bearer hdr-s3cr3t"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--header"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("hdr-s3cr3t"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("hdr-s3cr3t"), std::string::npos) << r.out;
}

TEST(HostileCli, GetRefusesABadSchemeAsAUsageError) {
  CommandResult r = rebound_cli({"get", "ftp://user:ftp-s3cr3t@127.0.0.1/x"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.find("ftp-s3cr3t"), std::string::npos) << r.err;
}

TEST(HostileCli, GetRefusesNanTimeoutsAndAbsurdConcurrencyNamingTheOption) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--timeout", "NaN"},
                                               {"--timeout", "inf"},
                                               {"--timeout", "1e300"},
                                               {"--concurrency", "100000"}}) {
    std::vector<std::string> full = {"get", "http://127.0.0.1:9/"};
    full.insert(full.end(), args.begin(), args.end());
    CommandResult r = rebound_cli(full);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(args[0]), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("summary"), std::string::npos) << "requests were made";
  }
}

}  // namespace
