// Retry core benchmarks. Run:
//   build/bench/retry/retry_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>

#include "rebound/retry/backoff.hpp"
#include "rebound/retry/budget.hpp"
#include "rebound/retry/clock.hpp"
#include "rebound/retry/error.hpp"
#include "rebound/retry/policy.hpp"
#include "rebound/retry/random.hpp"
#include "rebound/retry/retry_loop.hpp"

namespace {

using namespace std::chrono_literals;

// (a) The cost of one delay. Reset every 16 retries so the growing
// strategies stay below their cap, where their arithmetic is real work.
void BM_BackoffNext(benchmark::State& state) {
  const auto jitter = static_cast<rebound::Jitter>(state.range(0));
  state.SetLabel(std::string(rebound::to_string(jitter)));
  rebound::Backoff b{rebound::make_strategy(jitter, 100ms, 10s, 2.0), rebound::Rng{42}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(b.next());
    if (b.retries() >= 16) b.reset();
  }
}
BENCHMARK(BM_BackoffNext)->DenseRange(0, 5);

// (b) The success path: the same trivial call, plainly and through retry().
[[gnu::noinline]] rebound::Result<int> succeed(int x) {
  benchmark::DoNotOptimize(x);
  return x + 1;
}

void BM_PlainCall(benchmark::State& state) {
  int x = 0;
  for (auto _ : state) {
    rebound::Result<int> r = succeed(x);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_PlainCall);

void BM_RetrySuccess(benchmark::State& state) {
  const rebound::RetryPolicy policy = rebound::policies::serialization();
  int x = 0;
  for (auto _ : state) {
    auto out = rebound::retry(policy, [&] { return succeed(x); });
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RetrySuccess);

void BM_RetrySuccessWithBudget(benchmark::State& state) {
  rebound::RetryPolicy policy = rebound::policies::serialization();
  policy.budget = rebound::RetryBudget::make({}).value();
  int x = 0;
  for (auto _ : state) {
    auto out = rebound::retry(policy, [&] { return succeed(x); });
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RetrySuccessWithBudget);

// The same loop with a clock that does not read the time: the difference to
// BM_RetrySuccess is what the two steady_clock::now() calls cost.
class FrozenClock final : public rebound::Clock {
 public:
  [[nodiscard]] rebound::TimePoint now() const override { return {}; }
  [[nodiscard]] std::chrono::system_clock::time_point wall_now() const override { return {}; }
};

void BM_RetrySuccessFrozenClock(benchmark::State& state) {
  const rebound::RetryPolicy policy = rebound::policies::serialization();
  FrozenClock clock;
  int x = 0;
  for (auto _ : state) {
    auto out = rebound::retry(policy, [&] { return succeed(x); }, {.clock = &clock});
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RetrySuccessFrozenClock);

// For scale: one steady_clock read through rebound's Clock interface.
void BM_SteadyClockNow(benchmark::State& state) {
  rebound::Clock& clock = rebound::steady_clock();
  for (auto _ : state) benchmark::DoNotOptimize(clock.now());
}
BENCHMARK(BM_SteadyClockNow);

}  // namespace
