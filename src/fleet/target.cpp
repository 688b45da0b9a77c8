#include "rebound/fleet/target.hpp"

#include <variant>
#include <vector>

#include "rebound/retry/retry_loop.hpp"
#include "rebound/warehouse/identifier.hpp"

namespace rebound::fleet {

namespace wh = rebound::warehouse;

std::string to_string(Mode mode) { return mode == Mode::naive ? "naive" : "rebound"; }

std::string target_table(Mode mode) {
  return mode == Mode::naive ? "fleet_naive" : "fleet_rebound";
}

Status prepare_target(wh::Warehouse& warehouse, const std::string& table) {
  auto name = wh::parse_table_name(table);
  if (!name) return fail(name.error());
  if (auto dropped = warehouse.with_session([&](wh::Session& s) { return s.drop_table(*name); });
      !dropped) {
    return dropped;
  }
  const wh::Schema schema{
      .columns = {{.name = "id", .type = wh::ColumnType::integer, .nullable = false},
                  {.name = "name", .type = wh::ColumnType::text, .nullable = true},
                  {.name = "score", .type = wh::ColumnType::integer, .nullable = true}}};
  const std::vector<std::string> keys = {"id"};
  return warehouse.create_table(*name, schema, keys);
}

RetryPolicy target_retry_policy() {
  return RetryPolicy{.rules = {ClassRule{
                         .classes = {ErrorClass::transient, ErrorClass::too_many_connections,
                                     ErrorClass::serialization_conflict},
                         .initial = std::chrono::milliseconds{100},
                         .maximum = std::chrono::seconds{2},
                         .multiplier = 2.0,
                         .backoff = BackoffKind::full_jitter,
                         .max_attempts = 0,
                     }},
                     .deadline = std::chrono::seconds{60}};
}

Status check_rows(wh::Warehouse& warehouse, const std::string& table,
                  const std::map<std::int64_t, Record>& expected, RunStats& stats,
                  bool check_values) {
  auto name = wh::parse_table_name(table);
  if (!name) return fail(name.error());
  auto read =
      retry(target_retry_policy(),
            [&]() { return warehouse.query("SELECT id, name, score FROM " + name->quoted()); },
            {.operation = "checking the rows in " + table});
  if (!read) return fail(read.error());
  const auto& result = read.value;
  std::map<std::int64_t, int> seen;
  std::uint64_t wrong = 0;
  std::uint64_t lost = 0;
  for (const wh::Row& row : result->rows) {
    if (row.size() != 3 || !std::holds_alternative<std::int64_t>(row[0])) {
      ++wrong;
      continue;
    }
    const std::int64_t id = std::get<std::int64_t>(row[0]);
    if (++seen[id] > 1) ++wrong;  // a duplicate
    auto it = expected.find(id);
    if (!check_values) {
      if (it == expected.end()) ++wrong;  // a row nobody fetched
      continue;
    }
    const bool same = it != expected.end() && std::holds_alternative<std::string>(row[1]) &&
                      std::get<std::string>(row[1]) == it->second.name &&
                      std::holds_alternative<std::int64_t>(row[2]) &&
                      std::get<std::int64_t>(row[2]) == it->second.score;
    if (!same) ++wrong;
  }
  for (const auto& [id, record] : expected) {
    if (!seen.contains(id)) ++lost;
  }
  stats.rows_expected = expected.size();
  stats.rows_in_table = result->rows.size();
  stats.rows_wrong = wrong;
  stats.rows_lost = lost;
  return {};
}

}  // namespace rebound::fleet
