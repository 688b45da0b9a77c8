// `rebound load` end to end: the built binary against a real SQLite file and
// the binary's throwaway PostgreSQL — success and its JSON summary, malformed
// input named by line and column with nothing written, and the exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../warehouse/backends.hpp"
#include "rebound/testing/matchers.hpp"

using rebound::testing::IsOk;

namespace rebound::warehouse::test {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LoadCli : public ::testing::Test {
 protected:
  std::string binary() const {
    // REBOUND_BIN lets the suite exercise another build of the binary.
    const char* env = std::getenv("REBOUND_BIN");
    return env ? env : REBOUND_BINARY;
  }
  std::filesystem::path write_input(const std::string& name, const std::string& text) {
    auto p = dir_.path() / name;
    std::ofstream(p) << text;
    return p;
  }
  // Arguments are single-quoted for the shell; tests pass no quotes in them.
  CliRun run(const std::vector<std::string>& args, const std::string& stdin_file = "/dev/null") {
    std::string cmd = "'" + binary() + "' load";
    for (const std::string& a : args) cmd += " '" + a + "'";
    const auto out = dir_.path() / "out.txt";
    const auto err = dir_.path() / "err.txt";
    cmd += " < '" + stdin_file + "' > '" + out.string() + "' 2> '" + err.string() + "'";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
  std::string db() const { return (dir_.path() / "load.db").string(); }
  std::int64_t sqlite_count(const std::string& sql) {
    auto wh = open_warehouse(db());
    EXPECT_TRUE(wh);
    auto r = (*wh)->query(sql);
    EXPECT_THAT(r, IsOk());
    return r ? std::get<std::int64_t>(r->rows.at(0).at(0)) : -1;
  }

  TempDir dir_ = temp_dir();
};

const char* kRows =
    "{\"day\": \"2026-01-01\", \"box\": 1, \"hits\": 10}\n"
    "\n"
    "{\"day\": \"2026-01-01\", \"box\": 2, \"hits\": 20}\n"
    "{\"day\": \"2026-01-01\", \"box\": 1, \"hits\": 11}\n";

TEST_F(LoadCli, WritesRowsAndPrintsAJsonSummary) {
  auto input = write_input("rows.ndjson", kRows);
  CliRun r = run({input.string(), "--into", db(), "--table", "stats", "--key", "day,box",
                  "--create", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["rows_read"], 3);
  EXPECT_EQ(j["duplicates"], 1);
  EXPECT_EQ(j["rows_merged"], 2);
  EXPECT_EQ(j["attempts"], 1);
  EXPECT_EQ(j["failures_by_class"]["serialization_conflict"], 0);
  EXPECT_TRUE(j.contains("elapsed_ms"));
  EXPECT_TRUE(r.err.empty()) << "no progress bar when stderr is not a terminal: " << r.err;
  EXPECT_EQ(sqlite_count("SELECT hits FROM stats WHERE box = 1"), 11);  // last row wins
  // Loading the same file again never duplicates.
  r = run({input.string(), "--into", "sqlite://" + db(), "--table", "stats", "--key", "day,box"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sqlite_count("SELECT count(*) FROM stats"), 2);
}

TEST_F(LoadCli, ReadsStandardInputFromDash) {
  auto input = write_input("rows.ndjson", kRows);
  CliRun r = run({"-", "--into", db(), "--table", "stats", "--key", "day,box", "--create"},
                 input.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("merged 2 rows into stats"), std::string::npos) << r.out;
}

TEST_F(LoadCli, MalformedLineIsNamedWithLineAndColumnAndNothingIsWritten) {
  auto input = write_input("bad.ndjson",
                           "{\"id\": 1, \"name\": \"a\"}\n"
                           "{\"id\": 2, \"name\": \"b\"}\n"
                           "\n"
                           "{\"id\": 4, \"name\": }\n"
                           "{\"id\": 5, \"name\": \"e\"}\n");
  CliRun r = run({input.string(), "--into", db(), "--table", "t", "--key", "id", "--create"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("line 4, column 19: malformed JSON"), std::string::npos) << r.err;
  EXPECT_EQ(sqlite_count("SELECT count(*) FROM sqlite_master"), 0) << "nothing may be written";
}

TEST_F(LoadCli, TypeMismatchIsNamedByLineAndNothingIsWritten) {
  auto input = write_input("mixed.ndjson", "{\"id\": 1, \"n\": 1}\n{\"id\": 2, \"n\": \"two\"}\n");
  CliRun r =
      run({input.string(), "--into", db(), "--table", "t", "--key", "id", "--create", "--json"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("line 2, column \"n\""), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["exit_code"], 3);
  EXPECT_EQ(sqlite_count("SELECT count(*) FROM sqlite_master"), 0);
}

TEST_F(LoadCli, ExitCodesSayWhatWentWrong) {
  auto input = write_input("rows.ndjson", kRows);
  // 2: usage — bad table name, missing option, unknown scheme.
  EXPECT_EQ(run({input.string(), "--into", db(), "--table", "a;b", "--key", "day"}).exit_code, 2);
  EXPECT_EQ(run({input.string(), "--into", db(), "--table", "stats"}).exit_code, 2);
  CliRun scheme =
      run({input.string(), "--into", "mysql://u:hunter2@h/db", "--table", "s", "--key", "day"});
  EXPECT_EQ(scheme.exit_code, 2);
  EXPECT_EQ(scheme.err.find("hunter2"), std::string::npos) << scheme.err;
  // 3: bad input — the target is missing and --create was not given.
  EXPECT_EQ(
      run({input.string(), "--into", db(), "--table", "absent", "--key", "day,box"}).exit_code, 3);
  // 4: back end — nothing listens on port 1; transient retries run out quickly.
  CliRun down = run({input.string(), "--into", "postgresql://u:hunter2@127.0.0.1:1/db", "--table",
                     "s", "--key", "day,box", "--retry-scale", "0.001"});
  EXPECT_EQ(down.exit_code, 4) << down.err;
  EXPECT_EQ(down.err.find("hunter2"), std::string::npos) << down.err;
}

TEST_F(LoadCli, LoadsIntoPostgres) {
  auto input = write_input("rows.ndjson", kRows);
  const std::string table = unique_name("cli");
  CliRun r = run({input.string(), "--into", postgres().url(), "--table", table, "--key", "day,box",
                  "--create", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["rows_merged"], 2);
  auto wh = open_warehouse(postgres().url());
  ASSERT_TRUE(wh);
  auto n = (*wh)->query("SELECT count(*) FROM " + quote_identifier(table));
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(n->rows.at(0).at(0), Value{std::int64_t{2}});
}

}  // namespace
}  // namespace rebound::warehouse::test
