// The HTTP client's overload protection through the real client against the
// loopback fault server: per-host circuit breaker, adaptive send rate,
// bounded jittered pushback and cancellation. Sleeps are injected and
// recorded; nothing here asserts on wall time.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "fault_server_fixture.hpp"
#include "rebound/testing/recording_sleeper.hpp"

namespace rebound::http {
namespace {

using namespace fault_server_fixture;
using testing::RecordingSleeper;

std::string host_of(const HttpServer& s) { return "127.0.0.1:" + std::to_string(s.port()); }

TEST(ClientOverload, AHostThatFailsFastTripsTheBreakerAndTheClientStopsSending) {
  auto server = HttpServer::start().value();
  auto healthy = HttpServer::start().value();
  server->script("/down", {Reply::status_only(503)});
  healthy->script("/up", {Reply::text(200, "ok")});
  FakeClock clock;
  auto client = Client::make({.clock = &clock,
                              .sleeper = &clock,
                              .seed = 1,
                              .circuit_breaker = CircuitBreakerOptions{.minimum_throughput = 10}})
                    .value();
  int circuit_open = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = client->get(server->url("/down"));
    ASSERT_FALSE(r);
    if (r.error().error_class == ErrorClass::circuit_open) ++circuit_open;
  }
  // Ten 503s (three per request) opened it; from then on nothing was sent.
  EXPECT_EQ(server->requests_served(), 10u);
  EXPECT_GE(circuit_open, 16);
  auto breaker = client->circuit_breaker(host_of(*server));
  ASSERT_NE(breaker, nullptr);
  EXPECT_EQ(breaker->state(), CircuitState::open);
  auto refused = client->get(server->url("/down"));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused, HasErrorMessage(HasSubstr("next probe in")));
  EXPECT_TRUE(client->get(healthy->url("/up")));  // another host is not affected

  // After the break one probe goes through; the host is back, so it closes.
  server->script("/down", {Reply::text(200, "back")});
  clock.advance(10s);
  auto probe = client->get(server->url("/down"));
  ASSERT_THAT(probe, IsOk());
  EXPECT_EQ(breaker->state(), CircuitState::closed);
  EXPECT_EQ(server->requests_served(), 11u);
}

TEST(ClientOverload, A404DoesNotTripTheBreaker) {
  auto server = HttpServer::start().value();
  server->script("/missing", {Reply::status_only(404)});
  FakeClock clock;
  auto client = Client::make({.clock = &clock,
                              .sleeper = &clock,
                              .circuit_breaker = CircuitBreakerOptions{.minimum_throughput = 5}})
                    .value();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(client->get(server->url("/missing"))->status, 404);
  EXPECT_EQ(server->requests_served(), 20u);
}

// Requests per second of fake time spent by `n` requests to a host that
// answers 429 to everything.
double send_rate_during_storm(Client& client, HttpServer& server, FakeClock& clock, int n) {
  const TimePoint start = clock.now();
  const std::uint64_t before = server.requests_served();
  for (int i = 0; i < n; ++i) (void)client.get(server.url("/storm"));
  const double seconds = std::chrono::duration<double>(clock.now() - start).count();
  return static_cast<double>(server.requests_served() - before) / seconds;
}

TEST(ClientOverload, A429StormSlowsTheSendRate) {
  auto server = HttpServer::start().value();
  server->script("/storm", {Reply::status_only(429)});
  FakeClock plain_clock;
  auto plain = Client::make({.clock = &plain_clock, .sleeper = &plain_clock, .seed = 3}).value();
  const double without = send_rate_during_storm(*plain, *server, plain_clock, 30);

  FakeClock clock;
  auto adaptive = Client::make({.clock = &clock,
                                .sleeper = &clock,
                                .seed = 3,
                                .adaptive_rate = AdaptiveRateOptions{.max_wait = 30s}})
                      .value();
  (void)send_rate_during_storm(*adaptive, *server, clock, 30);  // the limiter learns
  const double with = send_rate_during_storm(*adaptive, *server, clock, 30);
  auto limiter = adaptive->rate_limiter(host_of(*server));
  ASSERT_NE(limiter, nullptr);
  EXPECT_TRUE(limiter->enabled());
  EXPECT_DOUBLE_EQ(limiter->stats().rate, 0.5);  // cut to the AWS floor
  EXPECT_LE(with, 0.6);                          // the client now sends at about the floor
  EXPECT_GT(without, 5 * with) << "retries alone kept hammering at backoff speed";
}

TEST(ClientOverload, RetryAfter30To32ThreadsSpreadsTheirReturnsOverAWindow) {
  auto server = HttpServer::start().value();
  // Each thread's first request is told to come back in 30 s; its retry succeeds.
  std::mutex mu;
  std::set<std::string> seen;
  server->set_handler([&](const emulator::ServerRequest& r) {
    std::lock_guard lock(mu);
    if (seen.insert(r.header("X-Thread").value_or("")).second) return Reply::retry_after("30");
    return Reply::text(200, "ok");
  });
  RecordingSleeper sleeper;
  auto client = Client::make({.sleeper = &sleeper, .seed = 42}).value();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      auto r = client->get(server->url("/wave"), {{"X-Thread", std::to_string(t)}});
      if (r && r->status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 32);
  std::vector<Duration> sleeps = sleeper.sleeps();
  ASSERT_EQ(sleeps.size(), 32u);
  std::sort(sleeps.begin(), sleeps.end());
  EXPECT_GE(sleeps.front(), 30s);  // never before the server asked
  EXPECT_LT(sleeps.back(), 45s);   // spread over [30 s, 45 s)
  EXPECT_GT(sleeps.back() - sleeps.front(), 7s) << "the fleet came back in one wave";
  // No second-wide instant holds more than a quarter of the fleet.
  for (std::size_t i = 0; i + 8 < sleeps.size(); ++i) {
    EXPECT_GT(sleeps[i + 8] - sleeps[i], 1s) << "9 threads return within one second";
  }
}

TEST(ClientOverload, XRateLimitResetIsHonouredLikeRetryAfter) {
  auto server = HttpServer::start().value();
  Reply limited = Reply::status_only(429);
  limited.headers.emplace_back("X-RateLimit-Reset", "4");
  server->script("/reset", {limited, Reply::text(200, "ok")});
  FakeClock clock;
  auto client = Client::make({.clock = &clock, .sleeper = &clock, .seed = 5}).value();
  ASSERT_TRUE(client->get(server->url("/reset")));
  ASSERT_EQ(clock.sleeps().size(), 1u);
  EXPECT_GE(clock.sleeps()[0], 4s);
  EXPECT_LT(clock.sleeps()[0], 6s);
}

TEST(ClientOverload, AStopEndsTheRetrySleepAtOnce) {
  auto server = HttpServer::start().value();
  server->script("/later", {Reply::retry_after("30"), Reply::text(200, "ok")});
  auto client = Client::make({}).value();  // the real sleeper: 30 s unless stopped
  std::stop_source stop;
  Result<Response> r = fail(Error::transient("not run"));
  std::thread caller(
      [&] { r = client->send({.url = server->url("/later"), .stop = stop.get_token()}); });
  while (server->requests_served() == 0) std::this_thread::sleep_for(1ms);
  stop.request_stop();
  caller.join();
  ASSERT_FALSE(r);
  EXPECT_THAT(r, HasErrorCode("cancelled"));
  EXPECT_EQ(r.error().error_class, ErrorClass::non_retriable);
  EXPECT_EQ(server->requests_served(), 1u);
}

TEST(ClientOverload, AStopAbortsATransferInFlight) {
  auto server = HttpServer::start().value();
  Reply stall = Reply::with_fault(Fault::stall);
  stall.stall_for = 30s;
  server->script("/stall", {stall});
  auto client = Client::make({}).value();
  std::stop_source stop;
  Result<Response> r = fail(Error::transient("not run"));
  std::thread caller(
      [&] { r = client->send({.url = server->url("/stall"), .stop = stop.get_token()}); });
  while (server->requests_served() == 0) std::this_thread::sleep_for(1ms);
  stop.request_stop();
  caller.join();  // returns within curl's progress interval, not after 30 s
  ASSERT_FALSE(r);
  EXPECT_THAT(r, HasErrorCode("cancelled"));
}

TEST(ClientOverload, InvalidProtectionOptionsAreRejectedByMake) {
  auto bad_breaker = Client::make({.circuit_breaker = CircuitBreakerOptions{.failure_ratio = 2}});
  ASSERT_FALSE(bad_breaker);
  EXPECT_THAT(bad_breaker, HasErrorMessage(HasSubstr("failure_ratio")));
  auto bad_rate = Client::make({.adaptive_rate = AdaptiveRateOptions{.beta = 0}});
  ASSERT_FALSE(bad_rate);
  EXPECT_THAT(bad_rate, HasErrorMessage(HasSubstr("beta")));
  auto off = Client::make({}).value();
  EXPECT_EQ(off->circuit_breaker("127.0.0.1:1"), nullptr);
  EXPECT_EQ(off->rate_limiter("127.0.0.1:1"), nullptr);
}

}  // namespace
}  // namespace rebound::http
