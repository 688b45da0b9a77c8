// Header lines — the one parser for "Name: value" text, both directions:
// response header lines from the server, and the command line's --header.
//
//   auto h = rebound::http::parse_header_line("Retry-After: 120\r\n");
//   h->name == "Retry-After"; h->value == "120"
//   auto opt = rebound::http::parse_header_option("X-Api-Key: abc");  // ok
//   parse_header_option("Authorization Bearer abc").error().message
//     // names the problem, never repeats the text (it may hold a secret)
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "rebound/core/error.hpp"

namespace rebound::http {

struct HeaderLine {
  std::string_view name;   // an HTTP token (RFC 9110 tchar), never empty
  std::string_view value;  // leading and trailing blanks removed; no CR, LF or NUL
};

// True for a non-empty HTTP token (the characters a header name may hold).
[[nodiscard]] bool is_http_token(std::string_view text) noexcept;

// One response header line (CRLF or LF ended, or not). nullopt for a status
// line, a blank line, and anything malformed (no colon, a name that is not a
// token, CR/LF/NUL inside): such lines are ignored, never half-parsed.
[[nodiscard]] std::optional<HeaderLine> parse_header_line(std::string_view line) noexcept;

// A request header given as text ("Name: value", e.g. curl's -H). Errors
// (permanent) say what is wrong without echoing the text.
[[nodiscard]] Result<std::pair<std::string, std::string>> parse_header_option(
    std::string_view text);

}  // namespace rebound::http
