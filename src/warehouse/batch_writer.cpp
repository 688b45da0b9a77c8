// BatchWriter: validate everything first, then one retried attempt = one
// transaction that stages, merges and drops. See batch_writer.hpp.
#include "rebound/warehouse/batch_writer.hpp"

#include <unistd.h>

#include <atomic>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace rebound::warehouse {
namespace {

// A byte string that identifies a row's key values exactly (type + bytes),
// so 1 and "1" and 1.0 are different keys, as they are to the database.
std::string key_of(const Row& row, std::span<const std::size_t> key_columns) {
  std::string out;
  for (std::size_t c : key_columns) {
    const Value& v = row[c];
    out += static_cast<char>('0' + v.index());
    switch (v.index()) {
      case 1:
        out += std::get<bool>(v) ? '1' : '0';
        break;
      case 2: {
        const auto i = std::get<std::int64_t>(v);
        out.append(reinterpret_cast<const char*>(&i), sizeof i);
        break;
      }
      case 3: {
        const auto bits = std::bit_cast<std::uint64_t>(std::get<double>(v));
        out.append(reinterpret_cast<const char*>(&bits), sizeof bits);
        break;
      }
      case 4: {
        const std::string& s = std::get<std::string>(v);
        const std::uint64_t n = s.size();
        out.append(reinterpret_cast<const char*>(&n), sizeof n);
        out += s;
        break;
      }
      default:
        break;
    }
  }
  return out;
}

// Last row wins; the survivors keep the order of their key's first appearance.
std::size_t dedupe(RowSet& rows, std::span<const std::string> keys) {
  std::vector<std::size_t> key_columns;
  for (const std::string& k : keys) key_columns.push_back(*rows.schema.index_of(k));
  std::unordered_map<std::string, std::size_t> slot;  // key -> index in `kept`
  slot.reserve(rows.rows.size());
  std::vector<Row> kept;
  kept.reserve(rows.rows.size());
  for (Row& row : rows.rows) {
    auto [it, inserted] = slot.try_emplace(key_of(row, key_columns), kept.size());
    if (inserted) {
      kept.push_back(std::move(row));
    } else {
      kept[it->second] = std::move(row);
    }
  }
  const std::size_t dropped = rows.rows.size() - kept.size();
  rows.rows = std::move(kept);
  return dropped;
}

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

RetryPolicy default_write_policy(double scale) {
  RetryPolicy p = policies::compose(policies::quota(), policies::serialization());
  p.rules.push_back(ClassRule{
      .classes = {ErrorClass::transient, ErrorClass::too_many_connections},
      .initial = std::chrono::milliseconds{50},
      .maximum = std::chrono::seconds{2},
      .multiplier = 2.0,
      .backoff = BackoffKind::full_jitter,
      .max_attempts = 10,
  });
  return policies::scaled(std::move(p), scale);
}

Result<BatchWriter> BatchWriter::make(std::shared_ptr<Warehouse> warehouse,
                                      BatchWriterOptions options) {
  if (!warehouse) return fail(Error::permanent("BatchWriter needs a warehouse"));
  auto table = parse_table_name(options.table);
  if (!table) return fail(std::move(table.error()));
  if (options.keys.empty()) {
    return fail(
        Error::permanent("BatchWriter for " + table->display() + " needs at least one key column"));
  }
  for (std::size_t i = 0; i < options.keys.size(); ++i) {
    if (auto ok = validate_identifier(options.keys[i], "key column"); !ok) return fail(ok.error());
    for (std::size_t j = 0; j < i; ++j) {
      if (options.keys[i] == options.keys[j]) {
        return fail(Error::permanent("key column \"" + options.keys[i] + "\" is listed twice"));
      }
    }
  }
  auto policy = make_policy(options.policy);
  if (!policy) return fail(std::move(policy.error()));
  options.policy = std::move(*policy);
  return BatchWriter(std::move(warehouse), std::move(options), std::move(*table));
}

WriteOutcome BatchWriter::write(std::span<const nlohmann::json> rows) const {
  Clock& clock = options_.clock ? *options_.clock : steady_clock();
  const TimePoint start = clock.now();
  auto set = rows_from_json(rows, options_.json);
  if (!set) {
    WriteOutcome out{.status = fail(std::move(set.error()).with_reason(WriteRefusal::bad_json)),
                     .report = {}};
    out.report.rows_read = rows.size();
    out.report.elapsed = clock.now() - start;
    return out;
  }
  WriteOutcome out = write(std::move(*set));
  out.report.elapsed = clock.now() - start;
  return out;
}

WriteOutcome BatchWriter::write(RowSet rows) const {
  Clock& clock = options_.clock ? *options_.clock : steady_clock();
  const TimePoint start = clock.now();
  WriteOutcome out{.status = {}, .report = {.rows_read = rows.rows.size()}};
  auto finish = [&](Status st) {
    out.status = std::move(st);
    out.report.elapsed = clock.now() - start;
    return std::move(out);
  };
  for (const std::string& key : options_.keys) {
    if (!rows.schema.find(key)) {
      return finish(
          fail(Error::permanent("key column \"" + key +
                                "\" is not in the rows (columns: " + rows.schema.describe() + ")")
                   .with_reason(WriteRefusal::key_not_in_rows)));
    }
  }
  if (rows.rows.empty()) return finish({});

  // Schema work is done once per write (inside the loop, so a transient
  // failure of describe/create is retried too); the conformed rows are reused
  // by every attempt.
  std::optional<RowSet> ready;
  const std::string operation =
      "merging " + std::to_string(rows.rows.size()) + " rows into " + table_.display();
  auto prepare = [&]() -> Status {
    auto existing = warehouse_->describe(table_);
    if (!existing) return fail(std::move(existing.error()));
    if (!*existing) {
      if (!options_.create_table) {
        return fail(Error::permanent("table " + table_.display() + " does not exist in " +
                                     warehouse_->display_url() +
                                     "; create it first or enable create_table (--create)")
                        .with_reason(WriteRefusal::no_such_table));
      }
      Schema wanted = rows.schema;
      for (Column& c : wanted.columns) {
        if (std::find(options_.keys.begin(), options_.keys.end(), c.name) != options_.keys.end())
          c.nullable = false;
      }
      auto created = warehouse_->create_table(table_, wanted, options_.keys);
      existing = warehouse_->describe(table_);  // also settles a concurrent-create race
      if (!existing) return fail(std::move(existing.error()));
      if (!*existing) {
        return created ? fail(Error::transient("table " + table_.display() +
                                               " vanished right after it was created"))
                       : fail(std::move(created.error()));
      }
    }
    auto conformed = conform(std::move(rows), **existing, table_.display(), options_.keys);
    if (!conformed) {
      return fail(std::move(conformed.error()).with_reason(WriteRefusal::rows_do_not_fit));
    }
    out.report.duplicates = dedupe(*conformed, options_.keys);
    ready = std::move(*conformed);
    return {};
  };

  std::int64_t merged = 0;
  auto outcome =
      retry(options_.policy,
            [&]() -> Status {
              if (!ready) {
                if (auto st = prepare(); !st) return st;
              }
              return warehouse_->transaction(
                  {.isolation = Isolation::serializable, .write = true}, [&](Session& s) -> Status {
                    StagingTable staging(s, TableName{.schema = {}, .name = staging_name()});
                    if (auto st = staging.create(ready->schema); !st) return st;
                    if (auto st = s.load(staging.name(), *ready); !st) return st;
                    auto n = s.merge(staging.name(), table_, ready->schema, options_.keys);
                    if (!n) return fail(std::move(n.error()));
                    if (auto st = staging.drop(); !st) return st;
                    merged = *n;
                    return {};
                  });
            },
            {.operation = operation, .clock = options_.clock, .sleeper = options_.sleeper});
  out.report.retry = outcome.report;
  if (!outcome) return finish(fail(outcome.error()));
  out.report.rows_merged = merged;
  return finish({});
}

}  // namespace rebound::warehouse
