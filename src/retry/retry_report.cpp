// GiveUpReason's names; see retry_report.hpp.
#include "rebound/retry/retry_report.hpp"

#include <array>

namespace rebound {
namespace {

constexpr std::array<std::string_view, 9> kGiveUpNames = {
    "none",      "not_retriable", "class_limit", "attempt_limit", "deadline", "budget_exhausted",
    "cancelled", "circuit_open",  "send_rate"};

}  // namespace

std::string_view to_string(GiveUpReason r) noexcept {
  const auto i = static_cast<std::size_t>(r);
  return i < kGiveUpNames.size() ? kGiveUpNames[i] : std::string_view{"unknown"};
}

}  // namespace rebound
