// Headers — the one HTTP header list: (name, value) pairs in the order they
// were sent or received, names as spelled on the wire. The HTTP client's
// requests and responses and the emulator's requests and replies all use it.
//
//   rebound::Headers h = {{"Content-Type", "application/json"}};
//   auto type = rebound::find_header(h, "content-type");   // case-insensitive
//   auto parsed = rebound::parse_header_line("Authorization: Bearer x");
//   // parsed->first == "Authorization", parsed->second == "Bearer x"
//
// Thread safety: a value type and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rebound {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The value of the first header called `name` (ASCII case-insensitive).
[[nodiscard]] std::optional<std::string> find_header(const Headers& headers, std::string_view name);

// "Name: value" -> {"Name", "value"} (leading blanks of the value dropped);
// nullopt when there is no colon or the name is empty.
[[nodiscard]] std::optional<std::pair<std::string, std::string>> parse_header_line(
    std::string_view line);

}  // namespace rebound
