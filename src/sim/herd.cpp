#include "rebound/sim/herd.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numbers>
#include <queue>
#include <string>
#include <vector>

#include "rebound/core/random.hpp"
#include "rebound/retry/budget.hpp"

namespace rebound::sim {
namespace detail {

// One thing that happens at the server at a simulated instant. The client's
// side (receiving a reply, sleeping, sending again) needs no event of its own:
// it only adds network and backoff time before the next server event.
struct Event {
  std::int64_t at_ns = 0;
  std::uint64_t sequence = 0;  // insertion order: breaks ties deterministically
  int client = 0;
  enum class Kind : std::uint8_t { read_arrives, write_arrives } kind = Kind::read_arrives;
};

struct Later {
  bool operator()(const Event& a, const Event& b) const noexcept {
    if (a.at_ns != b.at_ns) return a.at_ns > b.at_ns;
    return a.sequence > b.sequence;
  }
};

struct Client {
  Backoff backoff;
  Rng network;
  std::uint64_t read_version = 0;
};

// |Normal(mean, sd)| by Box-Muller on the client's own stream. Written out
// rather than std::normal_distribution, whose algorithm differs between
// standard libraries: the same seed must give the same table everywhere.
std::int64_t one_way_trip_ns(Rng& rng, double mean_ns, double sd_ns) {
  const double u1 = 1.0 - rng.uniform01();  // (0, 1]: log is finite
  const double u2 = rng.uniform01();
  const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  return std::llround(std::abs(mean_ns + sd_ns * z));
}

class Simulation {
 public:
  Simulation(const HerdOptions& options, BackoffKind backoff, std::uint64_t run_seed,
             std::shared_ptr<RetryBudget> budget)
      : options_(options),
        budget_(std::move(budget)),
        mean_ns_(static_cast<double>(options.network_mean.count())),
        sd_ns_(static_cast<double>(options.network_sd.count())) {
    result_.backoff = backoff;
    result_.budgeted = budget_ != nullptr;
    result_.clients = options.clients;
    result_.runs = 1;
    const BackoffStrategy strategy =
        make_strategy(backoff, options.base, options.cap, options.multiplier);
    // Each client splits its own generators off the seed (never a shared
    // one, never a copied seed), in client order, before any strategy runs:
    // every strategy faces the same network draws for a given seed.
    Rng seeds{run_seed};
    clients_.reserve(static_cast<std::size_t>(options.clients));
    for (int i = 0; i < options.clients; ++i) {
      Rng jitter_rng = seeds.split();
      Rng network_rng = seeds.split();
      clients_.push_back(Client{Backoff{strategy, jitter_rng}, network_rng, 0});
    }
  }

  Result<HerdResult> run() {
    for (int i = 0; i < options_.clients; ++i) start_attempt(i, 0);  // the herd
    while (!events_.empty()) {
      const Event e = events_.top();
      events_.pop();
      if (e.kind == Event::Kind::read_arrives) {
        on_read(e);
      } else {
        on_write(e);
      }
      if (result_.calls > options_.max_total_calls) {
        return fail(Error::permanent("herd simulation did not converge: more than " +
                                     std::to_string(options_.max_total_calls) + " calls with " +
                                     std::to_string(options_.clients) + " clients (jitter " +
                                     std::string(to_string(result_.backoff)) + ")"));
      }
    }
    if (budget_) result_.retries_denied = budget_->retries_denied();
    return result_;
  }

 private:
  std::int64_t trip(int client) { return one_way_trip_ns(at(client).network, mean_ns_, sd_ns_); }
  Client& at(int client) { return clients_[static_cast<std::size_t>(client)]; }

  void schedule(std::int64_t at_ns, int client, Event::Kind kind) {
    events_.push(Event{at_ns, next_sequence_++, client, kind});
  }

  // The client sends its read at `send_ns`.
  void start_attempt(int client, std::int64_t send_ns) {
    ++result_.calls;
    schedule(send_ns + trip(client), client, Event::Kind::read_arrives);
  }

  void on_read(const Event& e) {
    at(e.client).read_version = version_;
    // The version travels back; the client sends its conditional write at once.
    schedule(e.at_ns + trip(e.client) + trip(e.client), e.client, Event::Kind::write_arrives);
  }

  void on_write(const Event& e) {
    const std::int64_t reply_ns = e.at_ns + trip(e.client);
    if (at(e.client).read_version == version_) {
      ++version_;
      ++result_.completed;
      if (budget_) budget_->on_success();
      finish(reply_ns);
      return;
    }
    // Rejected: someone committed since our read. Ask the budget first, as
    // the retry loop does, then sleep the strategy's next delay.
    if (budget_ && !budget_->try_spend()) {
      ++result_.gave_up;
      finish(reply_ns);
      return;
    }
    const std::int64_t sleep_ns = at(e.client).backoff.next().count();
    start_attempt(e.client, reply_ns + sleep_ns);
  }

  void finish(std::int64_t at_ns) {
    result_.completion = std::max(result_.completion, Duration{at_ns});
  }

  const HerdOptions& options_;
  std::shared_ptr<RetryBudget> budget_;
  double mean_ns_;
  double sd_ns_;
  std::vector<Client> clients_;
  std::priority_queue<Event, std::vector<Event>, Later> events_;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t version_ = 0;  // the row's version: commits so far
  HerdResult result_;
};

Error invalid(const std::string& field, const std::string& why) {
  return Error::permanent("invalid herd option " + field + ": " + why);
}

std::string ms(Duration d) {
  return std::to_string(std::chrono::duration<double, std::milli>(d).count()) + " ms";
}

}  // namespace detail

Result<HerdOptions> make_herd_options(HerdOptions o) {
  using detail::invalid;
  using detail::ms;
  if (o.clients <= 0) return fail(invalid("clients", std::to_string(o.clients) + " is not > 0"));
  if (o.base <= Duration::zero()) return fail(invalid("base", ms(o.base) + " is not > 0"));
  if (o.cap < o.base) return fail(invalid("cap", ms(o.cap) + " is below base " + ms(o.base)));
  if (o.runs <= 0) return fail(invalid("runs", std::to_string(o.runs) + " is not > 0"));
  if (!(o.multiplier >= 1.0))
    return fail(invalid("multiplier", std::to_string(o.multiplier) + " is not >= 1"));
  if (o.network_mean <= Duration::zero())
    return fail(invalid("network_mean", ms(o.network_mean) + " is not > 0"));
  if (o.network_sd < Duration::zero())
    return fail(invalid("network_sd", ms(o.network_sd) + " is negative"));
  if (!(o.budget_tokens >= 0.0))
    return fail(invalid("budget_tokens", std::to_string(o.budget_tokens) + " is negative"));
  if (o.max_total_calls == 0) return fail(invalid("max_total_calls", "0 is not > 0"));
  return o;
}

Result<HerdResult> simulate_herd(const HerdOptions& options, BackoffKind backoff) {
  auto valid = make_herd_options(options);
  if (!valid) return fail(std::move(valid).error());
  HerdResult total{.backoff = backoff,
                   .budgeted = options.budget_tokens > 0,
                   .clients = options.clients,
                   .runs = options.runs};
  // Run r's seed is the r-th draw of Rng{seed}: independent herds, and the
  // same herds for every strategy.
  Rng run_seeds{options.seed};
  double completion_ns = 0;
  for (int run = 0; run < options.runs; ++run) {
    std::shared_ptr<RetryBudget> budget;  // a fresh bucket per herd
    if (options.budget_tokens > 0) {
      auto made = RetryBudget::make({.max_tokens = options.budget_tokens});
      if (!made) return fail(std::move(made).error());
      budget = *std::move(made);
    }
    auto one = detail::Simulation(*valid, backoff, run_seeds(), std::move(budget)).run();
    if (!one) return fail(std::move(one).error());
    total.calls += one->calls;
    total.completed += one->completed;
    total.gave_up += one->gave_up;
    total.retries_denied += one->retries_denied;
    completion_ns += static_cast<double>(one->completion.count());
  }
  total.completion = Duration{std::llround(completion_ns / options.runs)};
  return total;
}

std::string row_label(const HerdResult& result) {
  static constexpr std::array<std::string_view, 6> kNames = {
      "constant (no jitter)", "exponential (no jitter)", "full jitter",
      "equal jitter",         "decorrelated jitter",     "smooth decorrelated"};
  const auto i = static_cast<std::size_t>(result.backoff);
  std::string name(i < kNames.size() ? kNames[i] : "unknown");
  return result.budgeted ? name + " + budget" : name;
}

const std::vector<BackoffKind>& herd_strategies() noexcept {
  static const std::vector<BackoffKind> all = {BackoffKind::constant,
                                               BackoffKind::exponential,
                                               BackoffKind::full_jitter,
                                               BackoffKind::equal_jitter,
                                               BackoffKind::decorrelated_jitter,
                                               BackoffKind::smooth_decorrelated_jitter};
  return all;
}

Result<std::vector<HerdResult>> run_herd(const HerdOptions& options,
                                         std::span<const BackoffKind> strategies) {
  if (strategies.empty()) return fail(detail::invalid("strategies", "the list is empty"));
  std::vector<HerdResult> rows;
  HerdOptions unbudgeted = options;
  unbudgeted.budget_tokens = 0;
  for (BackoffKind j : strategies) {
    auto r = simulate_herd(unbudgeted, j);
    if (!r) return fail(std::move(r).error());
    rows.push_back(*r);
  }
  if (options.budget_tokens > 0) {
    for (BackoffKind j : strategies) {
      auto r = simulate_herd(options, j);
      if (!r) return fail(std::move(r).error());
      rows.push_back(*r);
    }
  }
  return rows;
}

Result<std::vector<HerdResult>> run_herd(const HerdOptions& options) {
  return run_herd(options, herd_strategies());
}

}  // namespace rebound::sim
