// emulator_bench — jobs per second through the BigQuery emulator for the
// batch writer's cycle: a 25-row NDJSON multipart load into a staging table,
// jobs.get until DONE, then a MERGE into the shared target through
// jobs.query. 1, 8 and 32 concurrent clients (rebound http::Client each),
// each with its own staging table. In the same run, the same cycle as plain
// SQLite statements in-process (no HTTP, no jobs) is the reference, so the
// table shows what the emulator's HTTP + job machinery costs per cycle.
//
//   emulator_bench [seconds_per_row=5]
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "rebound/emulator/bigquery/emulator.hpp"
#include "rebound/http/client.hpp"

using json = nlohmann::json;
using namespace rebound;
using WallClock = std::chrono::steady_clock;

namespace {

const json kFields = json::array({{{"name", "id"}, {"type", "INTEGER"}, {"mode", "REQUIRED"}},
                                  {{"name", "name"}, {"type", "STRING"}},
                                  {{"name", "score"}, {"type", "FLOAT"}}});

std::string rows_ndjson(int client, int cycle) {
  std::string out;
  for (int i = 0; i < 25; ++i) {
    const int id = client * 1000 + (cycle * 7 + i) % 50;
    out +=
        json{{"id", id}, {"name", "n" + std::to_string(cycle)}, {"score", i * 0.5}}.dump() + "\n";
  }
  return out;
}

// One client's cycle; returns false on any unexpected answer.
bool cycle(http::Client& client, const std::string& base, int c, int n) {
  const std::string id = "load_" + std::to_string(c) + "_" + std::to_string(n);
  const json job{
      {"jobReference", {{"projectId", "p"}, {"jobId", id}, {"location", "US"}}},
      {"configuration",
       {{"load",
         {{"destinationTable",
           {{"projectId", "p"}, {"datasetId", "staging"}, {"tableId", "s" + std::to_string(c)}}},
          {"sourceFormat", "NEWLINE_DELIMITED_JSON"},
          {"writeDisposition", "WRITE_TRUNCATE"},
          {"schema", {{"fields", kFields}}}}}}}};
  const std::string b = "bench-boundary";
  const std::string body = "--" + b + "\r\ncontent-type: application/json\r\n\r\n" + job.dump() +
                           "\r\n--" + b + "\r\ncontent-type: */*\r\n\r\n" + rows_ndjson(c, n) +
                           "\r\n--" + b + "--";
  auto up = client.send({.method = "POST",
                         .url = base + "/upload/bigquery/v2/projects/p/jobs?uploadType=multipart",
                         .headers = {{"Content-Type", "multipart/related; boundary=" + b}},
                         .body = body});
  if (!up || up->status != 200) return false;
  for (int i = 0; i < 10; ++i) {
    auto got = client.get(base + "/bigquery/v2/projects/p/jobs/" + id + "?location=US");
    if (!got || got->status != 200) return false;
    if (got->body.find("\"DONE\"") != std::string::npos) break;
  }
  const json q{
      {"query", "MERGE prod.t T USING staging.s" + std::to_string(c) +
                    " S ON T.id = S.id WHEN MATCHED THEN UPDATE SET name = S.name, score = S.score "
                    "WHEN NOT MATCHED THEN INSERT ROW"},
      {"useLegacySql", false},
      {"requestId", id},
      {"timeoutMs", 10000}};
  auto merged = client.post(base + "/bigquery/v2/projects/p/queries", q.dump(),
                            {{"Content-Type", "application/json"}});
  return merged && merged->status == 200 &&
         merged->body.find("\"jobComplete\":true") != std::string::npos;
}

double run_emulator(int clients, double seconds) {
  auto emu =
      emulator::bigquery::Emulator::start({.project = "p", .max_dml_jobs_per_table = 0}).value();
  auto setup = http::Client::make({}).value();
  const std::string base = emu->url();
  for (const char* ds : {"staging", "prod"}) {
    (void)setup->post(base + "/bigquery/v2/projects/p/datasets",
                      json{{"datasetReference", {{"datasetId", ds}}}}.dump());
  }
  (void)setup->post(
      base + "/bigquery/v2/projects/p/datasets/prod/tables",
      json{{"tableReference", {{"projectId", "p"}, {"datasetId", "prod"}, {"tableId", "t"}}},
           {"schema", {{"fields", kFields}}}}
          .dump());
  std::atomic<bool> stop{false};
  std::atomic<long> cycles{0};
  std::atomic<long> failures{0};
  std::vector<std::thread> threads;
  const auto start = WallClock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto client = http::Client::make({.max_per_host = 64}).value();
      for (int n = 0; !stop.load(); ++n) {
        if (cycle(*client, base, c, n))
          cycles.fetch_add(1);
        else
          failures.fetch_add(1);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(WallClock::now() - start).count();
  if (failures.load() > 0)
    std::fprintf(stderr, "%d clients: %ld failed cycles\n", clients, failures.load());
  return 2.0 * static_cast<double>(cycles.load()) / elapsed;  // two jobs per cycle
}

// The reference: the same cycle as SQLite statements, one connection, no HTTP.
double run_sqlite(double seconds) {
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  sqlite3_exec(db,
               "CREATE TABLE t(id INTEGER, name TEXT, score REAL); CREATE TABLE s(id INTEGER, name "
               "TEXT, score REAL)",
               nullptr, nullptr, nullptr);
  long cycles = 0;
  const auto start = WallClock::now();
  while (std::chrono::duration<double>(WallClock::now() - start).count() < seconds) {
    sqlite3_exec(db, "BEGIN; DELETE FROM s", nullptr, nullptr, nullptr);
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO s VALUES(?, ?, ?)", -1, &ins, nullptr);
    for (const std::string& line : {rows_ndjson(0, static_cast<int>(cycles))}) {
      std::size_t pos = 0;
      while (pos < line.size()) {
        const auto end = line.find('\n', pos);
        const json row = json::parse(line.substr(pos, end - pos));
        sqlite3_bind_int64(ins, 1, row["id"].get<std::int64_t>());
        const std::string name = row["name"];
        sqlite3_bind_text(ins, 2, name.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 3, row["score"].get<double>());
        sqlite3_step(ins);
        sqlite3_reset(ins);
        pos = end + 1;
      }
    }
    sqlite3_finalize(ins);
    sqlite3_exec(
        db,
        "COMMIT; BEGIN; UPDATE t SET name = s.name, score = s.score FROM s WHERE t.id = s.id; "
        "INSERT INTO t SELECT * FROM s WHERE id NOT IN (SELECT id FROM t); COMMIT",
        nullptr, nullptr, nullptr);
    ++cycles;
  }
  sqlite3_close(db);
  return 2.0 * static_cast<double>(cycles) /
         std::chrono::duration<double>(WallClock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
  const double reference = run_sqlite(seconds);
  std::printf(
      "| clients | emulator jobs/s (load + MERGE = 2 jobs) | cycles/s | in-process SQLite "
      "reference jobs/s | emulator / reference |\n");
  std::printf("|---:|---:|---:|---:|---:|\n");
  for (int clients : {1, 8, 32}) {
    const double jobs = run_emulator(clients, seconds);
    std::printf("| %d | %.0f | %.0f | %.0f | %.3f |\n", clients, jobs, jobs / 2, reference,
                jobs / reference);
    std::fflush(stdout);
  }
  return 0;
}
