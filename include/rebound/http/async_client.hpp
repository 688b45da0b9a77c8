// http::AsyncClient — many requests in flight on one or two event threads,
// on libcurl's multi interface, with the blocking Client's retries,
// Retry-After, idempotency rules, redaction and stats, plus hedged GETs.
//
//   auto client = rebound::http::AsyncClient::make({.max_connections = 1000,
//                                                   .max_per_host = 1000},
//                                                  {.event_threads = 1}).value();
//   auto f = client->get_async("http://127.0.0.1:8080/slow");      // std::future
//   client->send_async({.url = url}, [](rebound::Result<Response> r) { ... });
//   f.get();                                  // Result<Response>, as Client::send returns
//   client->stats().reuse_rate();
//
// Design (docs/http.md): each event thread owns one curl multi handle driven
// by curl_multi_socket_action over epoll, an eventfd for submissions and a
// timer list. A request is validated on the calling thread, then handed to an
// event thread (round robin), which runs its attempts as transfers of the
// multi handle. Connections live in the multi handle's connection cache, so
// any transfer reuses any idle connection to the same host; DNS and TLS
// sessions are shared across event threads through one share handle.
// `max_connections` bounds the connections (curl queues transfers beyond it),
// `max_per_host` the connections to one host.
//
// Retries run the same retry core as Client::send (rebound::retry's
// RetryState: per-class limits, deadline, budget, Retry-After), but a retry
// sleep is a timer on the event thread, never a blocking sleep. When
// ClientOptions::sleeper is set (tests: testing::FakeClock), the delay is
// handed to it on the event thread instead and the retry starts at once, so
// tests run in zero wall time; such a sleeper must not block.
//
// Hedging (AsyncOptions::hedge): an idempotent GET or HEAD that has not
// answered after the hedge delay (fixed, or that host's observed p95) is sent
// a second time; the first answer wins and the other transfer is cancelled.
// A hedge is an attempt: it counts against RetryPolicy::max_attempts and pays
// the policy's RetryBudget, and is not sent when either refuses.
//
// Completion callbacks run on an event thread (or on the calling thread,
// before send_async returns, for an invalid request or a shut-down client):
// keep them short and never block in them; they may call send_async.
//
// Thread safety: thread-safe; share one AsyncClient across threads. Do not
// destroy it from one of its own callbacks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "rebound/http/client.hpp"
#include "rebound/http/response.hpp"

namespace rebound::http {

struct HedgeOptions {
  bool enabled = false;
  // Send the hedge this long after the first attempt started...
  Duration delay = std::chrono::milliseconds{50};
  // ...or after that host's observed p95 attempt latency, once `min_samples`
  // successful attempts were seen (until then, `delay`).
  bool use_host_p95 = false;
  std::size_t min_samples = 20;
  std::size_t window = 256;  // latencies kept per host for the p95
};

struct AsyncOptions {
  std::size_t event_threads = 1;  // 1..8; each drives its own multi handle
  HedgeOptions hedge;
};

struct HedgeStats {
  std::uint64_t sent = 0;       // hedge transfers started
  std::uint64_t won = 0;        // requests answered by the hedge
  std::uint64_t denied = 0;     // hedges not sent: attempt limit or retry budget refused
  std::uint64_t cancelled = 0;  // losing transfers cancelled (primary or hedge)
};

class AsyncClient {
 public:
  using Callback = std::function<void(Result<Response>)>;

  // Validates options as Client::make does (and event_threads in 1..8, a
  // positive hedge delay and window); a permanent Error naming the field.
  // Starts the event threads.
  [[nodiscard]] static Result<std::shared_ptr<AsyncClient>> make(ClientOptions options = {},
                                                                 AsyncOptions async = {});

  // Sends a request; `done` gets what Client::send would have returned:
  // the response of the last attempt for a status that is not retried, or
  // the classified error after the policy gave up, or a non_retriable
  // "cancelled" error (code "cancelled") when the client shuts down first.
  void send_async(Request request, Callback done);
  [[nodiscard]] std::future<Result<Response>> send_async(Request request);
  [[nodiscard]] std::future<Result<Response>> get_async(std::string url, Headers headers = {});

  // Cancels every request in flight, waiting for a retry or queued: each
  // completes with the "cancelled" error. Later sends complete with it at
  // once. Joins the event threads. Idempotent; the destructor calls it.
  void shutdown();

  [[nodiscard]] ClientStats stats() const;
  [[nodiscard]] HedgeStats hedge_stats() const;
  [[nodiscard]] const ClientOptions& options() const noexcept;
  [[nodiscard]] std::size_t event_threads() const noexcept;

  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

 private:
  struct Impl;
  explicit AsyncClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rebound::http
