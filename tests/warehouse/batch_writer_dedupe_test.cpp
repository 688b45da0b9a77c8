// The batch writer's in-batch de-duplication against a model: 50,000 rows
// with 12,000 possible composite keys, so most keys repeat many times and
// the open-addressing table sees long probe runs. The last row of a key wins.
// Runs on a real SQLite file.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "rebound/core/temp_dir.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/batch_writer.hpp"
#include "rebound/warehouse/sqlite_warehouse.hpp"

namespace rebound::warehouse {
namespace {

using rebound::testing::IsOk;

TEST(BatchWriterDedupe, ManyRepeatsOfCompositeKeysKeepTheLastRowOfEachKey) {
  auto dir = TempDir::make("rebound-dedupe-");
  ASSERT_THAT(dir, IsOk());
  auto wh = make_sqlite_warehouse({.path = (dir->path() / "d.db").string()});
  ASSERT_THAT(wh, IsOk());
  // Key (a, b): an integer and a text of digits.
  const Schema schema{{{.name = "a", .type = ColumnType::integer, .nullable = false},
                       {.name = "b", .type = ColumnType::text, .nullable = false},
                       {.name = "v", .type = ColumnType::integer}}};
  RowSet rows{.schema = schema, .rows = {}};
  std::map<std::pair<std::int64_t, std::string>, std::int64_t> model;  // key -> last v
  std::mt19937_64 rng(20261201);
  for (std::int64_t i = 0; i < 50'000; ++i) {
    const auto a = static_cast<std::int64_t>(rng() % 300);
    const std::string b = std::to_string(rng() % 40);
    rows.rows.push_back({Value{a}, Value{b}, Value{i}});
    model[{a, b}] = i;
  }
  auto writer = BatchWriter::make(*wh, {.table = "d", .keys = {"a", "b"}, .create_table = true});
  ASSERT_THAT(writer, IsOk());
  auto out = writer->write(std::move(rows));
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out.report.rows_merged, static_cast<std::int64_t>(model.size()));
  EXPECT_EQ(out.report.duplicates, 50'000 - model.size());
  auto r = (*wh)->query("SELECT a, b, v FROM d");
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->rows.size(), model.size());
  for (const Row& row : r->rows) {
    const auto key = std::make_pair(std::get<std::int64_t>(row[0]), std::get<std::string>(row[1]));
    ASSERT_TRUE(model.contains(key));
    EXPECT_EQ(std::get<std::int64_t>(row[2]), model.at(key));
  }
}

}  // namespace
}  // namespace rebound::warehouse
