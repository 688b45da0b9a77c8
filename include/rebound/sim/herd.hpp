// Herd — a discrete-event simulation of N clients that all start at once and
// contend for one row under optimistic concurrency, each retrying with one of
// rebound's backoff strategies. It reproduces the experiment of Marc Brooker's
// "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015; simulator
// awslabs/aws-arch-backoff-simulator) with rebound's own Backoff and
// RetryBudget, in simulated time: no threads, no sleeping, and the same seed
// always gives the same numbers.
//
//   auto options = rebound::sim::make_herd_options({.clients = 50, .seed = 7}).value();
//   using rebound::BackoffKind;
//   rebound::sim::HerdResult r = rebound::sim::simulate_herd(options, BackoffKind::full_jitter);
//   r.mean_calls();   // attempts made by all clients together (the "work")
//   r.completion;     // simulated time until the last client finished (mean)
//
// The model (docs/herd.md): each attempt is a read of the row's version (one
// network round trip) followed by a conditional write (one more round trip).
// The write commits only if no other client committed since this client's
// read reached the server; otherwise it is rejected, and the client sleeps its
// backoff delay and starts a new attempt. Every one-way network trip takes
// |Normal(mean, sd)| — the blog's 10 ms mean, 2 ms standard deviation
// ("variance of 4ms" in its text) — drawn from the client's own generator, so
// every strategy sees the same network draws for a seed. Like the blog, a row
// of the table is the mean over several independent runs (`runs`).
//
// Thread safety: simulate_herd and run_herd are reentrant (each call owns all
// of its state); results are plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"
#include "rebound/retry/backoff.hpp"

namespace rebound::sim {

struct HerdOptions {
  int clients = 10;        // contending clients, all starting at time 0
  std::uint64_t seed = 1;  // one seed drives every client's network and jitter
  Duration base = std::chrono::milliseconds{5};           // backoff initial delay / base
  Duration cap = std::chrono::seconds{2};                 // backoff maximum delay
  double multiplier = 2.0;                                // exponential growth per retry
  Duration network_mean = std::chrono::milliseconds{10};  // one-way trip, mean
  Duration network_sd = std::chrono::milliseconds{2};     // one-way trip, std deviation
  int runs = 10;  // independent herds per result, each seeded from `seed`; results are means
  // Shared retry budget (RetryBudget, default refund and floor) with this
  // many tokens; 0 means no budget. A client whose retry is denied gives up.
  double budget_tokens = 0;
  // Safety stop for a model that never converges: the simulation fails with
  // an error once all clients together made this many attempts.
  std::uint64_t max_total_calls = 50'000'000;
};

// Validates: clients > 0, base > 0, cap >= base, multiplier >= 1, runs > 0,
// network_mean > 0, network_sd >= 0, budget_tokens >= 0, max_total_calls > 0.
// Returns a permanent Error that names the offending field and value.
[[nodiscard]] Result<HerdOptions> make_herd_options(HerdOptions options);

struct HerdResult {
  BackoffKind backoff = BackoffKind::constant;
  bool budgeted = false;  // ran with a shared RetryBudget
  int clients = 0;
  int runs = 0;
  // Totals over all runs:
  std::uint64_t calls = 0;      // write attempts by all clients (first tries included)
  std::uint64_t completed = 0;  // clients whose write committed
  std::uint64_t gave_up = 0;    // clients whose retry the budget denied
  std::uint64_t retries_denied = 0;
  // Mean over runs of the time the last client learned its outcome.
  Duration completion{};

  [[nodiscard]] double mean_calls() const noexcept { return per_run(calls); }
  [[nodiscard]] double mean_gave_up() const noexcept { return per_run(gave_up); }
  [[nodiscard]] double calls_per_client() const noexcept {
    return clients > 0 ? mean_calls() / clients : 0.0;
  }
  [[nodiscard]] double completion_ms() const noexcept {
    return std::chrono::duration<double, std::milli>(completion).count();
  }

 private:
  [[nodiscard]] double per_run(std::uint64_t total) const noexcept {
    return runs > 0 ? static_cast<double>(total) / runs : 0.0;
  }
};

// Runs options.runs herds of options.clients clients, every client using the
// strategy make_strategy(backoff, base, cap, multiplier), and sums them up.
// Deterministic for (options, backoff). Fails only when options are invalid
// or the attempt count passes options.max_total_calls.
[[nodiscard]] Result<HerdResult> simulate_herd(const HerdOptions& options, BackoffKind backoff);

// The strategies the herd table compares, in table order: constant,
// exponential, full, equal, decorrelated, smooth.
[[nodiscard]] const std::vector<BackoffKind>& herd_strategies() noexcept;

// The row's name in the herd table, saying which strategies have no jitter
// at all: "constant (no jitter)", "full jitter", "decorrelated jitter + budget".
[[nodiscard]] std::string row_label(const HerdResult& result);

// One row per strategy for options.clients, then (when budget_tokens > 0) one
// budgeted row per strategy. Same options => identical results. Fails when
// options are invalid, `strategies` is empty, or a herd does not converge.
[[nodiscard]] Result<std::vector<HerdResult>> run_herd(const HerdOptions& options,
                                                       std::span<const BackoffKind> strategies);
// The same for every strategy of herd_strategies().
[[nodiscard]] Result<std::vector<HerdResult>> run_herd(const HerdOptions& options);

}  // namespace rebound::sim
