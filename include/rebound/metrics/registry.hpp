// metrics::Registry — counters, gauges and histograms for every part, written
// in the Prometheus text exposition format (version 0.0.4) so an existing
// Prometheus/Grafana stack can scrape a service that uses rebound.
//
//   auto& reg = rebound::metrics::Registry::global();
//   auto& retries = reg.counter("rebound_retries_total", "Retries by error class",
//                               {{"class", "serialization_conflict"}});
//   retries.inc();                              // hot path: one relaxed atomic add
//   std::string text = reg.prometheus_text();   // or reg.write_prometheus("m.prom")
//
// Registration (counter(), gauge(), histogram()) takes a lock and returns a
// reference that stays valid for the registry's lifetime; keep it and update
// it without locks. Asking again with the same name and labels returns the
// same series. A name registered with two types, an invalid metric or label
// name is a programming error reported through Result in the try_ variants
// and by a logic_error in the reference-returning ones.
//
// Collectors let a part that already keeps its own stats (a pool, the HTTP
// client) publish them at exposition time without double counting.
//
// Thread safety: thread-safe. Updates are lock-free; registration and
// exposition lock the registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rebound/core/error.hpp"

namespace rebound::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double v) noexcept;
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative buckets with fixed upper bounds (seconds, bytes, …), plus sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v) noexcept;
  [[nodiscard]] const std::vector<double>& upper_bounds() const noexcept { return bounds_; }
  // Count of observations <= upper_bounds()[i] (cumulative), then +Inf.
  [[nodiscard]] std::vector<std::uint64_t> cumulative_counts() const;
  [[nodiscard]] double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t count() const noexcept {
    return count_.load(std::memory_order_relaxed);
  }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]>
      buckets_;  // per bucket, non-cumulative; last = +Inf
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

// Latency buckets in seconds, 100 µs .. 10 s.
[[nodiscard]] std::vector<double> latency_buckets();

// One sample a collector reports at exposition time.
struct Sample {
  std::string name;
  std::string help;
  std::string type;  // "counter" or "gauge"
  Labels labels;
  double value = 0;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry the parts use by default (function-local static).
  static Registry& global();

  [[nodiscard]] Result<Counter*> try_counter(std::string_view name, std::string_view help,
                                             Labels labels = {});
  [[nodiscard]] Result<Gauge*> try_gauge(std::string_view name, std::string_view help,
                                         Labels labels = {});
  [[nodiscard]] Result<Histogram*> try_histogram(std::string_view name, std::string_view help,
                                                 std::vector<double> upper_bounds,
                                                 Labels labels = {});

  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, Labels labels = {});
  Histogram& histogram(std::string_view name, std::string_view help,
                       std::vector<double> upper_bounds, Labels labels = {});

  // Adds a function called at every exposition; returns an id for remove_collector.
  std::uint64_t add_collector(std::function<std::vector<Sample>()> collect);
  void remove_collector(std::uint64_t id);

  // The whole registry in Prometheus text format, families sorted by name.
  [[nodiscard]] std::string prometheus_text() const;

  // Writes prometheus_text() to `path` atomically (temp file + rename), so a
  // scraper (node_exporter's textfile collector) never reads half a file.
  [[nodiscard]] Status write_prometheus(const std::string& path) const;

 private:
  enum class Kind { counter, gauge, histogram };
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    Kind kind;
    std::string help;
    std::deque<Series> series;
  };
  Result<Series*> find_or_add(std::string_view name, std::string_view help, Kind kind,
                              Labels labels, std::vector<double>* bounds);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::map<std::uint64_t, std::function<std::vector<Sample>()>> collectors_;
  std::uint64_t next_collector_ = 1;
};

// Escapes a label value for the text format (backslash, quote, newline).
[[nodiscard]] std::string escape_label_value(std::string_view v);

}  // namespace rebound::metrics
