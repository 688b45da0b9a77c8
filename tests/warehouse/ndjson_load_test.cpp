// warehouse::load_ndjson — the `rebound load` job on real SQLite files: a
// file in, every row merged once (the last of duplicate keys wins); and each
// way it can stop, with the stage that says whose fault it was and nothing
// written.
#include "rebound/warehouse/ndjson_load.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "rebound/core/temp_dir.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/open.hpp"

namespace rebound::warehouse {
namespace {

using rebound::testing::IsOk;

class NdjsonLoad : public ::testing::Test {
 protected:
  std::string write_file(const std::string& name, const std::string& text) {
    const std::string path = (dir_.path() / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  LoadOptions options(const std::string& file) {
    return {.file = file,
            .warehouse_url = db_,
            .table = "stats",
            .keys = {"day"},
            .create_table = true,
            .retry_scale = 0.001};
  }
  std::int64_t count_rows() {
    auto wh = open_warehouse(db_);
    EXPECT_THAT(wh, IsOk());
    if (!wh) return -1;
    auto n = (*wh)->query("SELECT count(*) FROM stats");
    if (!n) return -1;  // no table: nothing was written
    return std::get<std::int64_t>(n->rows.at(0).at(0));
  }

  TempDir dir_ = TempDir::make("rebound-load-test-").value();
  std::string db_ = (dir_.path() / "load.db").string();
};

TEST_F(NdjsonLoad, MergesEveryRowOnceAndReportsTheSteps) {
  const std::string file = write_file("rows.ndjson",
                                      "{\"day\": 1, \"n\": 10}\n"
                                      "{\"day\": 2, \"n\": 20}\n"
                                      "\n"
                                      "{\"day\": 1, \"n\": 11}\n");
  std::vector<std::uint64_t> steps;
  auto done = load_ndjson(options(file),
                          [&](const std::string& what, std::uint64_t step, std::uint64_t total) {
                            EXPECT_FALSE(what.empty());
                            EXPECT_EQ(total, 3u);
                            steps.push_back(step);
                          });
  ASSERT_TRUE(done) << done.error().error.describe();
  EXPECT_EQ(steps, (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_EQ(done->report.rows_read, 3u);
  EXPECT_EQ(done->report.duplicates, 1u);
  EXPECT_EQ(done->report.rows_merged, 2);
  EXPECT_EQ(done->table, "stats");
  EXPECT_NE(done->warehouse.find("load.db"), std::string::npos);
  EXPECT_EQ(count_rows(), 2);
  auto again = load_ndjson(options(file));  // an upsert: the same rows stay two
  ASSERT_TRUE(again) << again.error().error.describe();
  EXPECT_EQ(count_rows(), 2);

  const nlohmann::json summary = load_summary_json(done->report, "stats", done->warehouse);
  EXPECT_EQ(summary["rows_merged"], 2);
  EXPECT_EQ(summary["duplicates"], 1);
  EXPECT_EQ(summary["attempts"], 1);
  EXPECT_EQ(summary["table"], "stats");
  EXPECT_TRUE(summary["failures_by_class"].is_object());
}

TEST_F(NdjsonLoad, EachStopNamesItsStageAndWritesNothing) {
  const std::string good = write_file("good.ndjson", "{\"day\": 1, \"n\": 10}\n");
  const std::string bad_line =
      write_file("bad.ndjson", "{\"day\": 1, \"n\": 10}\n{\"day\": 2, \"n\": }\n");
  const std::string no_key = write_file("no_key.ndjson", "{\"n\": 10}\n");
  struct Case {
    LoadOptions options;
    LoadStage stage;
    const char* message;  // part of the error message
  };
  LoadOptions bad_table = options(good);
  bad_table.table = "stats;drop";
  LoadOptions bad_key = options(good);
  bad_key.keys = {"day", "1x"};
  LoadOptions too_large = options(good);
  too_large.max_input_bytes = 4;
  LoadOptions no_table = options(good);
  no_table.create_table = false;
  LoadOptions bad_scheme = options(good);
  bad_scheme.warehouse_url = "ftp://bob:s3cr3t@host/db";
  const std::vector<Case> cases = {
      {bad_table, LoadStage::names, "semicolon"},
      {bad_key, LoadStage::names, "1x"},
      {options((dir_.path() / "missing.ndjson").string()), LoadStage::read, "cannot open"},
      {too_large, LoadStage::input_too_large, "larger than the limit"},
      {options(bad_line), LoadStage::parse, "line 2"},
      {bad_scheme, LoadStage::open_refused, "ftp"},
      {options(no_key), LoadStage::rows_refused, "day"},
      {no_table, LoadStage::rows_refused, "does not exist"},
  };
  for (const Case& c : cases) {
    auto done = load_ndjson(c.options);
    ASSERT_FALSE(done) << c.message;
    EXPECT_EQ(done.error().stage, c.stage) << done.error().error.message;
    EXPECT_NE(done.error().error.message.find(c.message), std::string::npos)
        << done.error().error.message;
    EXPECT_EQ(done.error().error.message.find("s3cr3t"), std::string::npos);
    EXPECT_EQ(done.error().report.has_value(), c.stage == LoadStage::rows_refused);
    EXPECT_EQ(count_rows(), -1) << c.message << ": nothing was written";
  }
}

}  // namespace
}  // namespace rebound::warehouse
