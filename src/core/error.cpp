#include "rebound/core/error.hpp"

#include <array>

namespace rebound {
namespace {
constexpr std::array<std::string_view, kErrorClassCount> kNames = {
    "serialization_conflict", "quota_exceeded", "rate_limited", "transient",
    "too_many_connections",   "non_retriable",  "permanent",    "circuit_open",
};
}  // namespace

std::string_view to_string(ErrorClass c) noexcept {
  const auto i = static_cast<std::size_t>(c);
  return i < kNames.size() ? kNames[i] : std::string_view{"unknown"};
}

std::optional<ErrorClass> parse_error_class(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<ErrorClass>(i);
  }
  return std::nullopt;
}

std::string Error::describe() const {
  std::string out{to_string(error_class)};
  if (!source.empty() || !code.empty()) {
    out += " [";
    out += source;
    if (!source.empty() && !code.empty()) out += ' ';
    out += code;
    out += ']';
  }
  out += ": ";
  out += message;
  return out;
}

Error Error::make(ErrorClass c, std::string message, std::string source, std::string code) {
  return Error{.error_class = c,
               .code = std::move(code),
               .source = std::move(source),
               .message = std::move(message),
               .retry_after = std::nullopt};
}

}  // namespace rebound
