// Batch parsing for the fleet's processors (private to src/fleet/): the
// source's {"records": [{"id": int, "name"?: string, "score"?: number}, ...]}
// turned into the target's typed rows (id, name, score).
//
//   auto rows = detail::parse_batch(body);   // Result<warehouse::RowSet>
//
// Thread safety: parse_batch may be called from any thread; the simdjson
// parser it reuses is thread_local.
#pragma once

#include <string>

#include "rebound/core/error.hpp"
#include "rebound/warehouse/value.hpp"

namespace rebound::fleet::detail {

// simdjson's DOM first (no nlohmann objects); anything unusual goes to the
// nlohmann reference transform, which words every error, so both agree.
[[nodiscard]] Result<warehouse::RowSet> parse_batch(const std::string& body);

}  // namespace rebound::fleet::detail
