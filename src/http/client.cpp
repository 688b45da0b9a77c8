#include "rebound/http/client.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "curl_easy.hpp"
#include "host_limiter.hpp"
#include "rebound/core/redact.hpp"
#include "rebound/pool/lease_pool.hpp"
#include "rebound/retry/classify.hpp"
#include "transfer.hpp"

namespace rebound::http {

using detail::Counters;
using detail::EasyHandle;
using detail::Target;
using detail::Transfer;

struct Client::Impl {
  ClientOptions options;
  detail::Share share;
  std::shared_ptr<pool::LeasePool<EasyHandle>> handles;
  detail::HostLimiter hosts;
  Counters counters;
  std::shared_ptr<CircuitBreakers> breakers;       // per host:port, when configured
  std::shared_ptr<AdaptiveRateLimiters> limiters;  // per host:port, when configured

 private:
  // Only Client::make builds one, after it has validated the options.
  friend class Client;
  explicit Impl(ClientOptions o) : options(std::move(o)), hosts(options.max_per_host) {}

 public:
  Result<Response> attempt(const Request& request, const Target& target,
                           const detail::Slist& headers, bool idempotent,
                           const Attempt& attempt_info) {
    const Duration timeout = std::min(request.timeout.value_or(options.total_timeout),
                                      attempt_info.time_left.value_or(options.total_timeout));
    auto slot = hosts.acquire(target.host_port, timeout);
    if (!slot) return fail(slot.error());
    auto lease = handles->acquire(timeout);
    if (!lease) return fail(lease.error());
    if ((*lease)->curl == nullptr) {
      lease->mark_broken();
      return fail(Error::transient("curl_easy_init failed (out of memory?) for " + target.shown));
    }
    CURL* curl = (*lease)->curl;
    Transfer transfer{.response = {},
                      .limit = options.max_response_bytes,
                      .too_large = false,
                      .error_buffer = {},
                      .stop = request.stop};
    detail::configure_attempt(**lease, options, share.get(), request, headers, transfer, timeout);
    counters.attempts.fetch_add(1, std::memory_order_relaxed);
    const CURLcode code = curl_easy_perform(curl);
    return detail::finish_attempt(curl, code, transfer, request, target, idempotent, options,
                                  counters, clock());
  }

  Clock& clock() const { return options.clock != nullptr ? *options.clock : steady_clock(); }

  Result<Response> send(const Request& request) {
    const std::uint64_t number = counters.requests.fetch_add(1, std::memory_order_relaxed);
    auto result = send_unchecked(request, number);
    if (!result) counters.failures.fetch_add(1, std::memory_order_relaxed);
    return result;
  }

  Result<Response> send_unchecked(const Request& request, std::uint64_t number) {
    auto target = detail::validate(request, options);
    if (!target) return fail(target.error());
    const detail::Slist headers = detail::header_list(options, request);
    const bool idempotent = detail::is_idempotent(request);

    RetryPolicy policy = options.retry;
    policy.on_retry = [&](const RetryEvent& event) {
      counters.retries[static_cast<std::size_t>(event.error_class)].fetch_add(
          1, std::memory_order_relaxed);
      if (options.retry.on_retry) options.retry.on_retry(event);
      if (request.on_retry) request.on_retry(event);
    };
    if (breakers) policy.circuit_breaker = breakers->for_key(target->host_port);
    if (limiters) policy.rate_limiter = limiters->for_key(target->host_port);
    auto out = retry(
        policy, [&](const Attempt& a) { return attempt(request, *target, headers, idempotent, a); },
        {.operation = {},
         .clock = options.clock,
         .sleeper = options.sleeper,
         // A fleet of requests must not share one jitter sequence: request
         // n's loop gets its own stream (request 0 keeps `seed` itself).
         .seed = options.seed
                     ? std::optional<std::uint64_t>(*options.seed + number * 0x9e3779b97f4a7c15ULL)
                     : std::nullopt,
         .stop = request.stop});
    if (!out) return fail(std::move(out.value).error());
    out.value->attempts = out.report.attempts;
    return std::move(*out.value);
  }
};

Result<std::shared_ptr<Client>> Client::make(ClientOptions options) {
  if (auto ok = detail::check_options(options); !ok) return fail(ok.error());
  std::shared_ptr<CircuitBreakers> breakers;
  if (options.circuit_breaker) {
    if (options.circuit_breaker->clock == nullptr) options.circuit_breaker->clock = options.clock;
    auto made = CircuitBreakers::make(*options.circuit_breaker);
    if (!made) return fail(made.error());
    breakers = std::move(*made);
  }
  std::shared_ptr<AdaptiveRateLimiters> limiters;
  if (options.adaptive_rate) {
    if (options.adaptive_rate->clock == nullptr) options.adaptive_rate->clock = options.clock;
    auto made = AdaptiveRateLimiters::make(*options.adaptive_rate);
    if (!made) return fail(made.error());
    limiters = std::move(*made);
  }
  detail::ensure_curl_initialized();
  std::unique_ptr<Impl> impl(new Impl(std::move(options)));
  impl->breakers = std::move(breakers);
  impl->limiters = std::move(limiters);
  if (impl->share.get() == nullptr) return fail(Error::transient("curl_share_init failed"));
  auto handles = pool::LeasePool<EasyHandle>::make(
      {.name = "http handles",
       .max_size = impl->options.max_connections,
       .acquire_timeout = impl->options.total_timeout,
       // Idle handles keep their connections; curl itself checks a cached
       // connection is alive before reusing it, so no validation hook here.
       .validate_after_idle = std::chrono::hours{24},
       .max_lifetime = std::chrono::hours{24 * 365},
       .leak_threshold = std::chrono::hours{24}},
      {.create = []() -> Result<std::unique_ptr<EasyHandle>> {
        return std::make_unique<EasyHandle>();
      }});
  if (!handles) return fail(handles.error());
  impl->handles = std::move(*handles);
  return std::make_shared<Client>(std::move(impl));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<Response> Client::send(const Request& request) { return impl_->send(request); }

Result<Response> Client::get(std::string_view url, Headers headers) {
  return send({.method = "GET", .url = std::string(url), .headers = std::move(headers)});
}

Result<Response> Client::post(std::string_view url, std::string json_body, Headers headers) {
  headers.emplace_back("Content-Type", "application/json");
  return send({.method = "POST",
               .url = std::string(url),
               .headers = std::move(headers),
               .body = std::move(json_body)});
}

ClientStats Client::stats() const { return impl_->counters.snapshot(); }

const ClientOptions& Client::options() const noexcept { return impl_->options; }

std::shared_ptr<CircuitBreaker> Client::circuit_breaker(std::string_view host_port) {
  return impl_->breakers ? impl_->breakers->for_key(host_port) : nullptr;
}

std::shared_ptr<AdaptiveRateLimiter> Client::rate_limiter(std::string_view host_port) {
  return impl_->limiters ? impl_->limiters->for_key(host_port) : nullptr;
}

Client& default_client() {
  static const std::shared_ptr<Client> client = Client::make().value();
  return *client;
}

Result<Response> get(std::string_view url, Headers headers) {
  return default_client().get(url, std::move(headers));
}

Result<Response> post(std::string_view url, std::string json_body, Headers headers) {
  return default_client().post(url, std::move(json_body), std::move(headers));
}

}  // namespace rebound::http
