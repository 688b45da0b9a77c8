// Input a hostile user would send: integers outside int64, rows with very
// many columns, absurd sizes. Each case once lost data or took unbounded time.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/ndjson.hpp"
#include "rebound/warehouse/value.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::warehouse {
namespace {

TEST(HostileInput, IntegersBeyondInt64AreRefusedNotRounded) {
  // Two distinct 30-digit ids used to become the same double and one row was
  // dropped as a "duplicate".
  for (const char* literal : {"123456789012345678901234567890", "-9223372036854775809",
                              "18446744073709551616", "-123456789012345678901234567890"}) {
    const std::string text = std::string("{\"id\": ") + literal + "}\n";
    auto in = parse_ndjson(text);
    ASSERT_FALSE(in) << literal << " was accepted";
    EXPECT_THAT(in, HasErrorMessage(HasSubstr("does not fit a signed 64-bit integer")));
    EXPECT_THAT(in, HasErrorMessage(HasSubstr("line 1, column 8")));
  }
}

TEST(HostileInput, Uint64RangeIsRefusedByRowsFromJson) {
  auto in = parse_ndjson("{\"id\": 9223372036854775808}\n");
  ASSERT_THAT(in, IsOk());
  auto rows = rows_from_json(in->objects, {.source_lines = in->lines});
  ASSERT_FALSE(rows);
  EXPECT_THAT(rows, HasErrorMessage(HasSubstr("does not fit")));
}

TEST(HostileInput, Int64EdgesAndRealsStillParse) {
  auto in = parse_ndjson(
      "{\"a\": -9223372036854775808, \"b\": 9223372036854775807, \"c\": 1e300, \"d\": "
      "123456789012345678901234567890.5}\n");
  ASSERT_THAT(in, IsOk());
  auto rows = rows_from_json(in->objects);
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(std::get<std::int64_t>(rows->rows[0][0]), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(std::get<std::int64_t>(rows->rows[0][1]), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(rows->schema.columns[2].type, ColumnType::real);
  EXPECT_EQ(rows->schema.columns[3].type, ColumnType::real);
}

TEST(HostileInput, TooManyColumnsIsAnErrorNamingTheLine) {
  // 100k columns in one line took 41 s (quadratic lookup); now it is refused
  // at the documented limit, and a row at the limit is converted in linear time.
  nlohmann::json wide = nlohmann::json::object();
  for (int i = 0; i < 100000; ++i) wide["c" + std::to_string(i)] = i;
  const std::string text = "{\"id\": 1}\n" + wide.dump() + "\n";
  auto in = parse_ndjson(text);
  ASSERT_THAT(in, IsOk());
  auto rows = rows_from_json(in->objects, {.source_lines = in->lines});
  ASSERT_FALSE(rows);
  EXPECT_THAT(rows, HasErrorMessage(HasSubstr("line 2: 100000 columns exceed the limit of 2000")));

  auto at_limit = rows_from_json(in->objects, {.max_columns = 100001});
  ASSERT_THAT(at_limit, IsOk());
  EXPECT_EQ(at_limit->schema.columns.size(), 100001u);
}

TEST(HostileInput, InputAndLineSizesAreCapped) {
  const std::string big(1024, ' ');
  auto in = parse_ndjson(big, {.max_input_bytes = 100});
  ASSERT_FALSE(in);
  EXPECT_THAT(in, HasErrorMessage(HasSubstr("exceeds the limit of 100 bytes")));
  auto line = parse_ndjson("{}\n{\"a\": \"" + std::string(200, 'x') + "\"}\n",
                           {.max_input_bytes = 1000, .max_line_bytes = 100});
  ASSERT_FALSE(line);
  EXPECT_THAT(line, HasErrorMessage(HasSubstr("line 2:")));
}

}  // namespace
}  // namespace rebound::warehouse
