// Warehouse conveniences: one-statement calls run in a session of their own.
#include "rebound/warehouse/warehouse.hpp"

namespace rebound::warehouse {

Result<std::int64_t> Warehouse::execute(std::string_view sql, std::span<const Value> params) {
  std::int64_t changed = 0;
  auto st = with_session([&](Session& s) -> Status {
    auto r = s.execute(sql, params);
    if (!r) return fail(std::move(r.error()));
    changed = *r;
    return {};
  });
  if (!st) return fail(std::move(st.error()));
  return changed;
}

Result<QueryResult> Warehouse::query(std::string_view sql, std::span<const Value> params) {
  QueryResult out;
  auto st = with_session([&](Session& s) -> Status {
    auto r = s.query(sql, params);
    if (!r) return fail(std::move(r.error()));
    out = std::move(*r);
    return {};
  });
  if (!st) return fail(std::move(st.error()));
  return out;
}

Status Warehouse::load(const TableName& table, const RowSet& rows) {
  return transaction({}, [&](Session& s) { return s.load(table, rows); });
}

Result<std::optional<Schema>> Warehouse::describe(const TableName& table) {
  std::optional<Schema> out;
  auto st = with_session([&](Session& s) -> Status {
    auto r = s.describe(table);
    if (!r) return fail(std::move(r.error()));
    out = std::move(*r);
    return {};
  });
  if (!st) return fail(std::move(st.error()));
  return out;
}

Status Warehouse::create_table(const TableName& table, const Schema& schema,
                               std::span<const std::string> keys) {
  return with_session([&](Session& s) { return s.create_table(table, schema, keys, false); });
}

}  // namespace rebound::warehouse
