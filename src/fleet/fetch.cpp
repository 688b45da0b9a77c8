#include "rebound/fleet/fetch.hpp"

#include "rebound/core/redact.hpp"

#include "rebound/http/client.hpp"
#include "rebound/retry/classify.hpp"
#include "rebound/retry/pushback.hpp"
#include "rebound/retry/retry_loop.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace rebound::fleet {
namespace {

// `seconds` of the reference presets at the run's scale (the breaker's
// windows and the pooled fetch's patience are not retry policies, so
// policies::scaled does not reach them).
Duration scaled_seconds(double seconds, double scale) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds * scale));
}

// Turns a response into the fetch's result: a 2xx body, or a classified error.
Result<std::string> body_of(Result<http::Response> response) {
  if (!response) return fail(response.error());
  if (response->status < 200 || response->status > 299) {
    return fail(classify::http(response->status,
                               "source answered HTTP " + std::to_string(response->status),
                               response->header("Retry-After").value_or("")));
  }
  return std::move(response->body);
}

// Holds the client both fetchers send through and reads its connection counts.
class ClientFetcher : public Fetcher {
 public:
  explicit ClientFetcher(std::shared_ptr<http::Client> client) : client_(std::move(client)) {}

  FetchStats stats() const override {
    const http::ClientStats s = client_->stats();
    return {.new_connections = s.new_connections, .reused_connections = s.reused_connections};
  }

 protected:
  std::shared_ptr<http::Client> client_;
};

// The naive "before" (docs/fleet.md): requests.get() in a fixed-delay 3-attempt loop that
// catches everything — a new connection for every request, no jitter, no hints.
class NaiveFetcher final : public ClientFetcher {
 public:
  NaiveFetcher(std::shared_ptr<http::Client> client, double scale)
      : ClientFetcher(std::move(client)), policy_(naive_policy(scale)) {}

  FetchOutcome fetch(const std::string& url,
                     const std::function<void(const RetryEvent&)>& on_retry) override {
    RetryPolicy policy = policy_;
    policy.on_retry = on_retry;
    FetchOutcome outcome;
    auto out = retry(policy, [&]() -> Result<std::string> {
      const auto start = std::chrono::steady_clock::now();
      Result<std::string> body = body_of(client_->send({.method = "GET", .url = url}));
      outcome.latency_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      if (!body) body.error().retry_after.reset();  // the naive loop never reads Retry-After
      return body;
    });
    outcome.attempts = out.report.attempts;
    outcome.body = std::move(out.value);
    return outcome;
  }

 private:
  RetryPolicy policy_;
};

// The rebound way: one pooled client for every processor, its own retries
// (transient and 429 with Retry-After honoured, jittered, budgeted).
class PooledFetcher final : public ClientFetcher {
 public:
  PooledFetcher(std::shared_ptr<http::Client> client, Duration patience)
      : ClientFetcher(std::move(client)), patience_(patience) {}

  FetchOutcome fetch(const std::string& url,
                     const std::function<void(const RetryEvent&)>& on_retry) override {
    FetchOutcome outcome;
    outcome.attempts = 0;
    const auto give_up_at = std::chrono::steady_clock::now() + patience_;
    Rng rng = Rng::from_entropy();
    for (;;) {
      ++outcome.attempts;
      Result<http::Response> response =
          client_->send({.method = "GET", .url = url, .on_retry = [&](const RetryEvent& e) {
                           ++outcome.attempts;
                           on_retry(e);
                         }});
      // An open breaker: nothing was sent. Wait for its probe (spread, so the
      // fleet does not probe in one wave) and ask again, within the patience.
      if (!response && response.error().error_class == ErrorClass::circuit_open &&
          response.error().retry_after) {
        --outcome.attempts;
        const Duration wait = pushback_delay(
            {}, std::max<Duration>(*response.error().retry_after, std::chrono::milliseconds{1}),
            rng);
        if (std::chrono::steady_clock::now() + wait < give_up_at) {
          std::this_thread::sleep_for(wait);
          continue;
        }
      }
      if (response)
        outcome.latency_ms =
            std::chrono::duration<double, std::milli>(response->timing.total).count();
      outcome.body = body_of(std::move(response));
      return outcome;
    }
  }

 private:
  Duration patience_;
};

}  // namespace

Result<std::unique_ptr<Fetcher>> make_fetcher(FetchMode mode, FetchOptions options) {
  if (mode == FetchMode::new_connection_each_request) {
    auto client = http::Client::make({.reuse_connections = false, .retry = RetryPolicy{}});
    if (!client) return fail(client.error());
    return std::unique_ptr<Fetcher>(std::make_unique<NaiveFetcher>(*client, options.scale));
  }
  // The HTTP default (3 attempts) is for one-off calls; a processor that must
  // get its batch retries transient failures up to 8 times under the shared
  // deadline and budget, jittered so the fleet does not retry in step.
  RetryPolicy transient = policies::transient(options.scale);
  transient.max_attempts = 0;
  transient.rules[0].max_attempts = 8;
  RetryPolicy retry = policies::compose(policies::quota(options.scale), transient);
  retry.budget = options.budget;
  http::ClientOptions client_options{.retry = retry};
  if (options.circuit_breaker) {
    client_options.circuit_breaker =
        CircuitBreakerOptions{.failure_ratio = 0.5,
                              .sampling_duration = std::max<Duration>(
                                  scaled_seconds(5, options.scale), std::chrono::milliseconds{10}),
                              .minimum_throughput = 5,
                              .break_duration = scaled_seconds(5, options.scale),
                              .max_break_duration = scaled_seconds(60, options.scale)};
  }
  auto client = http::Client::make(std::move(client_options));
  if (!client) return fail(client.error());
  return std::unique_ptr<Fetcher>(
      std::make_unique<PooledFetcher>(*client, scaled_seconds(600, options.scale)));
}

RetryPolicy naive_policy(double scale) {
  RetryPolicy naive = policies::scaled(
      RetryPolicy{
          .rules = {ClassRule{.classes = {ErrorClass::serialization_conflict,
                                          ErrorClass::quota_exceeded, ErrorClass::rate_limited,
                                          ErrorClass::transient, ErrorClass::too_many_connections},
                              .initial = std::chrono::seconds{5},
                              .maximum = std::chrono::seconds{5},
                              .multiplier = 1,
                              .backoff = BackoffKind::constant,
                              .max_attempts = 3}},
          .max_attempts = 3},
      scale);
  naive.deadline = std::chrono::hours{1};  // three attempts end it, not the clock
  return naive;
}

Status probe_source(const std::string& base_url) {
  auto client = http::Client::make({.connect_timeout = std::chrono::seconds{3},
                                    .total_timeout = std::chrono::seconds{5},
                                    .retry = RetryPolicy{}});
  if (!client) return fail(client.error());
  auto response = (*client)->send({.method = "GET", .url = base_url + "/"});
  if (!response) {
    return fail(Error::make(
        response.error().error_class,
        "cannot reach the source " + redact_url(base_url) + ": " + response.error().message));
  }
  return {};
}

}  // namespace rebound::fleet
