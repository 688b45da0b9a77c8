// Private helpers shared by the server fixtures (nginx, PostgreSQL): the one
// process-spawn helper, a free port, and a log's tail for error messages.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "rebound/core/error.hpp"

namespace rebound::testing::detail {

// Starts argv (looked up on PATH) with stdin from /dev/null, stdout and
// stderr appended to `log`, in folder `cwd` when it is not empty. Uses
// posix_spawn, which is safe while other threads run. Returns the pid;
// errors (permanent) name the program.
[[nodiscard]] Result<pid_t> spawn(const std::vector<std::string>& argv,
                                  const std::filesystem::path& log,
                                  const std::filesystem::path& cwd = {});

// Waits for the child: its exit status, or 128 + the signal that ended it.
[[nodiscard]] Result<int> wait_exit(pid_t pid);

// A port on 127.0.0.1 that was free a moment ago (bind to 0, read it back).
[[nodiscard]] Result<int> free_loopback_port();

// The last `bytes` of a log file, for error messages when a server fails to start.
[[nodiscard]] std::string tail_of(const std::filesystem::path& file, std::size_t bytes = 1500);

}  // namespace rebound::testing::detail
