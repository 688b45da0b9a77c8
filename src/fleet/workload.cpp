#include "rebound/fleet/workload.hpp"

#include "rebound/core/random.hpp"

namespace rebound::fleet {

Record Workload::record(std::int64_t id) const {
  Rng rng{seed ^ (static_cast<std::uint64_t>(id) * 0x9e3779b97f4a7c15ULL)};
  return Record{.id = id,
                .name = "box-" + std::to_string(id),
                .score = static_cast<std::int64_t>(rng() % 100000)};
}

std::vector<Record> Workload::batch(int processor, int batch_index) const {
  // One stream per (processor, batch): the batch is the same whichever run,
  // thread or order asks for it.
  Rng rng{seed + 0x51ed2701ULL * static_cast<std::uint64_t>(processor + 1) +
          0x2545f4914f6cdd1dULL * static_cast<std::uint64_t>(batch_index + 1)};
  std::vector<Record> out;
  out.reserve(static_cast<std::size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    out.push_back(record(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(key_space))));
  }
  return out;
}

std::map<std::int64_t, Record> Workload::expected() const {
  std::map<std::int64_t, Record> out;
  for (int p = 0; p < processors; ++p) {
    for (int b = 0; b < batches; ++b) {
      for (Record& r : batch(p, b)) out.emplace(r.id, std::move(r));
    }
  }
  return out;
}

nlohmann::json to_json(const std::vector<Record>& records) {
  nlohmann::json list = nlohmann::json::array();
  for (const Record& r : records)
    list.push_back({{"id", r.id}, {"name", r.name}, {"score", r.score}});
  return {{"records", std::move(list)}};
}

}  // namespace rebound::fleet
