// The header list's lookup and the one header-line parser; see headers.hpp.
#include "rebound/core/headers.hpp"

#include <algorithm>
#include <cctype>

namespace rebound {
namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return kExtra.find(c) != std::string_view::npos;
}

std::string_view trim_blanks(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool has_line_break_or_nul(std::string_view s) noexcept {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

std::optional<std::string> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (same_name(key, name)) return value;
  }
  return std::nullopt;
}

bool is_http_token(std::string_view text) noexcept {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

std::optional<HeaderLine> parse_header_line(std::string_view line) noexcept {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.empty() || line.starts_with("HTTP/")) return std::nullopt;
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim_blanks(line.substr(colon + 1));
  if (!is_http_token(name) || has_line_break_or_nul(value)) return std::nullopt;
  return HeaderLine{.name = name, .value = value};
}

Result<std::pair<std::string, std::string>> parse_header_option(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return fail(Error::permanent("a header must look like 'Name: value' (no colon found in a " +
                                 std::to_string(text.size()) +
                                 "-byte argument; not shown, it may hold a secret)"));
  }
  const std::string_view name = trim_blanks(text.substr(0, colon));
  const std::string_view value = trim_blanks(text.substr(colon + 1));
  if (!is_http_token(name)) {
    return fail(Error::permanent(
        "a header name must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~; no spaces); "
        "the name before the colon is not (not shown, it may hold a secret)"));
  }
  if (has_line_break_or_nul(value)) {
    return fail(Error::permanent("the value of header " + std::string(name) +
                                 " contains CR, LF or NUL (header injection)"));
  }
  return std::pair<std::string, std::string>(std::string(name), std::string(value));
}

}  // namespace rebound
