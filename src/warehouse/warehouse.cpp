// Warehouse conveniences: one-statement calls run in a session of their own.
#include "rebound/warehouse/warehouse.hpp"

#include <unistd.h>

#include <atomic>

namespace rebound::warehouse {
namespace {

std::string staging_name() {
  static std::atomic<std::uint64_t> counter{0};  // trivially constructed: no init-order issue
  return "rebound_stage_" + std::to_string(::getpid()) + "_" +
         std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
}

// The staging table of one attempt. Dropped explicitly on success (inside the
// transaction, so a failed drop fails the attempt); the destructor drops it on
// every failure path. When the transaction aborts or the connection dies, the
// rollback / session end removes it anyway and the drop is a harmless no-op.
class StagingTable {
 public:
  StagingTable(Session& session, TableName name) : session_(session), name_(std::move(name)) {}
  StagingTable(const StagingTable&) = delete;
  StagingTable& operator=(const StagingTable&) = delete;
  ~StagingTable() {
    if (live_) (void)session_.drop_table(name_);
  }
  Status create(const Schema& schema) {
    Schema loose = schema;  // staging accepts what conform() accepted; the target enforces
    for (Column& c : loose.columns) c.nullable = true;
    auto st = session_.create_table(name_, loose, {}, /*temporary=*/true);
    live_ = st.has_value();
    return st;
  }
  Status drop() {
    live_ = false;
    return session_.drop_table(name_);
  }
  [[nodiscard]] const TableName& name() const noexcept { return name_; }

 private:
  Session& session_;
  TableName name_;
  bool live_ = false;
};

}  // namespace

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

Result<std::int64_t> Warehouse::merge_rows(const TableName& target,
                                           std::span<const std::string> keys,
                                           const PrepareRows& prepare,
                                           const TransactionOptions& options) {
  std::int64_t merged = 0;
  auto st = transaction(options, [&](Session& s) -> Status {
    auto rows = prepare(s);
    if (!rows) return fail(std::move(rows.error()));
    StagingTable staging(s, TableName{.schema = {}, .name = staging_name()});
    if (auto ok = staging.create((*rows)->schema); !ok) return ok;
    if (auto ok = s.load(staging.name(), **rows); !ok) return ok;
    auto n = s.merge(staging.name(), target, (*rows)->schema, keys);
    if (!n) return fail(std::move(n.error()));
    if (auto ok = staging.drop(); !ok) return ok;
    merged = *n;
    return {};
  });
  if (!st) return fail(std::move(st.error()));
  return merged;
}

}  // namespace rebound::warehouse
