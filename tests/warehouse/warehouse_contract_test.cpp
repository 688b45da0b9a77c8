// The Warehouse contract: every back end (SQLite, PostgreSQL, BigQuery on
// rebound's emulator) must pass this one suite. Behaviour is written once,
// run per back end; the two cases that need a multi-call transaction or a
// CHECK constraint say SKIPPED for BigQuery with the reason, and
// tests/warehouse/bigquery/emulator_test.cpp covers their BigQuery forms.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backends.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/batch_writer.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::warehouse::test {
namespace {

using nlohmann::json;

template <class Backend>
class WarehouseContract : public ::testing::Test {
 protected:
  void SetUp() override { wh_ = backend_.open(); }

  std::int64_t count(const std::string& table) {
    auto r = wh_->query("SELECT count(*) FROM " + quote_identifier(table));
    EXPECT_THAT(r, IsOk());
    return r ? std::get<std::int64_t>(r->rows.at(0).at(0)) : -1;
  }
  void make_table(const std::string& table) {
    const Schema schema{{{.name = "id", .type = ColumnType::integer, .nullable = false},
                         {.name = "name", .type = ColumnType::text},
                         {.name = "score", .type = ColumnType::real},
                         {.name = "ok", .type = ColumnType::boolean}}};
    auto st = wh_->create_table(TableName{.schema = {}, .name = table}, schema,
                                std::vector<std::string>{"id"});
    ASSERT_THAT(st, IsOk());
  }
  BatchWriter writer(const std::string& table, bool create = true) {
    auto w = BatchWriter::make(wh_, {.table = table,
                                     .keys = {"id"},
                                     .create_table = create,
                                     .policy = default_write_policy(0.001)});
    EXPECT_THAT(w, IsOk());
    return std::move(*w);
  }

  Backend backend_;
  std::shared_ptr<Warehouse> wh_;
};

using Backends = ::testing::Types<SqliteBackend, PostgresBackend, BigQueryBackend>;
struct BackendNames {
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};
TYPED_TEST_SUITE(WarehouseContract, Backends, BackendNames);

TYPED_TEST(WarehouseContract, BindsValuesAsParametersNeverAsSql) {
  const std::string t = TypeParam::table("params");
  this->make_table(t);
  const std::string evil = "x'); DROP TABLE " + t + "; --";
  const Value args[] = {std::int64_t{1}, evil};
  auto n = this->wh_->execute("INSERT INTO " + quote_identifier(t) + " (id, name) VALUES ($1, $2)",
                              args);
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, 1);
  auto r = this->wh_->query("SELECT name FROM " + quote_identifier(t));
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(std::get<std::string>(r->rows[0][0]), evil);
}

TYPED_TEST(WarehouseContract, BindsPlaceholdersByNumberInAnyOrder) {
  const std::string t = TypeParam::table("order");
  this->make_table(t);
  const Value args[] = {std::int64_t{7}, std::string("seven")};
  ASSERT_TRUE(this->wh_->execute(
      "INSERT INTO " + quote_identifier(t) + " (name, id) VALUES ($2, $1)", args));
  const Value key[] = {std::int64_t{7}};
  auto r = this->wh_->query("SELECT name FROM " + quote_identifier(t) + " WHERE id = $1", key);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(std::get<std::string>(r->rows[0][0]), "seven");
}

TYPED_TEST(WarehouseContract, RoundTripsEveryValueType) {
  const std::string t = TypeParam::table("types");
  this->make_table(t);
  const Value a[] = {std::int64_t{-9007199254740993}, std::string("héllo"), 0.1, true};
  const Value b[] = {std::int64_t{2}, Null{}, Null{}, false};
  const std::string sql =
      "INSERT INTO " + quote_identifier(t) + " (id, name, score, ok) VALUES ($1, $2, $3, $4)";
  ASSERT_TRUE(this->wh_->execute(sql, a));
  ASSERT_TRUE(this->wh_->execute(sql, b));
  auto r =
      this->wh_->query("SELECT id, name, score, ok FROM " + quote_identifier(t) + " ORDER BY id");
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->columns, (std::vector<std::string>{"id", "name", "score", "ok"}));
  EXPECT_EQ(r->rows[0], (Row{std::int64_t{-9007199254740993}, std::string("héllo"), 0.1, true}));
  EXPECT_EQ(r->rows[1], (Row{std::int64_t{2}, Null{}, Null{}, false}));
}

TYPED_TEST(WarehouseContract, TransactionCommitsWhenTheCallbackSucceeds) {
  if constexpr (!TypeParam::kTransactions) {
    GTEST_SKIP() << "BigQuery has no transaction spanning REST calls; transaction() refuses "
                    "(see TransactionsAreRefusedWhereThereAreNone)";
  }
  const std::string t = TypeParam::table("commit");
  this->make_table(t);
  auto st = this->wh_->transaction({}, [&](Session& s) -> Status {
    const Value one[] = {std::int64_t{1}};
    const Value two[] = {std::int64_t{2}};
    const std::string sql = "INSERT INTO " + quote_identifier(t) + " (id) VALUES ($1)";
    if (auto r = s.execute(sql, one); !r) return fail(r.error());
    if (auto r = s.execute(sql, two); !r) return fail(r.error());
    return {};
  });
  ASSERT_THAT(st, IsOk());
  EXPECT_EQ(this->count(t), 2);
}

TYPED_TEST(WarehouseContract, TransactionRollsBackWhenTheCallbackFails) {
  if constexpr (!TypeParam::kTransactions) {
    GTEST_SKIP() << "BigQuery has no transaction spanning REST calls; transaction() refuses "
                    "(see TransactionsAreRefusedWhereThereAreNone)";
  }
  const std::string t = TypeParam::table("rollback");
  this->make_table(t);
  auto st = this->wh_->transaction({}, [&](Session& s) -> Status {
    const Value one[] = {std::int64_t{1}};
    if (auto r = s.execute("INSERT INTO " + quote_identifier(t) + " (id) VALUES ($1)", one); !r)
      return fail(r.error());
    return fail(Error::permanent("the caller changed its mind"));
  });
  ASSERT_FALSE(st);
  EXPECT_THAT(st, HasErrorMessage("the caller changed its mind"));
  EXPECT_EQ(this->count(t), 0);
  // The connection went back clean: the next transaction works.
  EXPECT_TRUE(this->wh_->transaction({}, [](Session&) -> Status { return {}; }));
}

TYPED_TEST(WarehouseContract, TransactionsAreRefusedWhereThereAreNone) {
  if constexpr (TypeParam::kTransactions) {
    GTEST_SKIP() << TypeParam::kName << " has transactions (the two cases above)";
  } else {
    bool ran = false;
    auto st = this->wh_->transaction({}, [&](Session&) -> Status {
      ran = true;
      return {};
    });
    ASSERT_FALSE(st);
    EXPECT_FALSE(ran);  // nothing half-done: the callback never ran
    EXPECT_EQ(st.error().error_class, ErrorClass::permanent);
    EXPECT_THAT(st, HasErrorMessage(HasSubstr("BatchWriter")));
  }
}

TYPED_TEST(WarehouseContract, LoadKeepsTabsNewlinesBackslashesAndQuotesExact) {
  const std::string t = TypeParam::table("load");
  this->make_table(t);
  const std::vector<std::string> texts = {
      "tab\there", "line\nbreak", "cr\rlf\r\n", "back\\slash", "\\N", "'quoted' \"double\"",
      "",          "ünïcødé ✓",   "a,b;c|d"};
  RowSet rows{.schema = {{{.name = "id", .type = ColumnType::integer},
                          {.name = "name", .type = ColumnType::text},
                          {.name = "score", .type = ColumnType::real},
                          {.name = "ok", .type = ColumnType::boolean}}},
              .rows = {}};
  for (std::size_t i = 0; i < texts.size(); ++i) {
    rows.rows.push_back(
        {static_cast<std::int64_t>(i), texts[i], 1.0 / 3.0 + static_cast<double>(i), i % 2 == 0});
  }
  rows.rows.push_back({std::int64_t{100}, Null{}, Null{}, Null{}});
  auto st = this->wh_->load(TableName{.schema = {}, .name = t}, rows);
  ASSERT_THAT(st, IsOk());
  auto r =
      this->wh_->query("SELECT id, name, score, ok FROM " + quote_identifier(t) + " ORDER BY id");
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->rows.size(), rows.rows.size());
  for (std::size_t i = 0; i < rows.rows.size(); ++i) EXPECT_EQ(r->rows[i], rows.rows[i]) << i;
}

TYPED_TEST(WarehouseContract, DescribeReportsColumnsOrNothing) {
  const std::string t = TypeParam::table("describe");
  this->make_table(t);
  auto d = this->wh_->describe(TableName{.schema = {}, .name = t});
  ASSERT_THAT(d, IsOk());
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->describe(), "id integer not null, name text, score real, ok boolean");
  auto missing = this->wh_->describe(TableName{.schema = {}, .name = t + "_missing"});
  ASSERT_THAT(missing, IsOk());
  EXPECT_FALSE(missing->has_value());
}

TYPED_TEST(WarehouseContract, RefusesASecondStatementInOneCall) {
  const std::string t = TypeParam::table("multi");
  this->make_table(t);
  auto r = this->wh_->execute("SELECT 1; DROP TABLE " + quote_identifier(t));
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().retriable()) << r.error().describe();
  EXPECT_EQ(this->count(t), 0);  // still there
}

TYPED_TEST(WarehouseContract, TrailingCommentsAndSemicolonsAreOneStatement) {
  auto r = this->wh_->query("SELECT 1 AS one; -- the answer\n");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->rows.at(0).at(0), Value{std::int64_t{1}});
}

TYPED_TEST(WarehouseContract, SyntaxErrorsAreNotRetriable) {
  auto r = this->wh_->execute("SELEKT nothing");
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().retriable()) << r.error().describe();
  EXPECT_EQ(r.error().source, TypeParam::kName);
}

TYPED_TEST(WarehouseContract, BatchWriterCreatesTheTargetAndMergesOnKeys) {
  const std::string t = TypeParam::table("merge");
  auto w = this->writer(t);
  std::vector<json> first = {{{"id", 1}, {"name", "a"}, {"score", 1.5}},
                             {{"id", 2}, {"name", "b"}, {"score", 2}}};
  auto out = w.write(first);
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out.report.rows_read, 2u);
  EXPECT_EQ(out.report.rows_merged, 2);
  EXPECT_EQ(out.report.retry.attempts, 1);
  std::vector<json> second = {{{"id", 2}, {"name", "B"}, {"score", 20}},
                              {{"id", 3}, {"name", "c"}, {"score", 3}}};
  out = w.write(second);
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out.report.rows_merged, 2);
  auto r = this->wh_->query("SELECT id, name, score FROM " + quote_identifier(t) + " ORDER BY id");
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->rows.size(), 3u);
  EXPECT_EQ(r->rows[1], (Row{std::int64_t{2}, std::string("B"), 20.0}));
}

TYPED_TEST(WarehouseContract, WritingTheSameRowsTwiceNeverDuplicates) {
  const std::string t = TypeParam::table("twice");
  auto w = this->writer(t);
  std::vector<json> rows;
  for (int i = 0; i < 500; ++i) rows.push_back({{"id", i}, {"name", "n" + std::to_string(i)}});
  ASSERT_TRUE(w.write(rows));
  ASSERT_TRUE(w.write(rows));
  EXPECT_EQ(this->count(t), 500);
}

TYPED_TEST(WarehouseContract, DuplicateKeysInOneBatchLastRowWins) {
  const std::string t = TypeParam::table("dupes");
  auto w = this->writer(t);
  std::vector<json> rows = {{{"id", 1}, {"name", "first"}},
                            {{"id", 2}, {"name", "other"}},
                            {{"id", 1}, {"name", "last"}}};
  auto out = w.write(rows);
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out.report.duplicates, 1u);
  EXPECT_EQ(out.report.rows_merged, 2);
  auto r = this->wh_->query("SELECT name FROM " + quote_identifier(t) + " WHERE id = 1");
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<std::string>(r->rows.at(0).at(0)), "last");
}

TYPED_TEST(WarehouseContract, FailedAttemptLeavesTargetUntouchedAndNoStagingTable) {
  if constexpr (!TypeParam::kTransactions) {
    GTEST_SKIP() << "needs a CHECK constraint, which BigQuery lacks; the BigQuery form "
                    "(a MERGE job failing mid-write) is OnEmulator."
                    "PermanentJobFailuresSurfaceWithNothingWrittenAndNoStagingLeft";
  }
  const std::string t = TypeParam::table("untouched");
  this->wh_ = this->backend_.open(1);  // one connection: the staging check sees its temp tables
  ASSERT_TRUE(
      this->wh_->execute("CREATE TABLE " + quote_identifier(t) +
                         " (id bigint PRIMARY KEY, score double precision CHECK (score >= 0))"));
  auto w = this->writer(t, false);
  ASSERT_TRUE(w.write(std::vector<json>{{{"id", 1}, {"score", 1.0}}}));
  // Row 2 passes client validation but the server's CHECK refuses it mid-MERGE.
  std::vector<json> rows = {{{"id", 1}, {"score", 5.0}}, {{"id", 2}, {"score", -1.0}}};
  auto out = w.write(rows);
  ASSERT_FALSE(out);
  EXPECT_FALSE(out.status.error().retriable()) << out.status.error().describe();
  EXPECT_EQ(out.report.retry.attempts, 1);
  auto r = this->wh_->query("SELECT id, score FROM " + quote_identifier(t));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0], (Row{std::int64_t{1}, 1.0}));
  const std::string staging_sql =
      std::string(TypeParam::kName) == "sqlite"
          ? "SELECT count(*) FROM temp.sqlite_master WHERE name LIKE 'rebound_stage%'"
          : "SELECT count(*) FROM pg_class WHERE relname LIKE 'rebound_stage%'";
  auto staged = this->wh_->query(staging_sql);
  ASSERT_THAT(staged, IsOk());
  EXPECT_EQ(std::get<std::int64_t>(staged->rows.at(0).at(0)), 0);
}

TYPED_TEST(WarehouseContract, MissingTargetWithoutCreateIsAClearError) {
  const std::string t = TypeParam::table("absent");
  auto w = this->writer(t, false);
  auto out = w.write(std::vector<json>{{{"id", 1}}});
  ASSERT_FALSE(out);
  EXPECT_THAT(out, HasErrorMessage(HasSubstr("table " + t + " does not exist")));
}

TYPED_TEST(WarehouseContract, RowsThatDoNotFitTheTableAreRefusedBeforeAnyWrite) {
  const std::string t = TypeParam::table("mismatch");
  this->make_table(t);
  auto w = this->writer(t, false);
  auto wrong_type =
      w.write(std::vector<json>{{{"id", 1}, {"score", 1.0}}, {{"id", 2}, {"score", "high"}}});
  ASSERT_FALSE(wrong_type);
  // rows_from_json already refuses a column that mixes real and text.
  EXPECT_THAT(wrong_type, HasErrorMessage(HasSubstr("column \"score\"")));
  auto text_into_int = w.write(std::vector<json>{{{"id", 3}, {"ok", "yes"}}});
  ASSERT_FALSE(text_into_int);
  EXPECT_THAT(text_into_int,
              HasErrorMessage(HasSubstr("column \"ok\" of " + t +
                                        " has type boolean, but the value \"yes\" is text")));
  auto missing = w.write(std::vector<json>{{{"id", 4}, {"colour", "red"}}});
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing,
              HasErrorMessage(HasSubstr("column \"colour\" does not exist in table " + t)));
  auto null_key = w.write(std::vector<json>{{{"id", nullptr}, {"name", "x"}}});
  ASSERT_FALSE(null_key);
  EXPECT_EQ(this->count(t), 0);
}

TYPED_TEST(WarehouseContract, IntegersWidenIntoRealColumns) {
  const std::string t = TypeParam::table("widen");
  this->make_table(t);
  auto w = this->writer(t, false);
  auto out = w.write(std::vector<json>{{{"id", 1}, {"score", 3}}});
  ASSERT_THAT(out, IsOk());
  auto r = this->wh_->query("SELECT score FROM " + quote_identifier(t));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rows.at(0).at(0), Value{3.0});
}

}  // namespace
}  // namespace rebound::warehouse::test
