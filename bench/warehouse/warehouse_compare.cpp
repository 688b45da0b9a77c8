// warehouse_compare — rebound's warehouse paths side by side with their
// references, in one run, against a throwaway PostgreSQL 15 and SQLite file:
//   1. pooled statement vs connect-per-statement (goal >= 100x)
//   2. pooled point SELECTs vs pgbench -S -M extended on persistent connections
//      (alternating, best of three rounds each)
//   3. batch writer (stage + MERGE, 100k rows) vs psql \copy (PostgreSQL)
//   4. batch writer (stage + upsert, 100k rows) vs sqlite3 .import
// Prints a table of rates and ratios. Run through bench/warehouse/compare.sh.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rebound/testing/postgres_server.hpp"
#include "rebound/warehouse/batch_writer.hpp"
#include "rebound/warehouse/ndjson.hpp"
#include "rebound/warehouse/postgres_warehouse.hpp"
#include "rebound/warehouse/sqlite_warehouse.hpp"

namespace wh = rebound::warehouse;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

[[noreturn]] void die(const std::string& what) {
  std::cerr << "warehouse_compare: " << what << "\n";
  std::exit(1);
}

template <class T>
T must(rebound::Result<T> r, const std::string& what) {
  if (!r) die(what + ": " + r.error().message);
  return std::move(*r);
}
void must(const rebound::Status& s, const std::string& what) {
  if (!s) die(what + ": " + s.error().message);
}

struct Row {
  std::string name;
  double rebound = 0;
  double reference = 0;
  std::string unit;
  std::string goal;
};

void print(const std::vector<Row>& rows) {
  std::printf("\n%-48s %14s %14s %10s  %s\n", "measure", "rebound", "reference", "ratio", "goal");
  for (const Row& r : rows) {
    std::printf("%-48s %14.1f %14.1f %9.2fx  %s\n", r.name.c_str(), r.rebound, r.reference,
                r.rebound / r.reference, r.goal.c_str());
  }
  std::printf("(units: %s)\n", "ops/s or rows/s; ratio = rebound / reference");
}

// The naive baseline: a connection opened for one operation and closed after
// it. A fresh warehouse per call does exactly that — its pool opens one
// connection (the same non-blocking libpq connect, same settings) on first
// use and closes it when the warehouse goes — so the product needs no
// connect-per-operation mode of its own.
rebound::Status on_fresh_connection(const std::string& url,
                                    const std::function<rebound::Status(wh::Session&)>& fn) {
  auto fresh = wh::make_postgres_warehouse({.url = url, .pool_size = 1});
  if (!fresh) return rebound::fail(std::move(fresh.error()));
  return (*fresh)->with_session(fn);
}

// Single thread: one statement per operation, pooled vs a new connection each time.
Row pooled_vs_connect(const std::string& url) {
  auto pooled = must(wh::make_postgres_warehouse({.url = url, .pool_size = 1}), "pooled");
  auto select_one = [](wh::Session& s) -> rebound::Status {
    auto r = s.execute("SELECT 1");
    if (!r) return rebound::fail(std::move(r.error()));
    return {};
  };
  must(pooled->execute("SELECT 1"), "warm-up");
  constexpr int kPooled = 20000;
  constexpr int kNaive = 300;
  auto t0 = Clock::now();
  for (int i = 0; i < kPooled; ++i) must(pooled->execute("SELECT 1"), "pooled SELECT");
  const double pooled_rate = kPooled / seconds_since(t0);
  t0 = Clock::now();
  for (int i = 0; i < kNaive; ++i) must(on_fresh_connection(url, select_one), "per-op SELECT");
  const double naive_rate = kNaive / seconds_since(t0);
  return {"PG: SELECT 1, pooled vs connect-per-op", pooled_rate, naive_rate, "ops/s", ">= 100x"};
}

// Connection acquisition alone: a lease from a warm pool vs opening (and
// closing) a new connection — the "client made once" figure of docs/pool.md.
Row acquire_vs_connect(const std::string& url) {
  auto pooled = must(wh::make_postgres_warehouse({.url = url, .pool_size = 1}), "pooled");
  auto nothing = [](wh::Session&) -> rebound::Status { return {}; };
  must(pooled->with_session(nothing), "warm-up");
  constexpr int kPooled = 200000;
  constexpr int kNaive = 300;
  auto t0 = Clock::now();
  for (int i = 0; i < kPooled; ++i) must(pooled->with_session(nothing), "lease");
  const double pooled_rate = kPooled / seconds_since(t0);
  t0 = Clock::now();
  for (int i = 0; i < kNaive; ++i) must(on_fresh_connection(url, nothing), "connect");
  const double naive_rate = kNaive / seconds_since(t0);
  return {"PG: get a connection, pool lease vs connect", pooled_rate, naive_rate, "ops/s",
          ">= 200x"};
}

// pgbench -S (-M extended, persistent connections) for `secs` seconds: its TPS.
double pgbench_select_tps(rebound::testing::PostgresServer& pg, int clients, int secs) {
  const std::string port = std::to_string(pg.port());
  const auto log = pg.dir() / "pgbench.log";
  std::filesystem::remove(log);
  if (must(pg.run_tool({"pgbench", "-S", "-M", "extended", "-c", std::to_string(clients), "-j",
                        std::to_string(clients), "-T", std::to_string(secs), "-h", "127.0.0.1",
                        "-p", port, "-U", "postgres", "postgres"},
                       log),
           "pgbench -S") != 0)
    die("pgbench -S failed");
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  std::smatch m;
  const std::string text = ss.str();
  if (!std::regex_search(text, m, std::regex(R"(tps = ([0-9.]+))")))
    die("no tps in pgbench output");
  return std::stod(m[1]);
}

// The same point select through the pool, `clients` threads, `secs` seconds.
double pool_select_tps(const std::shared_ptr<wh::Warehouse>& pooled, int clients, int secs) {
  std::atomic<long> done{0};
  const auto stop = Clock::now() + std::chrono::seconds(secs);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::uint64_t x = 88172645463325252ull + static_cast<std::uint64_t>(c);
      long n = 0;
      while (Clock::now() < stop) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const wh::Value aid[] = {static_cast<std::int64_t>(x % 100000 + 1)};
        must(pooled->query("SELECT abalance FROM pgbench_accounts WHERE aid = $1", aid),
             "point select");
        ++n;
      }
      done += n;
    });
  }
  for (auto& t : threads) t.join();
  return static_cast<double>(done.load()) / secs;
}

// pgbench -S's point select vs the pool, `clients` each. The two alternate
// for three rounds and the best round of each counts: on a shared machine
// the load changes from one 5 s window to the next, and alternating keeps
// either side from drawing all the quiet windows.
Row pool_vs_pgbench(rebound::testing::PostgresServer& pg, int clients, int secs) {
  const std::string port = std::to_string(pg.port());
  const auto init_log = pg.dir() / "pgbench-init.log";
  if (must(pg.run_tool({"pgbench", "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p", port, "-U",
                        "postgres", "postgres"},
                       init_log),
           "pgbench -i") != 0)
    die("pgbench -i failed");
  auto pooled = must(
      wh::make_postgres_warehouse({.url = pg.url(), .pool_size = std::size_t(clients)}), "pooled");
  double theirs = 0, ours = 0;
  for (int round = 0; round < 3; ++round) {
    theirs = std::max(theirs, pgbench_select_tps(pg, clients, secs));
    ours = std::max(ours, pool_select_tps(pooled, clients, secs));
  }
  return {"PG: point SELECT, " + std::to_string(clients) + " clients, pool vs pgbench -S", ours,
          theirs, "tps", ">= 0.9x"};
}

struct Input {
  std::filesystem::path ndjson;
  std::filesystem::path csv;
  std::size_t rows = 0;
};

Input make_input(const std::filesystem::path& dir, std::size_t rows) {
  Input in{dir / "rows.ndjson", dir / "rows.csv", rows};
  std::ofstream nd(in.ndjson);
  std::ofstream csv(in.csv);
  for (std::size_t i = 0; i < rows; ++i) {
    const std::string name = "box-" + std::to_string(i % 977);
    const double score = static_cast<double>(i % 1000) * 0.25;
    nd << "{\"id\":" << i << ",\"name\":\"" << name << "\",\"score\":" << score
       << ",\"hits\":" << (i * 7) % 10007 << "}\n";
    csv << i << "," << name << "," << score << "," << (i * 7) % 10007 << "\n";
  }
  std::error_code ec;
  std::filesystem::permissions(dir, std::filesystem::perms::all, ec);  // psql runs as postgres
  return in;
}

struct WriterRates {
  double end_to_end = 0;    // NDJSON text -> rows merged (what `rebound load` does)
  double from_objects = 0;  // typed rows -> rows merged (BatchWriter::write itself)
};

// Read and parse NDJSON (as `rebound load` does), then write through the batch writer.
WriterRates writer_rate(const std::shared_ptr<wh::Warehouse>& w, const std::string& table,
                        const Input& in) {
  auto writer = must(wh::BatchWriter::make(w, {.table = table, .keys = {"id"}}), "writer");
  const auto t0 = Clock::now();
  std::ifstream f(in.ndjson, std::ios::binary);
  std::ostringstream text;
  text << f.rdbuf();
  // As `rebound load` does: text straight to typed rows (simdjson).
  auto rows = must(wh::rows_from_ndjson(text.str()), "rows_from_ndjson");
  const auto t1 = Clock::now();
  auto out = writer.write(std::move(rows));
  if (!out) die("writer: " + out.status.error().message);
  if (out.report.rows_merged != static_cast<std::int64_t>(in.rows))
    die("writer merged too few rows");
  const auto n = static_cast<double>(in.rows);
  return {n / seconds_since(t0), n / seconds_since(t1)};
}

const wh::Schema kSchema{{{.name = "id", .type = wh::ColumnType::integer, .nullable = false},
                          {.name = "name", .type = wh::ColumnType::text},
                          {.name = "score", .type = wh::ColumnType::real},
                          {.name = "hits", .type = wh::ColumnType::integer}}};

std::vector<Row> writer_vs_copy(rebound::testing::PostgresServer& pg, const Input& in) {
  auto w = must(wh::make_postgres_warehouse({.url = pg.url()}), "pg");
  const std::vector<std::string> key{"id"};
  must(w->create_table({.schema = {}, .name = "bench_merge"}, kSchema, key), "create");
  must(w->create_table({.schema = {}, .name = "bench_copy"}, kSchema, key), "create");
  const WriterRates ours = writer_rate(w, "bench_merge", in);
  const auto t0 = Clock::now();
  const int rc = must(pg.run_tool({"psql", "-q", "-h", "127.0.0.1", "-p", std::to_string(pg.port()),
                                   "-U", "postgres", "-d", "postgres", "-c",
                                   "\\copy bench_copy FROM '" + in.csv.string() + "' CSV"}),
                      "psql");
  const double raw = static_cast<double>(in.rows) / seconds_since(t0);
  if (rc != 0) die("psql \\copy failed; see " + (pg.dir() / "tools.log").string());
  return {
      {"PG: rows, writer from typed rows vs \\copy", ours.from_objects, raw, "rows/s", ">= 0.5x"},
      {"PG: rows, NDJSON file end to end vs \\copy", ours.end_to_end, raw, "rows/s", ">= 0.6x"}};
}

std::vector<Row> writer_vs_sqlite_import(const std::filesystem::path& dir, const Input& in) {
  const auto db = dir / "bench.db";
  auto w = must(wh::make_sqlite_warehouse({.path = db.string()}), "sqlite");
  const std::vector<std::string> key{"id"};
  must(w->create_table({.schema = {}, .name = "bench_merge"}, kSchema, key), "create");
  must(w->create_table({.schema = {}, .name = "bench_import"}, kSchema, key), "create");
  const WriterRates ours = writer_rate(w, "bench_merge", in);
  w.reset();  // close our connections before the CLI opens the file
  const std::string cmd = "sqlite3 '" + db.string() + "' -cmd '.mode csv' '.import " +
                          in.csv.string() + " bench_import'";
  const auto t0 = Clock::now();
  if (std::system(cmd.c_str()) != 0) die("sqlite3 .import failed: " + cmd);
  const double raw = static_cast<double>(in.rows) / seconds_since(t0);
  return {
      {"SQLite: writer from typed rows vs .import", ours.from_objects, raw, "rows/s", ">= 0.5x"},
      {"SQLite: NDJSON file end to end vs .import", ours.end_to_end, raw, "rows/s", ">= 0.9x"}};
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t rows = argc > 1 ? std::stoul(argv[1]) : 100000;
  const int secs = argc > 2 ? std::stoi(argv[2]) : 5;
  std::cerr << "starting a throwaway PostgreSQL 15 ...\n";
  auto pg = must(rebound::testing::PostgresServer::start({.max_connections = 50}), "postgres");
  const std::filesystem::path dir = pg->dir() / "bench";
  std::filesystem::create_directories(dir);
  std::cerr << "generating " << rows << " rows ...\n";
  const Input in = make_input(dir, rows);
  std::vector<Row> table;
  std::cerr << "1/4 pooled vs connect-per-op ...\n";
  table.push_back(acquire_vs_connect(pg->url()));
  table.push_back(pooled_vs_connect(pg->url()));
  std::cerr << "2/4 pool vs pgbench -S (3 rounds of " << secs << " s each) ...\n";
  table.push_back(pool_vs_pgbench(*pg, 2, secs));
  std::cerr << "3/4 batch writer vs psql \\copy ...\n";
  for (Row& r : writer_vs_copy(*pg, in)) table.push_back(std::move(r));
  std::cerr << "4/4 batch writer vs sqlite3 .import ...\n";
  for (Row& r : writer_vs_sqlite_import(dir, in)) table.push_back(std::move(r));
  print(table);
  return 0;
}
