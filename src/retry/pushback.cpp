#include "rebound/retry/pushback.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace rebound {

std::optional<std::string_view> invalid_pushback(const Pushback& p) noexcept {
  if (p.max <= Duration::zero()) return "pushback.max must be > 0";
  if (!(p.jitter >= 0.0) || p.jitter > 10.0) return "pushback.jitter must be in [0, 10]";
  return std::nullopt;
}

Duration pushback_delay(const Pushback& p, Duration hint, Rng& rng) noexcept {
  const double clamped = static_cast<double>(
      std::clamp(hint, Duration::zero(), std::max(p.max, Duration::zero())).count());
  const double spread = p.jitter > 0 ? rng.uniform(1.0, 1.0 + p.jitter) : 1.0;
  const double ns = std::min(clamped * spread, static_cast<double>(Duration::max().count() / 2));
  return Duration{static_cast<Duration::rep>(std::llround(ns))};
}

std::optional<std::chrono::milliseconds> parse_ratelimit_reset(
    std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
  constexpr std::uint64_t kTimestampFrom = 1'000'000'000;
  constexpr std::uint64_t kMaxSeconds = std::uint64_t{1} << 40;  // far beyond any sane hint
  if (n > kMaxSeconds) return std::nullopt;
  if (n < kTimestampFrom) return std::chrono::milliseconds{std::chrono::seconds{n}};
  const auto reset = std::chrono::system_clock::time_point{std::chrono::seconds{n}};
  if (reset <= now) return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(reset - now);
}

}  // namespace rebound
