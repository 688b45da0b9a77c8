// fleet::print_text — the `rebound fleet` text report from a hand-made
// Comparison: the configuration line as run (URLs redacted, the trigger
// only for the built-in source), the success table, the verdict and the
// runs' sample errors.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>

#include "rebound/fleet/compare.hpp"

namespace rebound::fleet {
namespace {

using namespace std::chrono_literals;

Comparison comparison(bool builtin_source) {
  Comparison c;
  c.options.workload = {.processors = 4, .batches = 2, .rows = 5, .key_space = 13};
  c.options.warehouse_url = "postgresql://bob:s3cr3t@db/stats";
  c.options.source_url = builtin_source ? "" : "http://src:8080/?token=s3cr3t";
  c.options.faults.latency = 2500us;
  c.options.faults.trigger_after = 200ms;
  c.options.faults.trigger_for = 300ms;
  c.options.scale = 0.01;
  c.builtin_source = builtin_source;
  c.naive.mode = "naive";
  c.rebound.mode = "rebound";
  c.rebound.sample_errors = {"batch 3: HTTP 503"};
  c.rows = success_rows(c.naive, c.rebound);
  c.pass = all_pass(c.rows);
  return c;
}

TEST(FleetText, PrintsTheConfigurationTheTableAndTheVerdict) {
  std::ostringstream out;
  const Comparison c = comparison(true);
  print_text(out, c);
  const std::string text = out.str();
  EXPECT_TRUE(text.starts_with(
      "rebound fleet: 4 processors x 2 batches x 5 rows over 13 keys; warehouse "
      "postgresql://bob:***@db/stats; source built-in (faults injected)\n"
      "retry delays scaled x0.01 (the reference presets' 1 s is 10 ms here); simulated network "
      "round trip 2.5 ms; trigger: the source answers 503 from 200 ms for 300 ms of each run\n\n"))
      << text;
  std::ostringstream table;
  print_table(table, c.rows);
  EXPECT_NE(text.find(table.str()), std::string::npos) << "the success table follows";
  EXPECT_NE(text.find(c.pass ? "PASS: the rebound way meets every target\n"
                             : "FAIL: the rebound way missed a target\n"),
            std::string::npos);
  EXPECT_TRUE(text.ends_with("  rebound error: batch 3: HTTP 503\n")) << text;
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos);
}

TEST(FleetText, ARealSourceIsRedactedAndHasNoTrigger) {
  std::ostringstream out;
  print_text(out, comparison(false));
  const std::string text = out.str();
  EXPECT_NE(text.find("source http://src:8080/?token=***\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("trigger"), std::string::npos) << text;
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos);
}

}  // namespace
}  // namespace rebound::fleet
