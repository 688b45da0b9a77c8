// Headers — the one HTTP header list and the one parser of "Name: value"
// text. The list holds (name, value) pairs in the order they were sent or
// received, names as spelled on the wire; the HTTP client's requests and
// responses and the emulator's requests and replies all use it. The parser
// has one set of rules for both directions: response header lines from a
// server, and a header a user typed (the command line's --header).
//
//   rebound::Headers h = {{"Content-Type", "application/json"}};
//   auto type = rebound::find_header(h, "content-type");   // case-insensitive
//   auto line = rebound::parse_header_line("Retry-After: 120\r\n");
//   // line->name == "Retry-After", line->value == "120"
//   auto opt = rebound::parse_header_option("X-Api-Key: abc");   // Result
//   // a malformed option's error names the problem, never the text (a secret?)
//
// The rules: the name is an HTTP token (RFC 9110 tchar), the value has its
// leading and trailing blanks removed and holds no CR, LF or NUL (no header
// injection).
//
// Thread safety: a value type and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rebound/core/error.hpp"

namespace rebound {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The value of the first header called `name` (ASCII case-insensitive).
[[nodiscard]] std::optional<std::string> find_header(const Headers& headers, std::string_view name);

// A parsed header line: views into the parsed text.
struct HeaderLine {
  std::string_view name;   // an HTTP token, never empty
  std::string_view value;  // leading and trailing blanks removed; no CR, LF or NUL
};

// True for a non-empty HTTP token (the characters a header name may hold).
[[nodiscard]] bool is_http_token(std::string_view text) noexcept;

// One response header line (CRLF or LF ended, or not). nullopt for a status
// line, a blank line, and anything malformed (no colon, a name that is not a
// token, CR/LF/NUL inside): such lines are ignored, never half-parsed.
[[nodiscard]] std::optional<HeaderLine> parse_header_line(std::string_view line) noexcept;

// A request header given as text ("Name: value", e.g. curl's -H); blanks
// around the name are dropped too. Errors (permanent) say what is wrong
// without echoing the text.
[[nodiscard]] Result<std::pair<std::string, std::string>> parse_header_option(
    std::string_view text);

}  // namespace rebound
