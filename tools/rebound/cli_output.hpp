// Helpers every subcommand shares for what it prints and what it accepts:
// JSON that is valid whatever bytes a message holds, and number options that
// are checked (finite, in range, named) before any work starts.
//
//   std::cout << cli::json_text(doc) << "\n";        // never throws on bad UTF-8
//   cmd->add_option("--timeout", secs)->check(cli::finite_range(0.001, 86400));
//
// Thread safety: pure functions.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace rebound::cli {

// nlohmann::json::dump() throws on invalid UTF-8 (a path, a table name, a
// server message in another encoding), which left --json runs with an empty
// stdout and exit 1, once after the rows were committed. Invalid bytes are
// replaced by U+FFFD instead: the document is always valid JSON.
[[nodiscard]] inline std::string json_text(const nlohmann::json& doc, int indent = -1) {
  return doc.dump(indent, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

// A number option that must be finite and within [lo, hi]. CLI11's
// PositiveNumber lets NaN through (NaN <= 0 is false), which then reached an
// undefined double -> integer conversion after work had started. CLI11
// prefixes the message with the option's name, and the exit code is kUsage.
[[nodiscard]] inline CLI::Validator finite_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        double v = 0;
        try {
          std::size_t used = 0;
          v = std::stod(text, &used);
          if (used != text.size()) return "'" + text + "' is not a number";
        } catch (const std::exception&) {
          return "'" + text + "' is not a number";
        }
        if (!std::isfinite(v)) return "'" + text + "' is not a finite number";
        if (v < lo || v > hi) {
          return "'" + text + "' is out of range: use a value in [" + CLI::detail::to_string(lo) +
                 ", " + CLI::detail::to_string(hi) + "]";
        }
        return {};
      },
      "FINITE in [" + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]");
}

}  // namespace rebound::cli
