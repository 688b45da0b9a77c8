// Summary statistics of a sample — the one percentile, mean and spread that
// reports (`rebound fleet`, `rebound get`) and benchmarks use.
//
//   std::vector<double> latencies_ms = {...};
//   double p50 = rebound::metrics::percentile(latencies_ms, 0.50);
//   double p99 = rebound::metrics::percentile(latencies_ms, 0.99);
//   double cv = rebound::metrics::coefficient_of_variation(latencies_ms);
//
// percentile() is the nearest-rank percentile: the smallest value with at
// least q of the sample at or below it (rank ceil(q * n), at least 1), so it
// is always a value that was observed. Empty samples give 0.
//
// Thread safety: pure functions.
#pragma once

#include <span>

namespace rebound::metrics {

// Nearest-rank percentile, q in [0, 1] (clamped); the sample need not be sorted.
[[nodiscard]] double percentile(std::span<const double> values, double q);
// Arithmetic mean; 0 for an empty sample.
[[nodiscard]] double mean(std::span<const double> values);
// Sample standard deviation divided by the mean; 0 for fewer than two values
// or a mean that is not positive.
[[nodiscard]] double coefficient_of_variation(std::span<const double> values);

}  // namespace rebound::metrics
