// Private helpers shared by the server fixtures (nginx, PostgreSQL).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "rebound/core/error.hpp"

namespace rebound::testing::detail {

// A port on 127.0.0.1 that was free a moment ago (bind to 0, read it back).
[[nodiscard]] Result<int> free_loopback_port();

// The last `bytes` of a log file, for error messages when a server fails to start.
[[nodiscard]] std::string tail_of(const std::filesystem::path& file, std::size_t bytes = 1500);

}  // namespace rebound::testing::detail
