// rows_from_ndjson (simdjson) against the reference path it must match,
// rows_from_json(parse_ndjson(text)): the same schema (column order
// included), the same cells and the same error messages, on generated inputs
// (seeded) and on every kind of bad input.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/ndjson.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::warehouse {
namespace {

Result<RowSet> reference(std::string_view text, const JsonRowsOptions& options = {}) {
  auto in = parse_ndjson(text, {.threads = 1});
  if (!in) return fail(in.error());
  return rows_from_json(in->objects,
                        {.max_text_bytes = options.max_text_bytes, .source_lines = in->lines});
}

void expect_same(std::string_view text, const JsonRowsOptions& options = {}) {
  const auto want = reference(text, options);
  const auto got = rows_from_ndjson(text, options);
  ASSERT_EQ(got.has_value(), want.has_value())
      << (want ? got.error().message : want.error().message) << "\ninput:\n"
      << text;
  if (!want) {
    EXPECT_THAT(got, HasErrorMessage(want.error().message)) << text;
    EXPECT_EQ(got.error().error_class, want.error().error_class);
    return;
  }
  EXPECT_EQ(got->schema, want->schema)
      << got->schema.describe() << " vs " << want->schema.describe();
  ASSERT_EQ(got->rows.size(), want->rows.size());
  for (std::size_t r = 0; r < want->rows.size(); ++r)
    EXPECT_EQ(got->rows[r], want->rows[r]) << "row " << r + 1;
}

TEST(NdjsonRows, TypesNullsAndMissingKeysMatchTheReference) {
  expect_same(
      "{\"id\": 1, \"x\": 1, \"ok\": true, \"s\": \"a\"}\n"
      "{\"id\": 2, \"x\": 2.5, \"ok\": null}\r\n"
      "\n   \n"
      "{\"zeta\": -7, \"id\": 3, \"alpha\": \"\\u00e9\\n\\\"q\\\"\", \"x\": 1e3}\n"
      "{}\n"
      "{\"only_null\": null, \"id\": 9223372036854775807, \"x\": -0.0}");
}

TEST(NdjsonRows, NewColumnsOfOneObjectFollowKeyOrderLikeTheReference) {
  expect_same("{\"c\": 1, \"a\": 2, \"b\": 3}\n{\"b\": 1, \"e\": 2, \"d\": 3, \"a\": 4}\n");
  const auto rows = rows_from_ndjson("{\"c\": 1, \"a\": 2, \"b\": 3}\n");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->schema.describe(), "a integer not null, b integer not null, c integer not null");
  EXPECT_EQ(rows->rows[0], (Row{std::int64_t{2}, std::int64_t{3}, std::int64_t{1}}));
}

TEST(NdjsonRows, IntegersWidenToRealWhenAColumnMixesThem) {
  const auto rows = rows_from_ndjson("{\"v\": 1}\n{\"v\": 0.5}\n{\"v\": 3}\n");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->schema.describe(), "v real not null");
  EXPECT_EQ(rows->rows[0][0], Value{1.0});
  EXPECT_EQ(rows->rows[2][0], Value{3.0});
}

TEST(NdjsonRows, GeneratedInputsMatchTheReference) {
  std::mt19937_64 rng(20261201);
  const std::vector<std::string> keys = {"id", "name", "score", "hits", "flag", "note", "z_last"};
  for (int round = 0; round < 40; ++round) {
    std::string text;
    const int rows = 1 + static_cast<int>(rng() % 60);
    for (int r = 0; r < rows; ++r) {
      std::vector<std::string> fields;
      for (const std::string& key : keys) {
        if (rng() % 4 == 0) continue;  // missing
        std::string value;
        switch (key == "note" ? rng() % 3 : (key.size() + static_cast<std::size_t>(round)) % 5) {
          case 0:
            value = std::to_string(static_cast<std::int64_t>(rng() % 2000000) - 1000000);
            break;
          case 1:
            value = std::to_string(static_cast<double>(rng() % 10000) / 7.0);
            break;
          case 2:
            value = "\"v" + std::to_string(rng() % 100) + "\\t\\u0041\"";
            break;
          case 3:
            value = rng() % 2 ? "true" : "false";
            break;
          default:
            value = "null";
            break;
        }
        fields.push_back("\"" + key + "\": " + value);
      }
      std::shuffle(fields.begin(), fields.end(), rng);
      text += "{";
      for (std::size_t i = 0; i < fields.size(); ++i) text += (i ? ", " : "") + fields[i];
      text += "}\n";
    }
    SCOPED_TRACE("round " + std::to_string(round));
    expect_same(text);
  }
}

TEST(NdjsonRows, BadInputGetsTheReferenceMessageNamingLineAndColumn) {
  const JsonRowsOptions small{.max_text_bytes = 8};
  expect_same("{\"a\": 1}\n{\"a\": tru}\n");           // malformed literal
  expect_same("{\"a\": 1}\n\n{\"a\": 1,}\n");          // trailing comma
  expect_same("{\"a\": 1} {\"a\": 2}\n");              // two values on a line
  expect_same("{\"a\": 1}\nnot json\n");               // garbage
  expect_same("{\"a\": \"x\n");                        // unterminated string
  expect_same("{\"id\": 1}\n{\"id\": \"one\"}\n");     // mixed types
  expect_same("{\"id\": 1, \"tags\": [1, 2]}\n");      // nested array
  expect_same("{\"id\": 1, \"o\": {\"k\": 1}}\n");     // nested object
  expect_same("{\"s\": \"0123456789\"}\n", small);     // text over the limit
  expect_same("{\"s\": \"a\\u0000b\"}\n");             // NUL in text
  expect_same("{\"id\": 18446744073709551615}\n");     // over int64
  expect_same("{\"id\": 99999999999999999999999}\n");  // over uint64: a real
  expect_same("[1, 2]\n");                             // not an object
  expect_same("{\"bad name\": 1}\n");                  // invalid identifier
  expect_same("{\"a\": 1, \"a\": \"two\"}\n");         // duplicate key
  expect_same("{\"a\": \"\xff\xfe\"}\n");              // invalid UTF-8
  const auto malformed = rows_from_ndjson("{\"a\": 1}\n{\"a\": tru}\n");
  ASSERT_FALSE(malformed);
  EXPECT_THAT(malformed, HasErrorMessage(HasSubstr("line 2, column ")));
}

}  // namespace
}  // namespace rebound::warehouse
