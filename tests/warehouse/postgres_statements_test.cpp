// The PostgreSQL back end's per-connection statement cache, against the
// real throwaway server: a statement is prepared on its second use and then
// reused; a table changing shape under a cached plan is handled; errors of a
// prepared statement read as they would unprepared; a replaced connection
// starts with an empty cache.
#include <gtest/gtest.h>

#include <string>

#include "backends.hpp"

#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::warehouse::test {
namespace {

// How many of our statements the session's connection has prepared for `sql`.
std::int64_t prepared_count(Session& s, const std::string& sql) {
  const Value text[] = {sql};
  // Counted with the server's own view; the probe itself runs unprepared
  // text (a new literal each time is not needed: it is keyed by its text).
  auto r = s.query(
      "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'rebound_s%' AND statement = "
      "$1::text",
      text);
  EXPECT_THAT(r, IsOk());
  return r ? std::get<std::int64_t>(r->rows.at(0).at(0)) : -1;
}

TEST(PostgresStatements, PreparedOnSecondUseThenReused) {
  auto wh = PostgresBackend{}.open(1);
  const std::string table = unique_name("stmt");
  ASSERT_TRUE(wh->execute("CREATE TABLE " + table + " (id bigint primary key, v text)"));
  ASSERT_TRUE(wh->execute("INSERT INTO " + table + " VALUES (1, 'one'), (2, 'two')"));
  const std::string sql = "SELECT v FROM " + table + " WHERE id = $1";
  ASSERT_TRUE(wh->with_session([&](Session& s) -> Status {
    const Value one[] = {std::int64_t{1}};
    EXPECT_EQ(std::get<std::string>(s.query(sql, one)->rows.at(0).at(0)), "one");
    EXPECT_EQ(prepared_count(s, sql), 0) << "a first use is not prepared";
    const Value two[] = {std::int64_t{2}};
    EXPECT_EQ(std::get<std::string>(s.query(sql, two)->rows.at(0).at(0)), "two");
    EXPECT_EQ(prepared_count(s, sql), 1);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(s.query(sql, one));
    EXPECT_EQ(prepared_count(s, sql), 1) << "reused, not prepared again";
    return {};
  }));
  // The pool hands the same connection back: its cache is still there.
  ASSERT_TRUE(wh->with_session([&](Session& s) -> Status {
    EXPECT_EQ(prepared_count(s, sql), 1);
    return {};
  }));
}

TEST(PostgresStatements, ATableChangingShapeUnderACachedPlanIsReplannedTransparently) {
  auto wh = PostgresBackend{}.open(1);
  const std::string table = unique_name("shape");
  ASSERT_TRUE(wh->execute("CREATE TABLE " + table + " (id bigint)"));
  ASSERT_TRUE(wh->execute("INSERT INTO " + table + " VALUES (7)"));
  const std::string sql = "SELECT * FROM " + table;
  ASSERT_TRUE(wh->query(sql));
  ASSERT_TRUE(wh->query(sql));  // prepared now
  ASSERT_TRUE(wh->execute("ALTER TABLE " + table + " ADD COLUMN name text DEFAULT 'x'"));
  auto r = wh->query(sql);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->columns, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(std::get<std::string>(r->rows.at(0).at(1)), "x");
  auto again = wh->query(sql);
  ASSERT_THAT(again, IsOk());
}

TEST(PostgresStatements, ErrorsReadAsTheyWouldUnprepared) {
  auto wh = PostgresBackend{}.open(1);
  const std::string missing = unique_name("missing");
  for (int i = 0; i < 3; ++i) {
    auto r = wh->query("SELECT * FROM " + missing);
    ASSERT_FALSE(r);
    EXPECT_THAT(r, HasErrorMessage(HasSubstr("does not exist")));
    EXPECT_EQ(r.error().code, "42P01");
  }
  // Inside a transaction, a failing prepare reports the real error too.
  const Status tx = wh->transaction({}, [&](Session& s) -> Status {
    for (int i = 0; i < 2; ++i) {
      auto r = s.query("SELECT * FROM " + missing);
      if (!r) return fail(r.error());
    }
    return {};
  });
  ASSERT_FALSE(tx);
  EXPECT_THAT(tx, HasErrorCode("42P01"));
}

}  // namespace
}  // namespace rebound::warehouse::test
