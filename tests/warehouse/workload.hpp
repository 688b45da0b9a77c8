// A concurrent write workload for the warehouse tests: N threads, each
// writing batches whose keys overlap with other threads' batches, through one
// BatchWriter, plus the checks that every key is present exactly once with
// the value every writer agrees on.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <functional>
#include <iostream>
#include <latch>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/batch_writer.hpp"

using rebound::testing::IsOk;

namespace rebound::warehouse::test {

struct Workload {
  int threads = 64;
  int batches = 3;      // per thread
  int rows = 20;        // per batch
  int key_space = 300;  // keys overlap heavily across threads

  [[nodiscard]] int key(int thread, int batch, int i) const {
    return (thread * 37 + batch * 101 + i * 7) % key_space;
  }
  // Rows for one batch: value columns depend only on the key, so the final
  // table is known whatever order the writers commit in.
  [[nodiscard]] std::vector<nlohmann::json> batch(int thread, int batch_index) const {
    std::vector<nlohmann::json> out;
    for (int i = 0; i < rows; ++i) {
      const int k = key(thread, batch_index, i);
      out.push_back({{"k", k}, {"payload", "v" + std::to_string(k)}, {"score", k * 0.5}});
    }
    return out;
  }
  [[nodiscard]] std::set<int> expected_keys(int batches_per_thread) const {
    std::set<int> keys;
    for (int t = 0; t < threads; ++t)
      for (int b = 0; b < batches_per_thread; ++b)
        for (int i = 0; i < rows; ++i) keys.insert(key(t, b, i));
    return keys;
  }
};

// Sums what every write reported, from many threads.
struct Tally {
  std::mutex mu;
  int writes = 0;
  int failed = 0;
  std::array<int, kErrorClassCount> failures{};
  int attempts = 0;
  std::vector<std::string> errors;

  void add(const WriteOutcome& out) {
    std::lock_guard lock(mu);
    ++writes;
    attempts += out.report.retry.attempts;
    for (std::size_t c = 0; c < kErrorClassCount; ++c) failures[c] += out.report.retry.failures[c];
    if (!out) {
      ++failed;
      if (errors.size() < 5) errors.push_back(out.status.error().describe());
    }
  }
  // One line for the test log: writes, attempts and failures per class.
  std::string summary() {
    std::lock_guard lock(mu);
    std::string out = std::to_string(writes) + " writes, " + std::to_string(attempts) +
                      " attempts, " + std::to_string(failed) + " failed;";
    for (std::size_t c = 0; c < kErrorClassCount; ++c) {
      if (failures[c]) {
        out += " " + std::string(to_string(static_cast<ErrorClass>(c))) + " x" +
               std::to_string(failures[c]);
      }
    }
    return out;
  }
  int of(ErrorClass c) {
    std::lock_guard lock(mu);
    return failures[static_cast<std::size_t>(c)];
  }
};

// Test policy: the writer's default schedule at 1/1000 scale, but limited by
// a 60 s deadline only — under 64-way contention the per-class caps are a
// production tuning choice; these tests check exactness, not the caps.
inline RetryPolicy contention_policy() {
  RetryPolicy p = default_write_policy(0.001);
  for (ClassRule& r : p.rules) r.max_attempts = 0;
  p.max_attempts = 0;
  p.deadline = std::chrono::seconds{60};
  return p;
}

// Runs `threads` writers that start together; each runs body(thread).
inline void run_together(int threads, const std::function<void(int)>& body) {
  std::latch start(threads);
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      start.arrive_and_wait();
      body(t);
    });
  }
  for (auto& th : pool) th.join();
}

// Every expected key exactly once, with the value all writers agree on.
inline void expect_exact(Warehouse& wh, const std::string& table, const std::set<int>& keys) {
  auto r = wh.query("SELECT k, payload, score FROM " + quote_identifier(table) + " ORDER BY k");
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->rows.size(), keys.size());
  auto it = keys.begin();
  for (const Row& row : r->rows) {
    const int k = *it++;
    ASSERT_EQ(row[0], Value{std::int64_t{k}});
    ASSERT_EQ(row[1], Value{"v" + std::to_string(k)});
    ASSERT_EQ(row[2], Value{k * 0.5});
  }
}

}  // namespace rebound::warehouse::test
