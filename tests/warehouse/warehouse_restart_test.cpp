// PostgreSQL restarted while writers run: broken connections are evicted,
// transient errors (57P01, connection refused, starting up) are retried, and
// the run finishes with every key exactly once.
#include <gtest/gtest.h>

#include <condition_variable>

#include "backends.hpp"
#include "rebound/testing/matchers.hpp"
#include "workload.hpp"

using rebound::testing::IsOk;

namespace rebound::warehouse::test {
namespace {

TEST(WarehouseRestart, PoolHealsAfterServerRestartMidRun) {
  testing::PostgresServer& pg = postgres();
  auto wh = make_postgres_warehouse({.url = pg.url(), .pool_size = 8});
  ASSERT_THAT(wh, IsOk());
  const std::string table = unique_name("restart");
  ASSERT_TRUE(
      (*wh)->create_table(TableName{.schema = {}, .name = table},
                          Schema{{{.name = "k", .type = ColumnType::integer, .nullable = false},
                                  {.name = "payload", .type = ColumnType::text},
                                  {.name = "score", .type = ColumnType::real}}},
                          std::vector<std::string>{"k"}));
  auto writer =
      BatchWriter::make(*wh, {.table = table, .keys = {"k"}, .policy = contention_policy()});
  ASSERT_THAT(writer, IsOk());

  const Workload w{.threads = 16, .batches = 0, .rows = 20, .key_space = 200};
  constexpr int kAfterRestart = 3;  // batches each writer still writes once the server is back
  std::mutex mu;
  std::condition_variable progress;
  int completed = 0;
  bool restarted = false;
  std::vector<int> batches_done(static_cast<std::size_t>(w.threads), 0);
  Tally tally;

  std::thread restarter([&] {
    std::unique_lock lock(mu);
    progress.wait(lock, [&] { return completed >= w.threads; });  // writers are mid-run
    lock.unlock();
    auto st = pg.restart();
    EXPECT_THAT(st, IsOk());
    lock.lock();
    restarted = true;
  });
  run_together(w.threads, [&](int t) {
    int after = 0;
    for (int b = 0; after < kAfterRestart; ++b) {
      tally.add(writer->write(w.batch(t, b)));
      std::lock_guard lock(mu);
      batches_done[static_cast<std::size_t>(t)] = b + 1;
      ++completed;
      progress.notify_all();
      if (restarted) ++after;
    }
  });
  restarter.join();

  std::cout << "[ tally    ] " << tally.summary() << "\n";
  EXPECT_EQ(tally.failed, 0) << (tally.errors.empty() ? "" : tally.errors.front());
  EXPECT_GT(tally.of(ErrorClass::transient), 0) << "the restart was never noticed";
  const pool::PoolStats stats = (*wh)->pool_stats();
  EXPECT_GT(stats.evicted_broken, 0u) << "dead connections were not evicted";
  EXPECT_LE(stats.live(), 8u);
  std::set<int> keys;
  for (int t = 0; t < w.threads; ++t)
    for (int b = 0; b < batches_done[static_cast<std::size_t>(t)]; ++b)
      for (int i = 0; i < w.rows; ++i) keys.insert(w.key(t, b, i));
  expect_exact(**wh, table, keys);
}

}  // namespace
}  // namespace rebound::warehouse::test
