// Feeds g++'s -fsanitize-coverage=trace-pc into libFuzzer.
//
// libFuzzer 14 refuses trace-pc, and clang 14 cannot build this code base
// (see cmake/ReboundFuzz.cmake). The linker redirects every
// __sanitizer_cov_trace_pc call (--wrap) here; each call site's return
// address picks one of 64k inline 8-bit counters registered with libFuzzer,
// which is what -fsanitize-coverage=inline-8bit-counters would give it.
// Hash collisions only make the feedback coarser, never wrong.
//
// Thread safety: the counters are racy by design, as libFuzzer's own are.
#include <cstddef>
#include <cstdint>

extern "C" void __sanitizer_cov_8bit_counters_init(std::uint8_t* begin, std::uint8_t* end);

namespace {
constexpr std::size_t kCounters = std::size_t{1} << 16;
alignas(64) std::uint8_t counters[kCounters];
}  // namespace

extern "C" __attribute__((no_sanitize_coverage, no_sanitize_address, no_sanitize_undefined)) void
__wrap___sanitizer_cov_trace_pc() {
  const auto pc = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  std::uint8_t& c = counters[(pc ^ (pc >> 16)) & (kCounters - 1)];
  c = static_cast<std::uint8_t>(c + 1);
}

// g++'s trace-cmp also reports floating-point comparisons, which libFuzzer
// has no hook for; they carry no useful feedback for these inputs.
extern "C" __attribute__((no_sanitize_coverage)) void __sanitizer_cov_trace_cmpf(float, float) {}
extern "C" __attribute__((no_sanitize_coverage)) void __sanitizer_cov_trace_cmpd(double, double) {}

__attribute__((constructor(101), no_sanitize_coverage)) static void register_counters() {
  __sanitizer_cov_8bit_counters_init(counters, counters + kCounters);
}
