// `rebound herd --scenario overload`: the metastable-failure table (see
// herd_overload.cpp and docs/overload.md).
#pragma once

#include <cstdint>
#include <string>

namespace rebound::cli {

struct OverloadArgs {
  std::uint64_t seed = 1;
  std::string trigger = "capacity_drop";  // or latency_spike
  bool json = false;
};

// Prints the table (or the JSON document) and returns an exit code.
int run_overload_command(const OverloadArgs& args);

}  // namespace rebound::cli
