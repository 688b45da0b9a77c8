// The SQL text the PostgreSQL and SQLite back ends share
// (internal/sql_dialect.hpp): the exact statements for each dialect, then the
// same statements run on a real SQLite file and the throwaway PostgreSQL 15
// (staging -> upsert/MERGE, with the casts PostgreSQL needs).
#include "rebound/warehouse/internal/sql_dialect.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rebound/core/temp_dir.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/testing/postgres_server.hpp"
#include "rebound/warehouse/postgres_warehouse.hpp"
#include "rebound/warehouse/sqlite_warehouse.hpp"

namespace rebound::warehouse::detail {
namespace {

using rebound::testing::IsOk;

const Schema kBox{.columns = {{.name = "id", .type = ColumnType::integer, .nullable = false},
                              {.name = "name", .type = ColumnType::text, .nullable = true},
                              {.name = "score", .type = ColumnType::real, .nullable = false},
                              {.name = "seen", .type = ColumnType::boolean, .nullable = true}}};
const TableName kTarget{.schema = "stats", .name = "box"};
const TableName kStaging{.schema = {}, .name = "stage_1"};
const std::vector<std::string> kKeys = {"id"};

TEST(SqlDialect, TypeNamesPerDialect) {
  EXPECT_EQ(sql_type(SqlDialect::postgresql, ColumnType::boolean), "boolean");
  EXPECT_EQ(sql_type(SqlDialect::postgresql, ColumnType::integer), "bigint");
  EXPECT_EQ(sql_type(SqlDialect::postgresql, ColumnType::real), "double precision");
  EXPECT_EQ(sql_type(SqlDialect::postgresql, ColumnType::text), "text");
  EXPECT_EQ(sql_type(SqlDialect::sqlite, ColumnType::boolean), "BOOLEAN");
  EXPECT_EQ(sql_type(SqlDialect::sqlite, ColumnType::integer), "INTEGER");
  EXPECT_EQ(sql_type(SqlDialect::sqlite, ColumnType::real), "REAL");
  EXPECT_EQ(sql_type(SqlDialect::sqlite, ColumnType::text), "TEXT");
}

TEST(SqlDialect, CreateTableDeclaresTypesNotNullAndTheKey) {
  EXPECT_EQ(create_table_sql(SqlDialect::postgresql, kTarget, kBox, kKeys, false),
            "CREATE TABLE IF NOT EXISTS \"stats\".\"box\" (\"id\" bigint NOT NULL, \"name\" text, "
            "\"score\" double precision NOT NULL, \"seen\" boolean, PRIMARY KEY (\"id\"))");
  EXPECT_EQ(create_table_sql(SqlDialect::sqlite, kTarget, kBox, kKeys, false),
            "CREATE TABLE IF NOT EXISTS \"stats\".\"box\" (\"id\" INTEGER NOT NULL, \"name\" TEXT, "
            "\"score\" REAL NOT NULL, \"seen\" BOOLEAN, PRIMARY KEY (\"id\"))");
  const std::vector<std::string> two = {"id", "name"};
  EXPECT_THAT(create_table_sql(SqlDialect::sqlite, kTarget, kBox, two, false),
              ::testing::EndsWith(", PRIMARY KEY (\"id\", \"name\"))"));
}

TEST(SqlDialect, TemporaryTablesAreUnqualifiedAndAcceptNulls) {
  const TableName qualified{.schema = "stats", .name = "stage_1"};
  EXPECT_EQ(create_table_sql(SqlDialect::postgresql, qualified, kBox, {}, true),
            "CREATE TEMP TABLE \"stage_1\" (\"id\" bigint, \"name\" text, \"score\" double "
            "precision, \"seen\" boolean)");
  EXPECT_EQ(create_table_sql(SqlDialect::sqlite, qualified, kBox, {}, true),
            "CREATE TEMP TABLE \"stage_1\" (\"id\" INTEGER, \"name\" TEXT, \"score\" REAL, "
            "\"seen\" BOOLEAN)");
}

TEST(SqlDialect, NamesAreQuotedWithQuotesDoubled) {
  const TableName odd{.schema = {}, .name = "we\"ird"};
  EXPECT_EQ(drop_table_sql(odd), "DROP TABLE IF EXISTS \"we\"\"ird\"");
  EXPECT_EQ(drop_table_sql(kTarget), "DROP TABLE IF EXISTS \"stats\".\"box\"");
  EXPECT_EQ(analyze_sql(kStaging), "ANALYZE \"stage_1\"");
  const std::vector<std::string> keys{"id", "we\"ird"};
  EXPECT_EQ(analyze_sql(kStaging, keys), "ANALYZE \"stage_1\" (\"id\", \"we\"\"ird\")");
}

TEST(SqlDialect, LoadIsCopyOnPostgresAndANumberedInsertOnSqlite) {
  EXPECT_EQ(load_sql(SqlDialect::postgresql, kStaging, kBox),
            "COPY \"stage_1\" (\"id\", \"name\", \"score\", \"seen\") FROM STDIN");
  EXPECT_EQ(load_sql(SqlDialect::sqlite, kStaging, kBox),
            "INSERT INTO \"stage_1\" (\"id\", \"name\", \"score\", \"seen\") VALUES (?1, ?2, ?3, "
            "?4)");
}

TEST(SqlDialect, PostgresMergeCastsStagedColumnsToTheTargetsDeclaredTypes) {
  const std::vector<DeclaredType> types = {{.column = "id", .type = "bigint"},
                                           {.column = "seen", .type = "boolean"}};
  EXPECT_EQ(merge_sql(SqlDialect::postgresql, kStaging, kTarget, kBox, kKeys, types),
            "MERGE INTO \"stats\".\"box\" AS t USING \"stage_1\" AS s ON t.\"id\" = CAST(s.\"id\" "
            "AS bigint) WHEN MATCHED THEN UPDATE SET \"name\" = s.\"name\", \"score\" = "
            "s.\"score\", \"seen\" = CAST(s.\"seen\" AS boolean) WHEN NOT MATCHED THEN INSERT "
            "(\"id\", \"name\", \"score\", \"seen\") VALUES (CAST(s.\"id\" AS bigint), s.\"name\", "
            "s.\"score\", CAST(s.\"seen\" AS boolean))");
}

TEST(SqlDialect, SqliteUpsertUpdatesEveryNonKeyColumnFromExcluded) {
  EXPECT_EQ(merge_sql(SqlDialect::sqlite, kStaging, kTarget, kBox, kKeys),
            "INSERT INTO \"stats\".\"box\" (\"id\", \"name\", \"score\", \"seen\") SELECT \"id\", "
            "\"name\", \"score\", \"seen\" FROM \"stage_1\" WHERE true ON CONFLICT (\"id\") DO "
            "UPDATE SET \"name\" = excluded.\"name\", \"score\" = excluded.\"score\", \"seen\" = "
            "excluded.\"seen\"");
}

TEST(SqlDialect, OnlyKeyColumnsMeanNothingToUpdate) {
  const Schema keys_only{.columns = {{.name = "id", .type = ColumnType::integer}}};
  EXPECT_EQ(merge_sql(SqlDialect::postgresql, kStaging, kTarget, keys_only, kKeys),
            "MERGE INTO \"stats\".\"box\" AS t USING \"stage_1\" AS s ON t.\"id\" = s.\"id\" WHEN "
            "NOT MATCHED THEN INSERT (\"id\") VALUES (s.\"id\")");
  EXPECT_EQ(merge_sql(SqlDialect::sqlite, kStaging, kTarget, keys_only, kKeys),
            "INSERT INTO \"stats\".\"box\" (\"id\") SELECT \"id\" FROM \"stage_1\" WHERE true ON "
            "CONFLICT (\"id\") DO NOTHING");
}

TEST(SqlDialect, BeginFollowsIsolationOnPostgresAndTheWriteLockOnSqlite) {
  using std::string_view;
  EXPECT_EQ(string_view(begin_sql(SqlDialect::postgresql, {})), "BEGIN");
  EXPECT_EQ(string_view(begin_sql(SqlDialect::postgresql, {.isolation = Isolation::serializable})),
            "BEGIN ISOLATION LEVEL SERIALIZABLE");
  EXPECT_EQ(string_view(begin_sql(SqlDialect::sqlite, {.write = true})), "BEGIN IMMEDIATE");
  EXPECT_EQ(string_view(begin_sql(SqlDialect::sqlite, {.write = false})), "BEGIN");
}

TEST(SqlDialect, CatalogQueriesNameTheirSources) {
  EXPECT_THAT(std::string(describe_sql(SqlDialect::postgresql)),
              ::testing::HasSubstr("to_regclass($1)"));
  EXPECT_THAT(std::string(describe_sql(SqlDialect::sqlite)),
              ::testing::HasSubstr("pragma_table_info($1, $2)"));
  EXPECT_THAT(std::string(declared_types_sql()), ::testing::HasSubstr("format_type("));
}

// The rows of "box" ordered by id, as "id:name:score" strings.
std::vector<std::string> box_rows(Warehouse& wh, const TableName& table) {
  auto r = wh.query("SELECT id, name, score FROM " + table.quoted() + " ORDER BY id");
  EXPECT_THAT(r, IsOk());
  std::vector<std::string> out;
  if (!r) return out;
  for (const Row& row : r->rows)
    out.push_back(to_display(row[0]) + ":" + to_display(row[1]) + ":" + to_display(row[2]));
  return out;
}

TEST(SqlDialect, SqliteStatementsRunOnARealFile) {
  auto dir = TempDir::make("rebound-sql-").value();
  auto wh = make_sqlite_warehouse({.path = (dir.path() / "t.db").string()});
  ASSERT_THAT(wh, IsOk());
  const TableName target{.schema = {}, .name = "box"};
  ASSERT_THAT((*wh)->execute(create_table_sql(SqlDialect::sqlite, target, kBox, kKeys, false)),
              IsOk());
  ASSERT_THAT((*wh)->execute("INSERT INTO box VALUES (1, 'old', 1.0, 0), (2, 'keep', 2.0, 1)"),
              IsOk());
  const Status st = (*wh)->transaction({}, [&](Session& s) -> Status {
    if (auto r = s.execute(create_table_sql(SqlDialect::sqlite, kStaging, kBox, {}, true)); !r)
      return fail(r.error());
    const std::vector<std::vector<Value>> staged = {
        {std::int64_t{1}, std::string("new"), 1.5, true},
        {std::int64_t{3}, Value{Null{}}, 3.0, Value{Null{}}}};
    for (const auto& row : staged) {
      if (auto r = s.execute(load_sql(SqlDialect::sqlite, kStaging, kBox), row); !r)
        return fail(r.error());
    }
    auto merged = s.execute(merge_sql(SqlDialect::sqlite, kStaging, target, kBox, kKeys));
    if (!merged) return fail(merged.error());
    EXPECT_EQ(*merged, 2);
    if (auto r = s.execute(drop_table_sql(kStaging)); !r) return fail(r.error());
    return {};
  });
  ASSERT_THAT(st, IsOk());
  EXPECT_THAT(box_rows(**wh, target),
              ::testing::ElementsAre("1:\"new\":1.5", "2:\"keep\":2", "3:null:3"));
}

TEST(SqlDialect, PostgresMergeRunsOnTheRealServerWithCasts) {
  auto server = rebound::testing::PostgresServer::shared();
  ASSERT_THAT(server, IsOk());
  auto wh = make_postgres_warehouse({.url = (*server)->url(), .pool_size = 1});
  ASSERT_THAT(wh, IsOk());
  const TableName target{.schema = {}, .name = "dialect_box"};
  ASSERT_THAT((*wh)->execute(drop_table_sql(target)), IsOk());
  // "seen" is a timestamptz the staging table holds as text: the MERGE casts it.
  ASSERT_THAT((*wh)->execute("CREATE TABLE dialect_box (id bigint PRIMARY KEY, name text, score "
                             "double precision, seen timestamptz)"),
              IsOk());
  ASSERT_THAT((*wh)->execute("INSERT INTO dialect_box VALUES (1, 'old', 1, NULL)"), IsOk());
  const Schema staged{.columns = {{.name = "id", .type = ColumnType::integer},
                                  {.name = "name", .type = ColumnType::text},
                                  {.name = "score", .type = ColumnType::real},
                                  {.name = "seen", .type = ColumnType::text}}};
  const Status st =
      (*wh)->transaction({.isolation = Isolation::serializable}, [&](Session& s) -> Status {
        if (auto r =
                s.execute(create_table_sql(SqlDialect::postgresql, kStaging, staged, {}, true));
            !r)
          return fail(r.error());
        if (auto r =
                s.execute("INSERT INTO stage_1 VALUES (1, 'new', 1.5, '2026-12-01T18:00:00Z'), "
                          "(2, NULL, 2, NULL)");
            !r)
          return fail(r.error());
        const Value args[] = {target.quoted()};
        auto declared = s.query(declared_types_sql(), args);
        if (!declared) return fail(declared.error());
        std::vector<DeclaredType> types;
        for (const Row& row : declared->rows)
          types.push_back(
              {.column = std::get<std::string>(row[0]), .type = std::get<std::string>(row[1])});
        if (auto r = s.execute(std::string(analyze_sample_sql())); !r) return fail(r.error());
        if (auto r = s.execute(analyze_sql(kStaging, kKeys)); !r) return fail(r.error());
        auto merged =
            s.execute(merge_sql(SqlDialect::postgresql, kStaging, target, staged, kKeys, types));
        if (!merged) return fail(merged.error());
        EXPECT_EQ(*merged, 2);
        if (auto r = s.execute(drop_table_sql(kStaging)); !r) return fail(r.error());
        return {};
      });
  ASSERT_THAT(st, IsOk());
  EXPECT_THAT(box_rows(**wh, target), ::testing::ElementsAre("1:\"new\":1.5", "2:null:2"));
  auto seen = (*wh)->query(
      "SELECT seen = '2026-12-01 18:00:00+00'::timestamptz FROM dialect_box WHERE id = 1");
  ASSERT_THAT(seen, IsOk());
  EXPECT_EQ(std::get<bool>(seen->rows.at(0).at(0)), true);
  auto described =
      (*wh)->query(describe_sql(SqlDialect::postgresql), std::vector<Value>{target.quoted()});
  ASSERT_THAT(described, IsOk());
  EXPECT_EQ(described->rows.size(), 4u);
}

}  // namespace
}  // namespace rebound::warehouse::detail
