// run_command — runs a program (the built `rebound` binary, a tool) with
// arguments, no shell, and captures its exit code, stdout and stderr.
//
//   auto r = rebound::testing::run_command({REBOUND_BINARY, "fleet", "--json"});
//   EXPECT_EQ(r.exit_code, 0) << r.err;
//   auto doc = nlohmann::json::parse(r.out);
//
// Arguments are passed as-is (execvp), so they need no quoting. stdin is
// /dev/null unless `stdin_file` names a file.
//
// Thread safety: thread-safe; each call forks its own child.
#pragma once

#include <string>
#include <vector>

namespace rebound::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the program could not start or was killed by a signal
  std::string out;
  std::string err;
};

[[nodiscard]] CommandResult run_command(const std::vector<std::string>& argv,
                                        const std::string& stdin_file = "/dev/null");

}  // namespace rebound::testing
