// Fleet workload — the deterministic records the fleet's processors fetch and
// write, shared by the built-in source (which serves them) and the checker
// (which knows what the target table must hold afterwards).
//
//   Workload w{.seed = 42, .processors = 32, .batches = 20, .rows = 25, .key_space = 5333};
//   std::vector<Record> batch = w.batch(3, 1);   // processor 3, batch 1
//   auto expected = w.expected();                      // id -> record, every key once
//
// Keys overlap across processors on purpose (key_space < processors × batches
// × rows), so concurrent writers really conflict. A record's content depends
// only on its id, so whichever writer wins, the final row is known exactly.
//
// Thread safety: immutable value; all functions are const and pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rebound::fleet {

struct Record {
  std::int64_t id = 0;
  std::string name;
  std::int64_t score = 0;
  friend bool operator==(const Record&, const Record&) = default;
};

struct Workload {
  std::uint64_t seed = 42;
  int processors = 32;
  int batches = 20;
  int rows = 25;
  std::int64_t key_space = 5333;

  [[nodiscard]] Record record(std::int64_t id) const;
  [[nodiscard]] std::vector<Record> batch(int processor, int batch) const;
  [[nodiscard]] std::map<std::int64_t, Record> expected() const;
};

// The JSON the source serves for one batch: {"records": [{"id":…, "name":…, "score":…}, …]}.
[[nodiscard]] nlohmann::json to_json(const std::vector<Record>& records);

}  // namespace rebound::fleet
