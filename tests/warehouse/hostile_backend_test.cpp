// What a hostile probe did to the back ends: odd client encodings, libpq
// keyword strings, rejected loads with --create, ISO-8601 text into typed
// PostgreSQL columns, a stalled server, many processes opening one new
// SQLite file. Real SQLite files and the binary's throwaway PostgreSQL.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "backends.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/batch_writer.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::warehouse::test {
namespace {

using nlohmann::json;

BatchWriter writer_for(std::shared_ptr<Warehouse> wh, const std::string& table, bool create) {
  auto w = BatchWriter::make(std::move(wh), {.table = table,
                                             .keys = {"id"},
                                             .create_table = create,
                                             .policy = default_write_policy(0.001)});
  EXPECT_THAT(w, IsOk());
  return std::move(*w);
}

std::shared_ptr<Warehouse> open_pg(const std::string& database = "postgres") {
  auto wh = make_postgres_warehouse({.url = postgres().url(database), .pool_size = 2});
  EXPECT_THAT(wh, IsOk());
  return *wh;
}

// A database in the given encoding (created once per binary).
std::string database_in(const std::string& encoding) {
  std::string name = "enc_" + unique_name(encoding);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto admin = open_pg();
  auto made = admin->execute("CREATE DATABASE " + name + " ENCODING '" + encoding +
                             "' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
  EXPECT_THAT(made, IsOk());
  return name;
}

// Sets an environment variable for the scope (the test binary is single-threaded here).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

// --- 1: text arrives exactly or the load fails -------------------------------

TEST(HostileBackend, PostgresTextIsUtf8WhateverPgClientEncodingSays) {
  const std::string db = database_in("UTF8");
  const std::string table = unique_name("enc");
  {
    ScopedEnv env("PGCLIENTENCODING", "LATIN1");
    auto out =
        writer_for(open_pg(db), table, true).write(std::vector<json>{{{"id", 1}, {"t", "é"}}});
    ASSERT_THAT(out, IsOk());
  }
  auto r = open_pg(db)->query("SELECT length(t)::int8, t FROM " + table);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(std::get<std::int64_t>(r->rows.at(0).at(0)), 1);  // mojibake "Ã©" has length 2
  EXPECT_EQ(std::get<std::string>(r->rows.at(0).at(1)), "é");
}

TEST(HostileBackend, Latin1DatabaseStoresWhatFitsAndRefusesWhatDoesNot) {
  const std::string db = database_in("LATIN1");
  const std::string table = unique_name("enc");
  auto wh = open_pg(db);
  auto ok = writer_for(wh, table, true).write(std::vector<json>{{{"id", 1}, {"t", "é"}}});
  ASSERT_THAT(ok, IsOk());
  auto r = wh->query("SELECT length(t)::int8, t FROM " + table);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(std::get<std::int64_t>(r->rows.at(0).at(0)), 1);
  EXPECT_EQ(std::get<std::string>(r->rows.at(0).at(1)), "é");

  auto euro = writer_for(wh, table, true).write(std::vector<json>{{{"id", 2}, {"t", "€"}}});
  ASSERT_FALSE(euro) << "a character LATIN1 cannot hold was stored";
  auto n = wh->query("SELECT count(*) FROM " + table);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::get<std::int64_t>(n->rows.at(0).at(0)), 1);
}

// --- 3: libpq keyword strings are PostgreSQL, never a file name ---------------

TEST(HostileBackend, KeywordConninfoOpensPostgresNotASqliteFile) {
  TempDir dir = temp_dir();
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(postgres().port()) +
                               " user=postgres password=s3cr3t dbname=postgres";
  auto wh = open_warehouse(conninfo);
  ASSERT_THAT(wh, IsOk());
  EXPECT_EQ((*wh)->backend(), "postgresql");
  EXPECT_EQ((*wh)->display_url().find("s3cr3t"), std::string::npos) << (*wh)->display_url();
  auto r = (*wh)->query("SELECT 1::int8");
  ASSERT_THAT(r, IsOk());

  auto bad = open_warehouse("host=127.0.0.1 password='s3cr3t dbname=x");  // unterminated quote
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad, HasErrorMessage(Not(HasSubstr("s3cr3t"))));
  std::filesystem::current_path(cwd);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "a file was created for a conninfo";
}

// --- 4: nothing remains from a load that wrote nothing -----------------------

template <class B>
class HostileCreate : public ::testing::Test {
 protected:
  B backend_;
};
using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;
TYPED_TEST_SUITE(HostileCreate, Backends);

TYPED_TEST(HostileCreate, RejectedLoadWithCreateLeavesNoTable) {
  auto wh = this->backend_.open();
  const std::string table = TypeParam::table("rejected");
  // The second row has no key: conform refuses it after the table was created.
  auto out =
      writer_for(wh, table, true).write(std::vector<json>{{{"id", 1}, {"v", "a"}}, {{"v", "b"}}});
  ASSERT_FALSE(out);
  auto schema = wh->describe(parse_table_name(table).value());
  ASSERT_THAT(schema, IsOk());
  EXPECT_FALSE(schema->has_value()) << "an empty table was left behind";
}

TYPED_TEST(HostileCreate, ConcurrentCreatesGiveOneTableAndEveryRow) {
  auto wh = this->backend_.open(8);
  const std::string table = TypeParam::table("race");
  std::vector<std::jthread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto out = writer_for(wh, table, true).write(std::vector<json>{{{"id", t}, {"v", "x"}}});
      EXPECT_THAT(out, IsOk());
      if (!out) ++failures;
    });
  }
  threads.clear();
  EXPECT_EQ(failures.load(), 0);
  auto n = wh->query("SELECT count(*) FROM " + table);
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(std::get<std::int64_t>(n->rows.at(0).at(0)), 6);
}

// --- 15: ISO-8601 / JSON / UUID text into typed PostgreSQL columns ------------

TEST(HostileBackend, IsoTextLoadsIntoTimestamptzDateJsonbUuid) {
  auto wh = open_pg();
  const std::string table = unique_name("typed");
  ASSERT_TRUE(wh->execute("CREATE TABLE " + table +
                          " (id uuid PRIMARY KEY, at timestamptz, day date, doc jsonb, n int4)"));
  const std::vector<json> rows = {
      {{"id", "0b6f7c2e-8d1a-4a57-9c3e-2f7a1d5e9b10"},
       {"at", "2026-01-02T03:04:05Z"},
       {"day", "2026-01-02"},
       {"doc", "{\"a\": [1, 2]}"},
       {"n", 7}},
      {{"id", "1b6f7c2e-8d1a-4a57-9c3e-2f7a1d5e9b10"},
       {"at", "2026-01-02T03:04:05.25+02:00"},
       {"day", nullptr},
       {"doc", "null"},
       {"n", 8}},
  };
  auto w = writer_for(wh, table, false);
  auto out = w.write(rows);
  ASSERT_THAT(out, IsOk());
  auto again = w.write(rows);  // the update path casts too
  ASSERT_THAT(again, IsOk());
  auto r = wh->query(
      "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), "
      "day::text, (doc->'a'->>1), n::int8 FROM " +
      table + " ORDER BY id");
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(std::get<std::string>(r->rows[0][0]), "2026-01-02 03:04:05.000");
  EXPECT_EQ(std::get<std::string>(r->rows[0][1]), "2026-01-02");
  EXPECT_EQ(std::get<std::string>(r->rows[0][2]), "2");
  EXPECT_EQ(std::get<std::string>(r->rows[1][0]), "2026-01-02 01:04:05.250");
  EXPECT_TRUE(is_null(r->rows[1][1]));

  auto bad = w.write(std::vector<json>{{{"id", "not-a-uuid"}, {"n", 1}}});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad, HasErrorClass(ErrorClass::permanent));
}

// --- 8: a stalled server is a classified error, not a hang -------------------

TEST(HostileBackend, StalledBackendTimesOutWithinTheBudget) {
  auto wh = make_postgres_warehouse({.url = postgres().url(), .pool_size = 1});
  ASSERT_TRUE(wh);
  auto pid = (*wh)->query("SELECT pg_backend_pid()::int8");
  ASSERT_THAT(pid, IsOk());
  const auto backend = static_cast<pid_t>(std::get<std::int64_t>(pid->rows.at(0).at(0)));
  ASSERT_EQ(::kill(backend, SIGSTOP), 0);
  auto st =
      (*wh)->transaction({.timeout = std::chrono::milliseconds{300}}, [](Session& s) -> Status {
        auto r = s.execute("SELECT 1");
        if (!r) return fail(std::move(r.error()));
        return {};
      });
  ::kill(backend, SIGCONT);
  ASSERT_FALSE(st) << "a stopped backend answered";
  EXPECT_THAT(st, HasErrorCode("57014"));
  EXPECT_EQ(st.error().error_class, ErrorClass::transient);
  // The broken connection was dropped: the next call gets a fresh one.
  auto next = (*wh)->query("SELECT 1::int8");
  EXPECT_THAT(next, IsOk());
}

TEST(HostileBackend, SilentServerConnectTimesOut) {
  // A listener that accepts TCP and never speaks: libpq's blocking connect
  // waited forever on it in some states; now the poll deadline ends it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string url =
      "postgresql://u:pw@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/db";
  auto wh = make_postgres_warehouse(
      {.url = url, .pool_size = 1, .connect_timeout = std::chrono::seconds{2}});
  ASSERT_TRUE(wh);
  auto r = (*wh)->query("SELECT 1");
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_THAT(r, HasErrorClass(ErrorClass::transient));
}

// --- max_connections below the pool (fault matrix) ------------------------------

TEST(HostileBackend, PoolLargerThanTheServerAllowsWaitsForItsOwnConnections) {
  // 12 writers, a pool of 12, a server that takes 4: the writers beyond the
  // server's limit used to burn their retries on "too many clients" and rows
  // were lost; now they wait for one of the pool's own connections.
  auto server = testing::PostgresServer::start(
      {.max_connections = 4, .settings = {"superuser_reserved_connections=0"}});
  ASSERT_THAT(server, IsOk());
  auto wh = make_postgres_warehouse({.url = (*server)->url(), .pool_size = 12});
  ASSERT_TRUE(wh);
  const std::string table = unique_name("starved");
  ASSERT_TRUE((*wh)->execute("CREATE TABLE " + table + " (id int8 PRIMARY KEY, v text)"));
  std::atomic<int> failures{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 12; ++t) {
      threads.emplace_back([&, t] {
        auto policy = default_write_policy(0.001);
        for (auto& rule : policy.rules) rule.max_attempts = std::min(rule.max_attempts, 3);
        auto w = BatchWriter::make(*wh, {.table = table, .keys = {"id"}, .policy = policy});
        for (int i = 0; i < 10; ++i) {
          auto out = w->write(std::vector<json>{{{"id", t * 100 + i}, {"v", "x"}}});
          EXPECT_THAT(out, IsOk());
          if (!out) ++failures;
        }
      });
    }
  }
  EXPECT_EQ(failures.load(), 0);
  auto n = (*wh)->query("SELECT count(*) FROM " + table);
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(std::get<std::int64_t>(n->rows.at(0).at(0)), 120);
}

// --- 17: many openers of one new SQLite file ---------------------------------

TEST(HostileBackend, ConcurrentOpensOfANewSqliteFileAllSucceed) {
  for (int round = 0; round < 20; ++round) {
    TempDir dir = temp_dir();
    const std::string path = (dir.path() / "new.db").string();
    std::atomic<int> failures{0};
    {
      std::vector<std::jthread> threads;
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
          auto wh = make_sqlite_warehouse({.path = path, .pool_size = 1});
          EXPECT_THAT(wh, IsOk());
          if (!wh) ++failures;
        });
      }
    }
    ASSERT_EQ(failures.load(), 0) << "round " << round;
  }
}

}  // namespace
}  // namespace rebound::warehouse::test
