// Overload protection on the success path (see BENCHMARKS.md, "Overload
// protection"): what a closed circuit breaker, a not-yet-throttled adaptive
// limiter and a stop token add to the retry loop's success path, measured
// next to that path and a plain call in the same run.
//
//   build/bench/retry/overload_bench --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <stop_token>
#include <thread>

#include "rebound/retry/adaptive_rate.hpp"
#include "rebound/retry/circuit_breaker.hpp"
#include "rebound/retry/policy.hpp"
#include "rebound/retry/retry_loop.hpp"

namespace {

[[gnu::noinline]] rebound::Result<int> trivial(int x) {
  benchmark::DoNotOptimize(x);
  return x + 1;
}

void BM_PlainCall(benchmark::State& state) {
  for (auto _ : state) {
    rebound::Result<int> r = trivial(1);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_PlainCall);

void run_retry(benchmark::State& state, const rebound::RetryPolicy& policy,
               rebound::RetryOptions options = {}) {
  for (auto _ : state) {
    auto out = rebound::retry(
        policy, [] { return trivial(1); }, options);
    benchmark::DoNotOptimize(out);
  }
}

// The reference: the retry loop's success path with the HTTP client's default policy.
void BM_Retry_Success(benchmark::State& state) { run_retry(state, rebound::policies::transient()); }
BENCHMARK(BM_Retry_Success);

void BM_Retry_Success_ClosedBreaker(benchmark::State& state) {
  rebound::RetryPolicy p = rebound::policies::transient();
  p.circuit_breaker = rebound::CircuitBreaker::make({}).value();
  run_retry(state, p);
}
BENCHMARK(BM_Retry_Success_ClosedBreaker);

void BM_Retry_Success_IdleLimiter(benchmark::State& state) {
  rebound::RetryPolicy p = rebound::policies::transient();
  p.rate_limiter = rebound::AdaptiveRateLimiter::make({}).value();
  run_retry(state, p);
}
BENCHMARK(BM_Retry_Success_IdleLimiter);

void BM_Retry_Success_StopToken(benchmark::State& state) {
  std::stop_source stop;
  run_retry(state, rebound::policies::transient(), {.stop = stop.get_token()});
}
BENCHMARK(BM_Retry_Success_StopToken);

void BM_Retry_Success_AllProtections(benchmark::State& state) {
  rebound::RetryPolicy p = rebound::policies::transient();
  p.circuit_breaker = rebound::CircuitBreaker::make({}).value();
  p.rate_limiter = rebound::AdaptiveRateLimiter::make({}).value();
  p.budget = rebound::RetryBudget::make({}).value();
  std::stop_source stop;
  run_retry(state, p, {.stop = stop.get_token()});
}
BENCHMARK(BM_Retry_Success_AllProtections);

// The breaker alone: acquire + on_success on a closed breaker, one thread and
// shared by several (the per-bucket counters are the contended part).
void BM_Breaker_ClosedAcquireSuccess(benchmark::State& state) {
  static std::shared_ptr<rebound::CircuitBreaker> breaker;
  if (state.thread_index() == 0) breaker = rebound::CircuitBreaker::make({}).value();
  for (auto _ : state) {
    auto permit = breaker->acquire();
    breaker->on_success(*permit);
    benchmark::DoNotOptimize(permit);
  }
}
BENCHMARK(BM_Breaker_ClosedAcquireSuccess)->Threads(1)->Threads(2);

// The limiter once enabled (after a throttle): reserve + record under its mutex.
void BM_Limiter_EnabledReserveRecord(benchmark::State& state) {
  auto limiter = rebound::AdaptiveRateLimiter::make({.min_rate = 1e9}).value();
  const rebound::Error throttled =
      rebound::Error::make(rebound::ErrorClass::rate_limited, "429", "http", "429");
  limiter->record(&throttled);
  for (auto _ : state) {
    auto wait = limiter->reserve();
    limiter->record(nullptr);
    benchmark::DoNotOptimize(wait);
  }
}
BENCHMARK(BM_Limiter_EnabledReserveRecord);

}  // namespace
