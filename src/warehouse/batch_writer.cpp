// BatchWriter: validate everything first, then one retried attempt = one
// transaction that stages, merges and drops. See batch_writer.hpp.
#include "rebound/warehouse/batch_writer.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

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

// dedupe() keeps a row's index in 32 bits.
constexpr std::size_t kMaxRowsPerWrite = 0xffffffffULL;

// Last row wins; the survivors keep the order of their key's first appearance.
std::size_t dedupe(RowSet& rows, std::span<const std::string> keys) {
  std::vector<std::size_t> key_columns;
  for (const std::string& k : keys) key_columns.push_back(*rows.schema.index_of(k));
  // An open-addressing table, at most half full, of (hash's top 32 bits,
  // index into `kept` + 1; 0 = empty): one flat allocation instead of a node
  // per row (a node-based map was ~20% of a million-row load), and a probe
  // compares key bytes only when 32 bits of hash already match.
  const std::size_t capacity = std::bit_ceil(std::max<std::size_t>(rows.rows.size() * 2, 16));
  std::vector<std::uint64_t> table(capacity, 0);
  std::vector<std::string> kept_keys;
  std::vector<Row> kept;
  kept_keys.reserve(rows.rows.size());
  kept.reserve(rows.rows.size());
  const std::hash<std::string_view> hash;
  for (Row& row : rows.rows) {
    std::string key = key_of(row, key_columns);
    const std::uint64_t h = hash(key);
    const std::uint64_t tag = h & 0xffffffff00000000ULL;
    std::size_t slot = h & (capacity - 1);
    for (; table[slot] != 0; slot = (slot + 1) & (capacity - 1)) {
      if ((table[slot] & 0xffffffff00000000ULL) == tag &&
          kept_keys[(table[slot] & 0xffffffffULL) - 1] == key) {
        break;
      }
    }
    if (table[slot] == 0) {
      kept_keys.push_back(std::move(key));
      kept.push_back(std::move(row));
      table[slot] = tag | kept.size();  // index + 1 < 2^32: write() refuses more rows
    } else {
      kept[(table[slot] & 0xffffffffULL) - 1] = std::move(row);
    }
  }
  const std::size_t dropped = rows.rows.size() - kept.size();
  rows.rows = std::move(kept);
  return dropped;
}

// The target's schema inside an attempt's transaction: described, or
// created first (create_table) from `wanted` with the keys NOT NULL.
// `created_now` says whether this call created it.
Result<Schema> target_schema(Session& s, const Warehouse& warehouse, const TableName& table,
                             const BatchWriterOptions& options, Schema wanted, bool& created_now) {
  auto existing = s.describe(table);
  if (!existing) return fail(std::move(existing.error()));
  if (*existing) return std::move(**existing);
  if (!options.create_table) {
    return fail(Error::permanent("table " + table.display() + " does not exist in " +
                                 warehouse.display_url() +
                                 "; create it first or enable create_table (--create)")
                    .with_reason(WriteRefusal::no_such_table));
  }
  for (Column& c : wanted.columns) {
    if (std::find(options.keys.begin(), options.keys.end(), c.name) != options.keys.end())
      c.nullable = false;
  }
  if (auto created = s.create_table(table, wanted, options.keys, false); !created) {
    Error e = std::move(created.error());
    // Two loads creating the same table at once: the loser's CREATE fails
    // on the catalog (23505 / 42P07) once the winner commits; retrying
    // finds the table.
    if (e.source == "postgresql" && (e.code == "23505" || e.code == "42P07")) {
      e.error_class = ErrorClass::serialization_conflict;
    }
    return fail(std::move(e));
  }
  created_now = true;
  existing = s.describe(table);
  if (!existing) return fail(std::move(existing.error()));
  if (!*existing) {
    return fail(
        Error::transient("table " + table.display() + " vanished right after it was created"));
  }
  return std::move(**existing);
}

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
  if (rows.rows.size() >= kMaxRowsPerWrite) {
    return finish(fail(Error::permanent("a write of " + std::to_string(rows.rows.size()) +
                                        " rows is over the limit of " +
                                        std::to_string(kMaxRowsPerWrite) + "; split it")
                           .with_reason(WriteRefusal::rows_do_not_fit)));
  }

  // Every attempt is one transaction that also does the schema work:
  // describe the target, create it (--create) when absent, then stage, merge
  // and commit. A failed or killed attempt therefore leaves nothing behind,
  // not even an empty table. The rows are conformed to the target's schema
  // once; a later attempt re-checks them only if the schema changed.
  std::optional<RowSet> ready;
  std::optional<Schema> ready_for;  // the target schema `ready` was conformed to
  bool created_now = false;         // this attempt created the target
  bool settled = false;             // the target existed: later attempts skip the schema work
  const std::string operation =
      "merging " + std::to_string(rows.rows.size()) + " rows into " + table_.display();
  // The schema work is repeated only when it can have changed: on the first
  // attempt, and after an attempt that created the table (its rollback may
  // have removed it). A table found existing is not described again, so a
  // retry after a serialization conflict costs what it did before.
  auto attempt = [&](Session& s) -> Status {
    if (settled && ready) return {};
    created_now = false;
    auto target = target_schema(s, *warehouse_, table_, options_,
                                ready ? ready->schema : rows.schema, created_now);
    if (!target) return fail(std::move(target.error()));
    if (!ready || !ready_for || !(*ready_for == *target)) {
      auto conformed = conform(ready ? std::move(*ready) : std::move(rows), *target,
                               table_.display(), options_.keys);
      if (!conformed) {
        // The rows do not fit: retrying cannot help.
        Error e = std::move(conformed.error()).with_reason(WriteRefusal::rows_do_not_fit);
        e.error_class = ErrorClass::permanent;
        return fail(std::move(e));
      }
      out.report.duplicates = dedupe(*conformed, options_.keys);
      ready = std::move(*conformed);
      ready_for = std::move(*target);
    }
    settled = !created_now;
    return {};
  };

  std::int64_t merged = 0;
  RetryPolicy policy = options_.policy;
  if (options_.circuit_breakers)
    policy.circuit_breaker = options_.circuit_breakers->for_key(warehouse_->display_url());
  if (options_.rate_limiters)
    policy.rate_limiter = options_.rate_limiters->for_key(warehouse_->display_url());
  auto outcome =
      retry(policy,
            [&](const Attempt& a) -> Status {
              auto n = warehouse_->merge_rows(
                  table_, options_.keys,
                  [&](Session& s) -> Result<const RowSet*> {
                    if (auto st = attempt(s); !st) return fail(std::move(st.error()));
                    return &*ready;
                  },
                  {.isolation = Isolation::serializable, .write = true, .timeout = a.time_left});
              if (!n) return fail(std::move(n.error()));
              merged = *n;
              return {};
            },
            {.operation = operation,
             .clock = options_.clock,
             .sleeper = options_.sleeper,
             .stop = options_.stop});
  out.report.retry = outcome.report;
  if (!outcome) return finish(fail(outcome.error()));
  out.report.rows_merged = merged;
  return finish({});
}

}  // namespace rebound::warehouse
