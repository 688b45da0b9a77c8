#include "rebound/metrics/summary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace rebound::metrics {

double percentile(std::span<const double> values, double q) {
  if (values.empty()) return 0;
  std::vector<double> sorted(values.begin(), values.end());
  const double n = static_cast<double>(sorted.size());
  const double rank = std::clamp(std::ceil(std::clamp(q, 0.0, 1.0) * n), 1.0, n);
  const auto index = static_cast<std::size_t>(rank) - 1;
  // Only the rank-th smallest value is needed, not a full sort.
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(index),
                   sorted.end());
  return sorted[index];
}

double mean(std::span<const double> values) {
  if (values.empty()) return 0;
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

double coefficient_of_variation(std::span<const double> values) {
  if (values.size() < 2) return 0;
  const double m = mean(values);
  if (m <= 0) return 0;
  double sum_sq = 0;
  for (double v : values) sum_sq += (v - m) * (v - m);
  return std::sqrt(sum_sq / static_cast<double>(values.size() - 1)) / m;
}

}  // namespace rebound::metrics
