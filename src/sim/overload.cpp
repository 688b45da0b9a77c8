#include "rebound/sim/overload.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <memory>
#include <queue>
#include <string>

#include "rebound/core/random.hpp"
#include "rebound/retry/adaptive_rate.hpp"
#include "rebound/retry/backoff.hpp"
#include "rebound/retry/budget.hpp"
#include "rebound/retry/circuit_breaker.hpp"

namespace rebound::sim {
namespace detail {
namespace {

// Simulated time for the protections: they read this clock and never sleep.
class SimClock final : public Clock {
 public:
  TimePoint now() const override { return TimePoint{Duration{now_ns}}; }
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::time_point{
        std::chrono::duration_cast<std::chrono::system_clock::duration>(Duration{now_ns})};
  }
  std::int64_t now_ns = 0;
};

struct OEvent {
  enum class Kind : std::uint8_t {
    arrive,
    start_attempt,
    send,
    server_arrive,
    service_done,
    response,
    timeout
  };
  std::int64_t at = 0;
  std::uint64_t sequence = 0;
  Kind kind = Kind::arrive;
  std::uint32_t id = 0;  // a request (arrive, start_attempt, send) or a call
  bool ok = false;       // response: served (true) or rejected with 429 (false)
};

struct OLater {
  bool operator()(const OEvent& a, const OEvent& b) const noexcept {
    return a.at != b.at ? a.at > b.at : a.sequence > b.sequence;
  }
};

struct ORequest {
  std::int64_t arrival = 0;
  std::int64_t deadline = 0;
  int client = 0;
  int attempts = 0;
  Backoff backoff;
};

struct OCall {
  std::uint32_t request = 0;
  CircuitPermit permit;
  bool resolved = false;  // the client has its outcome (answer or timeout)
};

struct OClient {
  std::shared_ptr<RetryBudget> budget;
  std::shared_ptr<CircuitBreaker> breaker;
  std::shared_ptr<AdaptiveRateLimiter> limiter;
};

std::int64_t ns(Duration d) { return d.count(); }

bool uses(Protection have, Protection want) {
  return have == want || (have == Protection::all && want != Protection::none);
}

class OverloadSim {
 public:
  OverloadSim(const OverloadOptions& o, Protection protection) : o_(o), service_rng_(0) {
    row_.protection = protection;
    Rng seeds{o.seed};
    Rng arrivals = seeds.split();
    Rng jitter_seeds = seeds.split();
    service_rng_ = seeds.split();
    const BackoffStrategy strategy =
        FullJitter{.initial = o.backoff_base, .maximum = o.backoff_cap};
    const double mean_gap_ns = 1e9 / o.offered_rps;
    double t = 0;
    for (std::uint32_t i = 0;; ++i) {
      t += -std::log(1.0 - arrivals.uniform01()) * mean_gap_ns;
      if (t >= static_cast<double>(ns(o.run))) break;
      const auto at = static_cast<std::int64_t>(t);
      requests_.push_back(
          ORequest{.arrival = at,
                   .deadline = at + ns(o.deadline),
                   .client = static_cast<int>(i % static_cast<std::uint32_t>(o.clients)),
                   .attempts = 0,
                   .backoff = Backoff{strategy, jitter_seeds.split()}});
      schedule(at, OEvent::Kind::arrive, i);
    }
    make_clients(protection);
    const auto windows = static_cast<std::size_t>((ns(o.run) + ns(o.window) - 1) / ns(o.window));
    offered_in_.assign(windows, 0);
    succeeded_in_.assign(windows, 0);
  }

  OverloadRow run() {
    while (!events_.empty()) {
      const OEvent e = events_.top();
      events_.pop();
      clock_.now_ns = e.at;
      dispatch(e);
    }
    return summarise();
  }

 private:
  void make_clients(Protection p) {
    for (int i = 0; i < o_.clients; ++i) {
      OClient c;
      const auto seed = o_.seed * 1000003 + static_cast<std::uint64_t>(i);
      if (uses(p, Protection::budget)) c.budget = RetryBudget::make({}).value();
      if (uses(p, Protection::breaker))
        c.breaker = CircuitBreaker::make({.clock = &clock_, .seed = seed}, "server").value();
      if (uses(p, Protection::adaptive))
        c.limiter =
            AdaptiveRateLimiter::make({.max_wait = o_.limiter_max_wait, .clock = &clock_}, "server")
                .value();
      clients_.push_back(std::move(c));
    }
  }

  void schedule(std::int64_t at, OEvent::Kind kind, std::uint32_t id, bool ok = false) {
    events_.push(OEvent{at, sequence_++, kind, id, ok});
  }

  void dispatch(const OEvent& e) {
    switch (e.kind) {
      case OEvent::Kind::arrive:
        offered_in_[window_of(requests_[e.id].arrival)]++;
        start_attempt(e.id);
        break;
      case OEvent::Kind::start_attempt:
        start_attempt(e.id);
        break;
      case OEvent::Kind::send:
        send(e.id);
        break;
      case OEvent::Kind::server_arrive:
        server_arrive(e.id);
        break;
      case OEvent::Kind::service_done:
        service_done(e.id);
        break;
      case OEvent::Kind::response:
        response(e.id, e.ok);
        break;
      case OEvent::Kind::timeout:
        timed_out(e.id);
        break;
    }
  }

  std::size_t window_of(std::int64_t at) const {
    return std::min(offered_in_.size() - 1, static_cast<std::size_t>(at / ns(o_.window)));
  }

  // The client's adaptive limiter may make the attempt wait (bounded by its
  // max_wait and by the request's deadline) or refuse it.
  void start_attempt(std::uint32_t id) {
    ORequest& r = requests_[id];
    OClient& c = clients_[static_cast<std::size_t>(r.client)];
    if (c.limiter) {
      auto wait = c.limiter->reserve();
      if (!wait) return refuse(id);
      if (clock_.now_ns + wait->count() >= r.deadline) {
        c.limiter->cancel_reservation();
        return refuse(id);
      }
      if (*wait > Duration::zero())
        return schedule(clock_.now_ns + wait->count(), OEvent::Kind::send, id);
    }
    send(id);
  }

  void send(std::uint32_t id) {
    ORequest& r = requests_[id];
    OClient& c = clients_[static_cast<std::size_t>(r.client)];
    CircuitPermit permit;
    if (c.breaker) {
      auto granted = c.breaker->acquire();
      if (!granted) return refuse(id);
      permit = *granted;
    }
    ++r.attempts;
    const auto call = static_cast<std::uint32_t>(calls_.size());
    calls_.push_back(OCall{.request = id, .permit = permit, .resolved = false});
    schedule(clock_.now_ns + ns(o_.network), OEvent::Kind::server_arrive, call);
    const std::int64_t timeout = std::min(ns(o_.attempt_timeout), r.deadline - clock_.now_ns);
    schedule(clock_.now_ns + timeout, OEvent::Kind::timeout, call);
  }

  void refuse(std::uint32_t id) {
    ++row_.refused;
    finish(id, false);
  }

  // The server: a free slot serves at once, else the FIFO queue, else 429.
  void server_arrive(std::uint32_t call) {
    ++row_.calls;
    if (busy_ < o_.workers) return serve(call);
    if (queue_.size() < static_cast<std::size_t>(o_.queue_limit)) return queue_.push_back(call);
    schedule(clock_.now_ns + ns(o_.network), OEvent::Kind::response, call, false);
  }

  bool degraded() const {
    const std::int64_t from = ns(o_.trigger_start);
    return clock_.now_ns >= from && clock_.now_ns < from + ns(o_.trigger_length);
  }

  void serve(std::uint32_t call) {
    ++busy_;
    double service =
        -std::log(1.0 - service_rng_.uniform01()) * static_cast<double>(ns(o_.service_time));
    if (degraded()) {
      if (o_.trigger == Trigger::capacity_drop)
        service *= o_.trigger_factor;
      else
        service += static_cast<double>(ns(o_.trigger_latency));
    }
    schedule(clock_.now_ns + static_cast<std::int64_t>(service), OEvent::Kind::service_done, call);
  }

  void service_done(std::uint32_t call) {
    --busy_;
    schedule(clock_.now_ns + ns(o_.network), OEvent::Kind::response, call, true);
    if (!queue_.empty()) {
      const std::uint32_t next = queue_.front();
      queue_.pop_front();
      serve(next);
    }
  }

  void response(std::uint32_t call, bool ok) {
    OCall& k = calls_[call];
    if (k.resolved) {
      if (ok) ++row_.wasted;  // served after its client had given up on it
      return;
    }
    k.resolved = true;
    if (ok) return succeeded(k);
    failed(k, rejected_);
  }

  void timed_out(std::uint32_t call) {
    OCall& k = calls_[call];
    if (k.resolved) return;
    k.resolved = true;
    failed(k, timeout_);
  }

  void succeeded(const OCall& k) {
    const ORequest& r = requests_[k.request];
    OClient& c = clients_[static_cast<std::size_t>(r.client)];
    if (c.breaker) c.breaker->on_success(k.permit);
    if (c.limiter) c.limiter->record(nullptr);
    if (c.budget) c.budget->on_success();
    finish(k.request, clock_.now_ns <= r.deadline);
  }

  // What rebound's retry loop does after a failed attempt.
  void failed(const OCall& k, const Error& error) {
    ORequest& r = requests_[k.request];
    OClient& c = clients_[static_cast<std::size_t>(r.client)];
    if (c.breaker) c.breaker->on_failure(k.permit, error);
    if (c.limiter) c.limiter->record(&error);
    if (r.attempts >= o_.max_attempts) return finish(k.request, false);
    const std::int64_t delay = r.backoff.next().count();
    if (clock_.now_ns + delay >= r.deadline) return finish(k.request, false);
    if (c.budget && !c.budget->try_spend(error)) return finish(k.request, false);
    schedule(clock_.now_ns + delay, OEvent::Kind::start_attempt, k.request);
  }

  void finish(std::uint32_t id, bool ok) {
    if (!ok) return;
    ++row_.succeeded;
    succeeded_in_[window_of(requests_[id].arrival)]++;
  }

  OverloadRow summarise() {
    row_.offered = requests_.size();
    const double offered = std::max<double>(1.0, static_cast<double>(row_.offered));
    row_.goodput = static_cast<double>(row_.succeeded) / offered;
    row_.amplification = static_cast<double>(row_.calls) / offered;
    for (std::size_t w = 0; w < offered_in_.size(); ++w) {
      row_.window_goodput.push_back(offered_in_[w] == 0 ? 1.0
                                                        : static_cast<double>(succeeded_in_[w]) /
                                                              static_cast<double>(offered_in_[w]));
    }
    const auto before = static_cast<std::size_t>(ns(o_.trigger_start) / ns(o_.window));
    double pre = 0;
    for (std::size_t w = 0; w < before; ++w) pre += row_.window_goodput[w];
    row_.pre_trigger_goodput = pre / static_cast<double>(std::max<std::size_t>(1, before));
    const std::int64_t end = ns(o_.trigger_start) + ns(o_.trigger_length);
    const auto first = static_cast<std::size_t>((end + ns(o_.window) - 1) / ns(o_.window));
    std::size_t from = row_.window_goodput.size();
    while (from > first && row_.window_goodput[from - 1] >= 0.9 * row_.pre_trigger_goodput) --from;
    if (from < row_.window_goodput.size()) {
      row_.recovered = Duration{
          std::max<std::int64_t>(0, static_cast<std::int64_t>(from) * ns(o_.window) - end)};
    }
    return row_;
  }

  const OverloadOptions& o_;
  SimClock clock_;
  Rng service_rng_;
  std::vector<ORequest> requests_;
  std::vector<OCall> calls_;
  std::vector<OClient> clients_;
  std::priority_queue<OEvent, std::vector<OEvent>, OLater> events_;
  std::uint64_t sequence_ = 0;
  int busy_ = 0;
  std::deque<std::uint32_t> queue_;
  std::vector<std::uint64_t> offered_in_, succeeded_in_;
  OverloadRow row_;
  const Error timeout_ = Error::make(ErrorClass::transient, "attempt timed out", "sim", "timeout");
  const Error rejected_ = Error::make(ErrorClass::rate_limited, "queue full", "sim", "429");
};

Error invalid(const std::string& field, const std::string& why) {
  return Error::permanent("invalid overload option " + field + ": " + why);
}

}  // namespace
}  // namespace detail

std::string_view to_string(Protection p) noexcept {
  constexpr std::array<std::string_view, 5> names = {"none", "budget", "breaker", "adaptive",
                                                     "all"};
  const auto i = static_cast<std::size_t>(p);
  return i < names.size() ? names[i] : std::string_view{"unknown"};
}

std::optional<Protection> parse_protection(std::string_view name) noexcept {
  for (Protection p : overload_protections()) {
    if (to_string(p) == name) return p;
  }
  return std::nullopt;
}

const std::vector<Protection>& overload_protections() noexcept {
  static const std::vector<Protection> all = {Protection::none, Protection::budget,
                                              Protection::breaker, Protection::adaptive,
                                              Protection::all};
  return all;
}

std::string_view to_string(Trigger t) noexcept {
  return t == Trigger::capacity_drop ? "capacity_drop" : "latency_spike";
}

std::optional<Trigger> parse_trigger(std::string_view name) noexcept {
  if (name == "capacity_drop" || name == "capacity") return Trigger::capacity_drop;
  if (name == "latency_spike" || name == "latency") return Trigger::latency_spike;
  return std::nullopt;
}

Result<OverloadOptions> make_overload_options(OverloadOptions o) {
  using detail::invalid;
  auto positive = [](Duration d) { return d > Duration::zero(); };
  if (o.clients <= 0 || o.clients > 100'000)
    return fail(invalid("clients", std::to_string(o.clients) + " is not in [1, 100000]"));
  if (!(o.offered_rps > 0) || o.offered_rps > 1e6)
    return fail(invalid("offered_rps", std::to_string(o.offered_rps) + " is not in (0, 1e6]"));
  if (o.workers <= 0) return fail(invalid("workers", std::to_string(o.workers) + " is not > 0"));
  if (o.queue_limit < 0) return fail(invalid("queue_limit", "is negative"));
  if (!positive(o.service_time)) return fail(invalid("service_time", "is not > 0"));
  if (o.network < Duration::zero()) return fail(invalid("network", "is negative"));
  if (!positive(o.window)) return fail(invalid("window", "is not > 0"));
  if (o.run < o.window || o.run > std::chrono::hours{24})
    return fail(invalid("run", "must be between one window and 24 h"));
  if (o.trigger_start < o.window)
    return fail(invalid("trigger_start", "must leave at least one window before the trigger"));
  if (o.trigger_length < Duration::zero() || o.trigger_start + o.trigger_length >= o.run)
    return fail(invalid("trigger_length", "the trigger must end before the run does"));
  if (!(o.trigger_factor >= 1) || o.trigger_factor > 1e6)
    return fail(
        invalid("trigger_factor", std::to_string(o.trigger_factor) + " is not in [1, 1e6]"));
  if (o.trigger_latency < Duration::zero()) return fail(invalid("trigger_latency", "is negative"));
  if (!positive(o.attempt_timeout)) return fail(invalid("attempt_timeout", "is not > 0"));
  if (!positive(o.deadline)) return fail(invalid("deadline", "is not > 0"));
  if (o.max_attempts < 1) return fail(invalid("max_attempts", "is not >= 1"));
  if (!positive(o.backoff_base) || o.backoff_cap < o.backoff_base)
    return fail(invalid("backoff_base/backoff_cap", "need 0 < base <= cap"));
  if (o.limiter_max_wait < Duration::zero())
    return fail(invalid("limiter_max_wait", "is negative"));
  const double requests = o.offered_rps * std::chrono::duration<double>(o.run).count();
  if (requests * o.max_attempts > 5e7)
    return fail(invalid("offered_rps x run", "more than 50 million calls; shorten the run"));
  return o;
}

Result<OverloadRow> simulate_overload(const OverloadOptions& options, Protection protection) {
  auto valid = make_overload_options(options);
  if (!valid) return fail(std::move(valid).error());
  return detail::OverloadSim(*valid, protection).run();
}

Result<std::vector<OverloadRow>> run_overload(const OverloadOptions& options,
                                              std::span<const Protection> protections) {
  if (protections.empty()) return fail(detail::invalid("protections", "the list is empty"));
  std::vector<OverloadRow> rows;
  for (Protection p : protections) {
    auto row = simulate_overload(options, p);
    if (!row) return fail(std::move(row).error());
    rows.push_back(std::move(*row));
  }
  return rows;
}

Result<std::vector<OverloadRow>> run_overload(const OverloadOptions& options) {
  return run_overload(options, overload_protections());
}

}  // namespace rebound::sim
