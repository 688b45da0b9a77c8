// bigquery_cycle — rebound's side of the BigQuery batch-writer benchmark:
// C concurrent writers, each repeating the load + MERGE cycle (BatchWriter:
// staging table with expirationTime, multipart load job, MERGE job, delete)
// of 25 rows into its own target table, for S seconds, against a BigQuery
// endpoint (rebound's emulator in bench/bigquery/compare.sh). Prints one line:
//   rebound <clients> <cycles> <seconds> <cycles_per_second>
//
//   bigquery_cycle http://127.0.0.1:PORT CLIENTS SECONDS
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "rebound/warehouse/batch_writer.hpp"
#include "rebound/warehouse/open.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: bigquery_cycle http://127.0.0.1:PORT CLIENTS SECONDS\n");
    return 2;
  }
  const std::string endpoint = argv[1];
  const int clients = std::atoi(argv[2]);
  const double seconds = std::atof(argv[3]);
  auto wh = rebound::warehouse::open_warehouse("bigquery://bench/bench?endpoint=" + endpoint +
                                               "&auth=none");
  if (!wh) {
    std::fprintf(stderr, "%s\n", wh.error().message.c_str());
    return 1;
  }
  std::atomic<long> cycles{0};
  std::atomic<bool> failed{false};
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto writer = rebound::warehouse::BatchWriter::make(
          *wh, {.table = "rebound_t" + std::to_string(c), .keys = {"id"}, .create_table = true});
      if (!writer) {
        failed = true;
        return;
      }
      for (int cycle = 0; std::chrono::steady_clock::now() < until; ++cycle) {
        std::vector<nlohmann::json> rows;
        for (int i = 0; i < 25; ++i) {
          rows.push_back({{"id", (cycle * 7 + i) % 50},
                          {"name", "n" + std::to_string(cycle)},
                          {"score", i * 0.5}});
        }
        auto out = writer->write(rows);
        if (!out) {
          std::fprintf(stderr, "cycle failed: %s\n", out.status.error().message.c_str());
          failed = true;
          return;
        }
        cycles.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("rebound %d %ld %.2f %.2f\n", clients, cycles.load(), elapsed,
              static_cast<double>(cycles.load()) / elapsed);
  return failed ? 1 : 0;
}
