// Store — the emulator's data: datasets, tables (with schemas) and rows in
// one SQLite database, plus the GoogleSQL subset executed on it (sql.cpp)
// and NDJSON loads (load.cpp). Table "d.t" of project "p" is the SQLite
// table "p.d.t"; the catalog lives in __rb_datasets / __rb_tables.
//
// Thread safety: one thread at a time (the emulator holds its mutex).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "types.hpp"

namespace rebound::emulator::bigquery::detail {

struct TableInfo {
  TableRef ref;
  json fields = json::array();
  std::int64_t creation_ms = 0;
  std::optional<std::int64_t> expiration_ms;
  json extra = json::object();  // labels, description, … echoed back
};

// A named query parameter, or a positional one (name "?N").
struct Param {
  std::string name;
  std::string type;  // canonical
  json value;        // string or null
};

// A statement classified before it runs: its kind and the table it mutates.
struct StatementPlan {
  std::string statement_type;  // SELECT, INSERT, UPDATE, DELETE, MERGE, TRUNCATE, CREATE_TABLE, …
  std::optional<TableRef> target;  // the mutated table (DML/DDL)
  bool mutating_dml = false;       // UPDATE, DELETE, MERGE, TRUNCATE, INSERT
  std::vector<TableRef> tables;    // every table the statement names
};

struct LoadRequest {
  TableRef table;
  json config;  // configuration.load
  std::string data;
  std::string error_location;
};

struct LoadOutcome {
  std::int64_t output_rows = 0;
  std::int64_t bad_records = 0;
  std::int64_t input_bytes = 0;
  json warnings = json::array();  // errors[] of skipped bad records
};

class Store {
 public:
  using NowFn = std::function<std::int64_t()>;
  // Opens `path` (":memory:" for none) and creates the catalog.
  [[nodiscard]] static BqResult<std::unique_ptr<Store>> open(const std::string& path, NowFn now);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  void reset();

  // Datasets.
  [[nodiscard]] BqResult<json> create_dataset(const std::string& project, const json& body,
                                              const std::string& default_location);
  [[nodiscard]] BqResult<json> get_dataset(const std::string& project,
                                           const std::string& dataset) const;
  [[nodiscard]] BqResult<void> delete_dataset(const std::string& project,
                                              const std::string& dataset, bool contents);
  [[nodiscard]] json list_datasets(const std::string& project) const;
  [[nodiscard]] std::optional<std::string> dataset_location(const std::string& project,
                                                            const std::string& dataset) const;

  // Tables. Expired tables vanish lazily on access.
  [[nodiscard]] BqResult<TableInfo> create_table(const TableRef& ref, const json& fields,
                                                 std::optional<std::int64_t> expiration_ms,
                                                 const json& extra, bool replace);
  [[nodiscard]] std::optional<TableInfo> table(const TableRef& ref);
  [[nodiscard]] BqResult<void> drop_table(const TableRef& ref);
  [[nodiscard]] std::vector<TableInfo> tables(const std::string& project,
                                              const std::string& dataset);
  [[nodiscard]] std::int64_t row_count(const TableRef& ref);
  // Rows in storage order (with the schema's column order) from `start`.
  [[nodiscard]] BqResult<json> rows(const TableRef& ref, std::int64_t start, std::int64_t count);
  // Converts one JSON row to stored values; the error names the field.
  [[nodiscard]] BqResult<std::vector<json>> convert_row(const json& fields, const json& row,
                                                        bool ignore_unknown) const;
  [[nodiscard]] BqResult<void> insert_rows(const TableInfo& table,
                                           const std::vector<std::vector<json>>& rows);

  // SQL (sql.cpp). plan() classifies without running; execute() runs
  // inside the caller's transaction.
  [[nodiscard]] BqResult<StatementPlan> plan(const std::string& sql, const std::string& project,
                                             const json& default_dataset);
  [[nodiscard]] BqResult<QueryOutcome> execute(const std::string& sql, const std::string& project,
                                               const json& default_dataset,
                                               const std::vector<Param>& params);
  // NDJSON load (load.cpp), inside the caller's transaction.
  [[nodiscard]] BqResult<LoadOutcome> load(const LoadRequest& request);

  // Transactions: the effects of one job commit or roll back together.
  void begin();
  void commit();
  void rollback();

  // Reason of the MERGE cardinality error (contract §8: unconfirmed).
  std::string merge_duplicate_reason = "invalidQuery";

  [[nodiscard]] sqlite3* db() const noexcept { return db_; }
  [[nodiscard]] std::int64_t now_ms() const { return now_(); }

  // Runs `sql` with bound params and collects rows (SQLite values) and
  // column names; low-level, used by sql.cpp and load.cpp.
  struct Rows {
    std::vector<std::string> names;
    std::vector<std::string> origin_tables;  // "p.d.t" or empty
    std::vector<std::string> origin_columns;
    json rows = json::array();
    std::int64_t changes = 0;
  };
  [[nodiscard]] BqResult<Rows> run(const std::string& sql, const std::vector<Param>& params = {});

 private:
  Store(sqlite3* db, NowFn now);
  [[nodiscard]] BqResult<void> exec(const std::string& sql);
  void expire_tables();
  sqlite3* db_;
  NowFn now_;
};

// "p.d.t" quoted for SQLite.
[[nodiscard]] std::string quote_ident(const std::string& name);
// The SQLite column type for a BigQuery field (keeps the type name readable
// and gives SQLite the right affinity).
[[nodiscard]] std::string sqlite_column_type(const json& field);

}  // namespace rebound::emulator::bigquery::detail
