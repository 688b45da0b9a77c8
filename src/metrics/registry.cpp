#include "rebound/metrics/registry.hpp"

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rebound::metrics {
namespace {

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  auto ok_first = [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (allow_colon && c == ':');
  };
  if (!ok_first(name.front())) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return ok_first(c) || (c >= '0' && c <= '9'); });
}

// Prometheus floats: integers print without exponent noise; +Inf/NaN spelled out.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // Shortest form that reads back exactly: 0.1 rather than 0.10000000000000001.
  char buf[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string label_text(const Labels& labels,
                       const std::pair<std::string, std::string>* extra = nullptr) {
  if (labels.empty() && extra == nullptr) return {};
  std::string out = "{";
  auto add = [&](const std::string& k, const std::string& v) {
    if (out.size() > 1) out += ',';
    out += k + "=\"" + escape_label_value(v) + '"';
  };
  for (const auto& [k, v] : labels) add(k, v);
  if (extra != nullptr) add(extra->first, extra->second);
  return out + "}";
}

std::string escape_help(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

Labels sorted(Labels labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void Gauge::add(double v) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) noexcept {
  const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                          bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

Registry& Registry::global() {
  static Registry registry;
  return registry;
}

Result<Registry::Series*> Registry::find_or_add(std::string_view name, std::string_view help,
                                                Kind kind, Labels labels,
                                                std::vector<double>* bounds) {
  if (!valid_name(name, true)) {
    return fail(Error::permanent("invalid metric name \"" + std::string(name) +
                                 "\": use [a-zA-Z_:][a-zA-Z0-9_:]*"));
  }
  for (const auto& [key, value] : labels) {
    if (!valid_name(key, false) || key.starts_with("__") || key == "le") {
      return fail(
          Error::permanent("invalid label name \"" + key + "\" on metric " + std::string(name)));
    }
  }
  labels = sorted(std::move(labels));
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_
             .emplace(std::string(name),
                      Family{.kind = kind, .help = std::string(help), .series = {}})
             .first;
  } else if (it->second.kind != kind) {
    return fail(Error::permanent("metric " + std::string(name) +
                                 " is already registered with another type"));
  }
  Family& family = it->second;
  for (Series& s : family.series) {
    if (s.labels == labels) return &s;
  }
  Series& s = family.series.emplace_back();
  s.labels = std::move(labels);
  switch (kind) {
    case Kind::counter:
      s.counter = std::make_unique<Counter>();
      break;
    case Kind::gauge:
      s.gauge = std::make_unique<Gauge>();
      break;
    case Kind::histogram:
      s.histogram = std::make_unique<Histogram>(bounds ? *bounds : latency_buckets());
      break;
  }
  return &s;
}

Result<Counter*> Registry::try_counter(std::string_view name, std::string_view help,
                                       Labels labels) {
  auto s = find_or_add(name, help, Kind::counter, std::move(labels), nullptr);
  if (!s) return fail(s.error());
  return (*s)->counter.get();
}

Result<Gauge*> Registry::try_gauge(std::string_view name, std::string_view help, Labels labels) {
  auto s = find_or_add(name, help, Kind::gauge, std::move(labels), nullptr);
  if (!s) return fail(s.error());
  return (*s)->gauge.get();
}

Result<Histogram*> Registry::try_histogram(std::string_view name, std::string_view help,
                                           std::vector<double> upper_bounds, Labels labels) {
  auto s = find_or_add(name, help, Kind::histogram, std::move(labels), &upper_bounds);
  if (!s) return fail(s.error());
  return (*s)->histogram.get();
}

namespace {
template <class T>
T& or_throw(Result<T*> r) {
  if (!r) throw std::logic_error(r.error().message);
  return **r;
}
}  // namespace

Counter& Registry::counter(std::string_view name, std::string_view help, Labels labels) {
  return or_throw(try_counter(name, help, std::move(labels)));
}
Gauge& Registry::gauge(std::string_view name, std::string_view help, Labels labels) {
  return or_throw(try_gauge(name, help, std::move(labels)));
}
Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> upper_bounds, Labels labels) {
  return or_throw(try_histogram(name, help, std::move(upper_bounds), std::move(labels)));
}

std::uint64_t Registry::add_collector(std::function<std::vector<Sample>()> collect) {
  std::lock_guard lock(mu_);
  const std::uint64_t id = next_collector_++;
  collectors_.emplace(id, std::move(collect));
  return id;
}

void Registry::remove_collector(std::uint64_t id) {
  std::lock_guard lock(mu_);
  collectors_.erase(id);
}

std::string Registry::prometheus_text() const {
  // Collected samples are grouped into families like registered ones, so one
  // name never gets two # TYPE lines.
  struct Line {
    std::string help, type;
    std::vector<std::string> rows;
  };
  std::map<std::string, Line> out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) {
    Line& line = out[name];
    line.help = family.help;
    line.type = family.kind == Kind::counter ? "counter"
                : family.kind == Kind::gauge ? "gauge"
                                             : "histogram";
    for (const Series& s : family.series) {
      if (s.counter)
        line.rows.push_back(name + label_text(s.labels) + ' ' +
                            format_value(static_cast<double>(s.counter->value())));
      if (s.gauge)
        line.rows.push_back(name + label_text(s.labels) + ' ' + format_value(s.gauge->value()));
      if (s.histogram) {
        const auto counts = s.histogram->cumulative_counts();
        const auto& bounds = s.histogram->upper_bounds();
        for (std::size_t i = 0; i <= bounds.size(); ++i) {
          const std::pair<std::string, std::string> le{
              "le", i < bounds.size() ? format_value(bounds[i]) : "+Inf"};
          line.rows.push_back(name + "_bucket" + label_text(s.labels, &le) + ' ' +
                              format_value(static_cast<double>(counts[i])));
        }
        line.rows.push_back(name + "_sum" + label_text(s.labels) + ' ' +
                            format_value(s.histogram->sum()));
        line.rows.push_back(name + "_count" + label_text(s.labels) + ' ' +
                            format_value(static_cast<double>(s.histogram->count())));
      }
    }
  }
  for (const auto& [id, collect] : collectors_) {
    for (Sample& sample : collect()) {
      if (!valid_name(sample.name, true)) continue;
      Line& line = out[sample.name];
      if (line.type.empty()) {
        line.type = sample.type.empty() ? "gauge" : sample.type;
        line.help = sample.help;
      }
      line.rows.push_back(sample.name + label_text(sorted(sample.labels)) + ' ' +
                          format_value(sample.value));
    }
  }
  std::string text;
  for (const auto& [name, line] : out) {
    text += "# HELP " + name + ' ' + escape_help(line.help) + '\n';
    text += "# TYPE " + name + ' ' + line.type + '\n';
    for (const std::string& row : line.rows) text += row + '\n';
  }
  return text;
}

Status Registry::write_prometheus(const std::string& path) const {
  const std::string text = prometheus_text();
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream file(temp, std::ios::binary | std::ios::trunc);
    if (!file)
      return fail(Error::permanent("cannot write metrics file " + temp +
                                   ": check the directory exists and is writable"));
    file << text;
    file.flush();
    if (!file) {
      std::remove(temp.c_str());
      return fail(Error::permanent("writing metrics file " + temp + " failed (disk full?)"));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return fail(Error::permanent("cannot move metrics file into place at " + path));
  }
  return {};
}

}  // namespace rebound::metrics
