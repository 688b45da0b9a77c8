#include "rebound/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::metrics {
namespace {

TEST(Registry, WritesCountersAndGaugesInPrometheusTextFormat) {
  Registry reg;
  reg.counter("rebound_retries_total", "Retries by class", {{"class", "serialization_conflict"}})
      .inc(3);
  reg.counter("rebound_retries_total", "Retries by class", {{"class", "quota_exceeded"}}).inc();
  reg.gauge("rebound_pool_in_use", "Leased connections", {{"pool", "pg"}}).set(4);
  EXPECT_EQ(reg.prometheus_text(),
            "# HELP rebound_pool_in_use Leased connections\n"
            "# TYPE rebound_pool_in_use gauge\n"
            "rebound_pool_in_use{pool=\"pg\"} 4\n"
            "# HELP rebound_retries_total Retries by class\n"
            "# TYPE rebound_retries_total counter\n"
            "rebound_retries_total{class=\"serialization_conflict\"} 3\n"
            "rebound_retries_total{class=\"quota_exceeded\"} 1\n");
}

TEST(Registry, SameNameAndLabelsIsTheSameSeries) {
  Registry reg;
  Counter& a = reg.counter("x_total", "x", {{"b", "2"}, {"a", "1"}});
  Counter& b = reg.counter("x_total", "x", {{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(&a, &b);
}

TEST(Registry, HistogramsHaveCumulativeBucketsSumAndCount) {
  Registry reg;
  Histogram& h = reg.histogram("lat_seconds", "latency", {0.1, 1}, {{"op", "get"}});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const std::string text = reg.prometheus_text();
  EXPECT_NE(text.find("lat_seconds_bucket{op=\"get\",le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{op=\"get\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_sum{op=\"get\"} 5.55\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_count{op=\"get\"} 3\n"), std::string::npos);
}

TEST(Registry, RejectsBadNamesAndTypeClashesWithClearErrors) {
  Registry reg;
  auto bad = reg.try_counter("1bad", "x");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad, HasErrorMessage(HasSubstr("\"1bad\"")));
  EXPECT_FALSE(reg.try_counter("ok_total", "x", {{"le", "1"}}));
  ASSERT_TRUE(reg.try_counter("dual", "x"));
  auto clash = reg.try_gauge("dual", "x");
  ASSERT_FALSE(clash);
  EXPECT_THAT(clash, HasErrorMessage(HasSubstr("another type")));
}

TEST(Registry, EscapesLabelValues) {
  Registry reg;
  reg.gauge("g", "h", {{"path", "a\"b\\c\nd"}}).set(1);
  EXPECT_NE(reg.prometheus_text().find("g{path=\"a\\\"b\\\\c\\nd\"} 1"), std::string::npos);
}

TEST(Registry, CollectorsPublishAtExpositionTime) {
  Registry reg;
  int reused = 10;
  const auto id = reg.add_collector([&] {
    return std::vector<Sample>{{.name = "http_reused_total",
                                .help = "reused",
                                .type = "counter",
                                .labels = {},
                                .value = static_cast<double>(reused)}};
  });
  reused = 12;
  EXPECT_NE(reg.prometheus_text().find("http_reused_total 12\n"), std::string::npos);
  reg.remove_collector(id);
  EXPECT_EQ(reg.prometheus_text().find("http_reused_total"), std::string::npos);
}

TEST(Registry, ConcurrentUpdatesAreNotLost) {
  Registry reg;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      Counter& c = reg.counter("hits_total", "hits");
      Histogram& h = reg.histogram("h", "h", {1.0});
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.5);
      }
      (void)reg.prometheus_text();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(reg.counter("hits_total", "hits").value(), 80000u);
  EXPECT_EQ(reg.histogram("h", "h", {1.0}).count(), 80000u);
}

TEST(Registry, WritesTheFileAtomically) {
  Registry reg;
  reg.counter("c_total", "c").inc();
  const auto path = (std::filesystem::temp_directory_path() / "rebound_metrics_test.prom").string();
  ASSERT_TRUE(reg.write_prometheus(path));
  std::ifstream in(path);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), reg.prometheus_text());
  std::filesystem::remove(path);
  auto bad = reg.write_prometheus("/nonexistent-dir/x.prom");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad, HasErrorMessage(HasSubstr("/nonexistent-dir/x.prom")));
}

}  // namespace
}  // namespace rebound::metrics
