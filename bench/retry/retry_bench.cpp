// Retry-core benchmarks (see BENCHMARKS.md, "Retry core"):
//   (a) Backoff::next() per strategy: the cost of computing one delay;
//   (b) the retry loop's success path next to a plain call of the same
//       function, in the same run, so the difference is the loop's overhead.
//
//   build/bench/retry/retry_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   python3 bench/retry/compare.py build/bench/retry/retry_bench
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"
#include "rebound/core/random.hpp"
#include "rebound/retry/backoff.hpp"
#include "rebound/retry/budget.hpp"
#include "rebound/retry/policy.hpp"
#include "rebound/retry/retry_loop.hpp"

namespace {

using namespace std::chrono_literals;

// --- (a) one backoff step -------------------------------------------------

// A schedule restarts after 10 retries (a typical retry limit), so the rows
// average the cost over the first ten steps instead of the capped tail only.
void BM_BackoffNext(benchmark::State& state, rebound::BackoffKind kind) {
  rebound::Backoff backoff{rebound::make_strategy(kind, 100ms, 10s, 2.0), rebound::Rng{42}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(backoff.next());
    if (backoff.retries() == 10) backoff.reset();
  }
}
BENCHMARK_CAPTURE(BM_BackoffNext, constant, rebound::BackoffKind::constant);
BENCHMARK_CAPTURE(BM_BackoffNext, exponential, rebound::BackoffKind::exponential);
BENCHMARK_CAPTURE(BM_BackoffNext, full, rebound::BackoffKind::full_jitter);
BENCHMARK_CAPTURE(BM_BackoffNext, equal, rebound::BackoffKind::equal_jitter);
BENCHMARK_CAPTURE(BM_BackoffNext, decorrelated, rebound::BackoffKind::decorrelated_jitter);
BENCHMARK_CAPTURE(BM_BackoffNext, smooth, rebound::BackoffKind::smooth_decorrelated_jitter);

// The generator alone, for scale.
void BM_RngUniform01(benchmark::State& state) {
  rebound::Rng rng{42};
  for (auto _ : state) benchmark::DoNotOptimize(rng.uniform01());
}
BENCHMARK(BM_RngUniform01);

// --- (b) success path: plain call vs retry(policy, same callable) -------------

// Out of line and opaque, so neither side can fold the call away.
[[gnu::noinline]] rebound::Result<int> trivial(int x) {
  benchmark::DoNotOptimize(x);
  return x + 1;
}

void BM_PlainCall(benchmark::State& state) {
  int x = 1;
  for (auto _ : state) {
    rebound::Result<int> r = trivial(x);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_PlainCall);

void run_retry(benchmark::State& state, const rebound::RetryPolicy& policy,
               rebound::RetryOptions options = {}) {
  int x = 1;
  for (auto _ : state) {
    auto out = rebound::retry(
        policy, [&] { return trivial(x); }, options);
    benchmark::DoNotOptimize(out);
  }
}

// The HTTP client's default policy (transient: 3 attempts, full jitter).
void BM_Retry_Transient(benchmark::State& state) {
  run_retry(state, rebound::policies::transient());
}
BENCHMARK(BM_Retry_Transient);

// The reference serialization preset (decorrelated jitter, deadline 300 s).
void BM_Retry_Serialization(benchmark::State& state) {
  run_retry(state, rebound::policies::serialization());
}
BENCHMARK(BM_Retry_Serialization);

// Quota outer + serialization inner, composed into one loop.
void BM_Retry_Composed(benchmark::State& state) {
  run_retry(state, rebound::policies::compose(rebound::policies::quota(),
                                              rebound::policies::serialization()));
}
BENCHMARK(BM_Retry_Composed);

// With a shared RetryBudget: each success refunds tokens (one atomic CAS loop).
void BM_Retry_WithBudget(benchmark::State& state) {
  rebound::RetryPolicy policy = rebound::policies::serialization();
  policy.budget = rebound::RetryBudget::make({}).value();
  run_retry(state, policy);
}
BENCHMARK(BM_Retry_WithBudget);

// With an operation name and a fixed seed, as callers that want reproducible
// jitter pass them (neither is touched on the success path).
void BM_Retry_WithOptions(benchmark::State& state) {
  run_retry(state, rebound::policies::serialization(),
            {.operation = "merging into stats.box", .seed = 7});
}
BENCHMARK(BM_Retry_WithOptions);

// The same loop with a clock that costs nothing: the difference to
// BM_Retry_Serialization is what the two steady_clock reads cost.
class FrozenClock final : public rebound::Clock {
 public:
  rebound::TimePoint now() const override { return rebound::TimePoint{}; }
  std::chrono::system_clock::time_point wall_now() const override { return {}; }
};

void BM_Retry_FrozenClock(benchmark::State& state) {
  FrozenClock clock;
  run_retry(state, rebound::policies::serialization(), {.clock = &clock});
}
BENCHMARK(BM_Retry_FrozenClock);

// One steady_clock read through rebound's Clock interface, for scale.
void BM_SteadyClockNow(benchmark::State& state) {
  rebound::Clock& clock = rebound::steady_clock();
  for (auto _ : state) benchmark::DoNotOptimize(clock.now());
}
BENCHMARK(BM_SteadyClockNow);

// --- one conflict, then success (the sleep itself is a no-op) ----------------

class NoSleep final : public rebound::Sleeper {
 public:
  void sleep_for(rebound::Duration) override {}
};

void BM_Retry_OneConflictThenSuccess(benchmark::State& state) {
  const rebound::RetryPolicy policy = rebound::policies::serialization();
  NoSleep sleeper;
  int x = 1;
  for (auto _ : state) {
    bool failed_once = false;
    auto out = rebound::retry(
        policy,
        [&]() -> rebound::Result<int> {
          if (!failed_once) {
            failed_once = true;
            return rebound::fail(rebound::Error::make(rebound::ErrorClass::serialization_conflict,
                                                      "could not serialize access"));
          }
          return trivial(x);
        },
        {.sleeper = &sleeper, .seed = 7});
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Retry_OneConflictThenSuccess);

}  // namespace
