// Fuzzer: Retry-After values and HTTP-dates (classify::parse_retry_after,
// classify::http). Properties: no UB (the nanosecond clock ends in 2262 —
// that overflow was defect 16), a hint is never negative and never longer
// than the documented 1e9 s cap, and only retriable statuses carry a hint.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rebound/retry/classify.hpp"

using namespace std::chrono_literals;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const int status = 400 + data[0] % 200;  // 400..599
  const std::string_view value(reinterpret_cast<const char*>(data + 1), size - 1);
  // A fixed "now" and the two ends of the nanosecond clock's range.
  using TimePoint = std::chrono::system_clock::time_point;
  const std::array<TimePoint, 3> nows = {
      TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 11 / 29} + 12h}, TimePoint{} + 1s,
      TimePoint::max() - 24h};
  for (const TimePoint now : nows) {
    const auto hint = rebound::classify::parse_retry_after(value, now);
    if (hint && (*hint < 0ms || *hint > std::chrono::milliseconds{1'000'000'000s})) std::abort();
    const rebound::Error e = rebound::classify::http(status, "fuzz", value, now);
    if (e.retry_after && !e.retriable()) std::abort();
    if (e.retry_after && *e.retry_after < 0ms) std::abort();
  }
  return 0;
}
