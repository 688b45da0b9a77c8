// Bad input: names, JSON rows, URLs. Every case gets a clear error naming the
// offending value, and nothing reaches the database.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backends.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/batch_writer.hpp"
#include "rebound/warehouse/ndjson.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::warehouse::test {
namespace {

using nlohmann::json;

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Identifier, AcceptsLettersDigitsAndUnderscores) {
  EXPECT_TRUE(validate_identifier("box"));
  EXPECT_TRUE(validate_identifier("_Box_2"));
  EXPECT_TRUE(validate_identifier(std::string(63, 'a')));
  auto t = parse_table_name("stats.daily_box");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->schema, "stats");
  EXPECT_EQ(t->name, "daily_box");
  EXPECT_EQ(t->quoted(), "\"stats\".\"daily_box\"");
}

TEST(Identifier, RejectsEveryUnsafeNameAndNamesIt) {
  struct Case {
    std::string name;
    std::string_view why;
  };
  const std::vector<Case> cases = {
      {"", "is empty"},
      {std::string(64, 'a'), "64 bytes long"},
      {std::string("a\0b", 3), "NUL byte"},
      {"a\"b", "contains a quote"},
      {"a'b", "contains a quote"},
      {"box;drop", "contains a semicolon"},
      {"my table", "contains whitespace"},
      {"1box", "starts with a digit"},
      {"box-2", "character \"-\""},
      {"bøx", "character"},
  };
  for (const Case& c : cases) {
    auto st = validate_identifier(c.name, "column");
    ASSERT_FALSE(st) << c.name;
    EXPECT_EQ(st.error().error_class, ErrorClass::permanent);
    EXPECT_THAT(st, HasErrorMessage(HasSubstr(c.why)));
    if (!c.name.empty() && c.name.find('\0') == std::string::npos && c.name.size() < 60) {
      EXPECT_THAT(st, HasErrorMessage(HasSubstr("\"" + c.name + "\"")));
    }
  }
  EXPECT_FALSE(parse_table_name("a.b.c"));
  EXPECT_FALSE(parse_table_name(".box"));
  EXPECT_FALSE(parse_table_name("stats."));
}

TEST(Identifier, QuotingDoublesEmbeddedQuotesAsASecondDefence) {
  EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\"");
}

TEST(JsonRows, InfersTypesAndNullability) {
  std::vector<json> rows = {{{"id", 1}, {"x", 1}, {"ok", true}, {"s", "a"}},
                            {{"id", 2}, {"x", 2.5}, {"ok", nullptr}}};
  auto set = rows_from_json(rows);
  ASSERT_THAT(set, IsOk());
  // Columns in key order (nlohmann::json keeps object keys sorted).
  EXPECT_EQ(set->schema.describe(), "id integer not null, ok boolean, s text, x real not null");
  EXPECT_EQ(set->rows[0], (Row{std::int64_t{1}, true, std::string("a"), 1.0}));
  EXPECT_EQ(set->rows[1], (Row{std::int64_t{2}, Null{}, Null{}, 2.5}));
}

TEST(JsonRows, RefusesMixedTypesNestedValuesAndHugeValuesNamingTheLine) {
  const std::size_t lines[] = {10, 12, 15};
  const JsonRowsOptions options{.max_text_bytes = 1024, .source_lines = lines};
  auto mixed = rows_from_json(std::vector<json>{{{"id", 1}}, {{"id", "one"}}}, options);
  ASSERT_FALSE(mixed);
  EXPECT_THAT(mixed,
              HasErrorMessage(HasSubstr("line 12, column \"id\": text value \"one\" does not "
                                        "match the column's type integer (set by line 10)")));
  auto nested = rows_from_json(std::vector<json>{{{"id", 1}, {"tags", {1, 2}}}}, options);
  ASSERT_FALSE(nested);
  EXPECT_THAT(nested, HasErrorMessage(HasSubstr("line 10, column \"tags\": array values are not")));
  auto huge = rows_from_json(
      std::vector<json>{{{"id", 1}}, {{"id", 2}}, {{"id", 3}, {"blob", std::string(4096, 'x')}}},
      options);
  ASSERT_FALSE(huge);
  EXPECT_THAT(huge, HasErrorMessage(HasSubstr(
                        "line 15, column \"blob\": text value of 4096 bytes exceeds the limit of "
                        "1024 bytes")));
  auto too_big = rows_from_json(std::vector<json>{{{"id", 18446744073709551615ULL}}});
  ASSERT_FALSE(too_big);
  EXPECT_THAT(too_big, HasErrorMessage(HasSubstr("does not fit a signed 64-bit integer")));
  auto not_object = rows_from_json(std::vector<json>{json::array({1, 2})});
  ASSERT_FALSE(not_object);
  EXPECT_THAT(not_object, HasErrorMessage(HasSubstr("row 1: expected a JSON object, got array")));
  auto nul = rows_from_json(std::vector<json>{{{"s", std::string("a\0b", 3)}}});
  ASSERT_FALSE(nul);
  EXPECT_THAT(nul, HasErrorMessage(HasSubstr("NUL byte")));
}

TEST(Ndjson, CountsEveryLineSkipsBlanksAndStripsCarriageReturns) {
  auto in = parse_ndjson("{\"a\": 1}\r\n\n   \n{\"a\": 2}\n");
  ASSERT_THAT(in, IsOk());
  ASSERT_EQ(in->objects.size(), 2u);
  EXPECT_EQ(in->lines, (std::vector<std::size_t>{1, 4}));
  EXPECT_EQ(in->objects[1]["a"], 2);
}

TEST(Ndjson, ReportsTheFirstMalformedLineEvenWhenParsedOnManyThreads) {
  std::string text;
  for (int i = 1; i <= 40000; ++i) {
    if (i == 12345) {
      text += "{\"a\": tru}\n";  // first error: line 12345, column 7
    } else if (i == 33333) {
      text += "not json\n";
    } else {
      text += "{\"a\": " + std::to_string(i) + "}\n";
    }
  }
  for (std::size_t threads : {1u, 2u, 4u}) {
    auto in = parse_ndjson(text, {.threads = threads});
    ASSERT_FALSE(in);
    EXPECT_THAT(in, HasErrorMessage(HasSubstr("line 12345, column ")));
    EXPECT_THAT(in, HasErrorMessage(HasSubstr("malformed JSON")));
  }
  auto ok =
      parse_ndjson(std::string_view(text).substr(0, text.find("{\"a\": tru}")), {.threads = 4});
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->objects.size(), 12344u);
  EXPECT_EQ(ok->lines.back(), 12344u);
  EXPECT_EQ(ok->objects.back()["a"], 12344);
}

// Bad names reach no database: the SQLite file stays without a single table.
class BadInputSqlite : public ::testing::Test {
 protected:
  void SetUp() override { wh_ = backend_.open(); }
  std::int64_t tables() {
    auto r = wh_->query("SELECT count(*) FROM sqlite_master");
    EXPECT_THAT(r, IsOk());
    return r ? std::get<std::int64_t>(r->rows.at(0).at(0)) : -1;
  }
  SqliteBackend backend_;
  std::shared_ptr<Warehouse> wh_;
};

TEST_F(BadInputSqlite, TableAndKeyNamesWithQuotesSemicolonsOrSpacesAreRefused) {
  for (std::string table : {"box\"; DROP TABLE x; --", "my box", "box;", "sch.em.a"}) {
    auto w = BatchWriter::make(wh_, {.table = table, .keys = {"id"}, .create_table = true});
    ASSERT_FALSE(w) << table;
    EXPECT_EQ(w.error().error_class, ErrorClass::permanent);
  }
  auto bad_key = BatchWriter::make(wh_, {.table = "box", .keys = {"id; --"}, .create_table = true});
  ASSERT_FALSE(bad_key);
  EXPECT_THAT(bad_key,
              HasErrorMessage(HasSubstr("key column name \"id; --\" contains a semicolon")));
  EXPECT_FALSE(BatchWriter::make(wh_, {.table = "box", .keys = {}}));
  EXPECT_FALSE(BatchWriter::make(wh_, {.table = "box", .keys = {"id", "id"}}));
  EXPECT_EQ(tables(), 0);
}

TEST_F(BadInputSqlite, ColumnNamesFromJsonAreValidatedBeforeAnyWrite) {
  auto w = BatchWriter::make(wh_, {.table = "box", .keys = {"id"}, .create_table = true});
  ASSERT_TRUE(w);
  auto out = w->write(
      std::vector<json>{{{"id", 1}, {"ok", 1}}, {{"id", 2}, {"x\"); DROP TABLE box; --", 1}}});
  ASSERT_FALSE(out);
  EXPECT_THAT(out, HasErrorMessage(AnyOf(HasSubstr("row 2: column name \"x\\\"); DROP"),
                                         HasSubstr("row 2: column name"))));
  EXPECT_EQ(out.report.retry.attempts, 0);  // never reached the retry loop
  EXPECT_EQ(tables(), 0);                   // not even the target was created
}

TEST_F(BadInputSqlite, HugeBatchOfValidRowsStillLandsExactly) {
  auto w = BatchWriter::make(wh_, {.table = "box", .keys = {"id"}, .create_table = true});
  ASSERT_TRUE(w);
  std::vector<json> rows;
  const std::string big(64 * 1024, 'z');
  for (int i = 0; i < 64; ++i) rows.push_back({{"id", i}, {"blob", big}});
  auto out = w->write(rows);
  ASSERT_THAT(out, IsOk());
  auto r = wh_->query("SELECT count(*), sum(length(blob)) FROM box");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rows[0][0], Value{std::int64_t{64}});
  EXPECT_EQ(r->rows[0][1], Value{std::int64_t{64 * 64 * 1024}});
}

TEST(OpenWarehouse, PicksTheBackEndFromTheUrl) {
  TempDir dir = temp_dir();
  const std::string path = (dir.path() / "a.db").string();
  auto plain = open_warehouse(path);
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ((*plain)->backend(), "sqlite");
  auto scheme = open_warehouse("sqlite://" + path);
  ASSERT_THAT(scheme, IsOk());
  EXPECT_EQ((*scheme)->backend(), "sqlite");
  auto pg = open_warehouse("postgres://u@127.0.0.1:1/db");
  ASSERT_THAT(pg, IsOk());  // lazy: no connection yet
  EXPECT_EQ((*pg)->backend(), "postgresql");
}

TEST(OpenWarehouse, UnknownSchemeIsNamedAndThePasswordNeverShown) {
  auto wh = open_warehouse("mysql://admin:hunter2@db.example/stats");
  ASSERT_FALSE(wh);
  EXPECT_THAT(wh, HasErrorMessage(HasSubstr("unsupported warehouse scheme \"mysql\"")));
  EXPECT_THAT(wh, HasErrorMessage(Not(HasSubstr("hunter2"))));
  EXPECT_THAT(wh, HasErrorMessage(HasSubstr("admin:***@db.example")));
  EXPECT_FALSE(open_warehouse(""));
  EXPECT_FALSE(open_warehouse("sqlite://:memory:"));
}

TEST(OpenWarehouse, KnownSchemesAreExactlyTheOnesItOpens) {
  // A command line's early check and open_warehouse agree on every scheme.
  for (const char* scheme :
       {"sqlite", "postgresql", "postgres", "bigquery", "mysql", "http", "SQLITE", "pg", ""}) {
    SCOPED_TRACE(scheme);
    const auto wh = open_warehouse(std::string(scheme) + "://u@127.0.0.1:1/db/x");
    const bool refused =
        !wh && wh.error().reason.as<OpenRefusal>() == OpenRefusal::unsupported_scheme;
    EXPECT_EQ(known_warehouse_scheme(scheme), !refused);
  }
}

TEST(OpenWarehouse, ConnectionErrorsAreTransientAndRedacted) {
  // Port 1 on loopback: nothing listens, the connection is refused.
  auto wh = open_warehouse("postgresql://admin:hunter2@127.0.0.1:1/stats?password=hunter2");
  ASSERT_THAT(wh, IsOk());
  auto r = (*wh)->execute("SELECT 1");
  ASSERT_FALSE(r);
  EXPECT_THAT(r, HasErrorClass(ErrorClass::transient));
  EXPECT_EQ(r.error().source, "postgresql");
  EXPECT_THAT(r, HasErrorMessage(Not(HasSubstr("hunter2"))));
  EXPECT_TRUE(contains((*wh)->display_url(), "admin:***@127.0.0.1:1/stats?password=***"))
      << (*wh)->display_url();
}

}  // namespace
}  // namespace rebound::warehouse::test
