// http::AsyncClient against the fault-injecting HttpServer: many requests in
// flight on one event thread with connection reuse, the same retries,
// Retry-After, idempotency rules and redaction as the blocking Client (the
// retry delays go to a FakeClock, so no test sleeps for a backoff), a stale
// kept-alive connection replaced transparently, cancellation at shutdown, and
// hedged GETs (which reply won, how many hedges were sent and cancelled).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fault_server_fixture.hpp"
#include "rebound/http/async_client.hpp"

namespace rebound::http {
namespace {

using namespace fault_server_fixture;

class AsyncClientTest : public ::testing::Test {
 protected:
  std::shared_ptr<AsyncClient> make_client(ClientOptions options = {}, AsyncOptions async = {}) {
    options.clock = &clock_;
    options.sleeper = &clock_;
    options.seed = 7;
    auto client = AsyncClient::make(std::move(options), async);
    EXPECT_THAT(client, IsOk());
    return *client;
  }

  // Waits (without asserting on time) until the server has read `n` requests.
  void wait_for_requests(std::uint64_t n) {
    while (server_->requests_served() < n) std::this_thread::sleep_for(1ms);
  }

  std::unique_ptr<HttpServer> server_ =
      HttpServer::start([](const ServerRequest&) { return Reply::text(200, "ok"); }).value();
  FakeClock clock_;
};

TEST_F(AsyncClientTest, ManyRequestsInFlightOnOneThreadReuseConnections) {
  auto client = make_client({.max_connections = 8, .max_per_host = 8});
  EXPECT_EQ(client->event_threads(), 1u);
  std::vector<std::future<Result<Response>>> futures;
  for (int i = 0; i < 200; ++i) futures.push_back(client->get_async(server_->url("/a")));
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "ok");
    EXPECT_EQ(r->attempts, 1);
  }
  EXPECT_LE(server_->connections_accepted(), 8u) << "max_connections bounds the connections";
  const ClientStats s = client->stats();
  EXPECT_EQ(s.requests, 200u);
  EXPECT_EQ(s.attempts, 200u);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.new_connections + s.reused_connections, 200u);
  EXPECT_GE(s.reuse_rate(), 0.96);
}

TEST_F(AsyncClientTest, TwoEventThreadsShareTheWork) {
  auto client = make_client({.max_connections = 4, .max_per_host = 4}, {.event_threads = 2});
  EXPECT_EQ(client->event_threads(), 2u);
  std::vector<std::future<Result<Response>>> futures;
  for (int i = 0; i < 100; ++i) futures.push_back(client->get_async(server_->url("/b")));
  for (auto& f : futures) ASSERT_TRUE(f.get());
  EXPECT_LE(server_->connections_accepted(), 4u);
  EXPECT_EQ(client->stats().requests, 100u);
}

TEST_F(AsyncClientTest, CallbacksMayChainRequestsFromTheEventThread) {
  auto client = make_client();
  std::promise<int> finished;
  std::atomic<int> done{0};
  std::function<void(Result<Response>)> next = [&](Result<Response> r) {
    EXPECT_TRUE(r);
    if (done.fetch_add(1) + 1 == 50) {
      finished.set_value(done.load());
      return;
    }
    client->send_async({.url = server_->url("/chain")}, next);
  };
  client->send_async({.url = server_->url("/chain")}, next);
  EXPECT_EQ(finished.get_future().get(), 50);
  EXPECT_EQ(server_->connections_accepted(), 1u) << "one request at a time reuses one connection";
}

TEST_F(AsyncClientTest, RetriesWithTheSameScheduleAsTheBlockingClient) {
  const std::vector<Reply> replies = {Reply::status_only(503), Reply::status_only(502),
                                      Reply::text(200, "fine")};
  server_->script("/async", replies);
  server_->script("/blocking", replies);
  auto async = make_client();
  auto r = async->get_async(server_->url("/async")).get();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, "fine");
  EXPECT_EQ(r->attempts, 3);

  FakeClock blocking_clock;
  auto blocking =
      Client::make({.clock = &blocking_clock, .sleeper = &blocking_clock, .seed = 7}).value();
  ASSERT_TRUE(blocking->get(server_->url("/blocking")));
  EXPECT_EQ(clock_.sleeps(), blocking_clock.sleeps()) << "one retry core, one schedule per seed";
  EXPECT_EQ(clock_.sleeps().size(), 2u);
  EXPECT_EQ(async->stats().retries_by_class[static_cast<std::size_t>(ErrorClass::transient)], 2u);
}

TEST_F(AsyncClientTest, RetriesOnRealTimersWithoutASleeper) {
  server_->script("/timer", {Reply::status_only(503), Reply::text(200, "later")});
  RetryPolicy policy = policies::transient(0.001);  // ~0.1 ms delays
  auto client = AsyncClient::make({.retry = policy, .seed = 3}).value();
  auto r = client->get_async(server_->url("/timer")).get();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, "later");
  EXPECT_EQ(r->attempts, 2);
}

TEST_F(AsyncClientTest, RetryAfterIsHonoured) {
  server_->script("/limited", {Reply::retry_after("2"), Reply::text(200, "ok")});
  auto client = make_client({.retry = policies::compose(policies::quota(), policies::transient())});
  auto r = client->get_async(server_->url("/limited")).get();
  ASSERT_THAT(r, IsOk());
  // Retry-After is a floor: the retry loop's pushback sleeps at least the
  // hint and adds up to half of it as jitter (as the blocking client does).
  ASSERT_EQ(clock_.sleeps().size(), 1u);
  EXPECT_GE(clock_.sleeps()[0], 2s);
  EXPECT_LT(clock_.sleeps()[0], 3s);
}

TEST_F(AsyncClientTest, GivesUpWithTheClassifiedErrorNamingStatusAndUrl) {
  server_->script("/down", {Reply::status_only(503)});
  auto client = make_client();
  auto r = client->get_async(server_->url("/down?token=hunter2")).get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_class, ErrorClass::transient);
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("HTTP 503")));
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("3 attempts")));
  EXPECT_THAT(r, HasErrorMessage(Not(HasSubstr("hunter2")))) << "secrets are redacted";
  EXPECT_EQ(client->stats().failures, 1u);
}

TEST_F(AsyncClientTest, PostIsNotRetriedUnlessIdempotent) {
  server_->script("/post", {Reply::status_only(503), Reply::text(201, "made")});
  auto client = make_client();
  auto r = client->send_async({.method = "POST", .url = server_->url("/post"), .body = "{}"}).get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_class, ErrorClass::non_retriable);
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("not idempotent")));
  EXPECT_EQ(server_->requests_served(), 1u);

  server_->script("/keyed", {Reply::status_only(503), Reply::text(201, "made")});
  auto keyed = client
                   ->send_async({.method = "POST",
                                 .url = server_->url("/keyed"),
                                 .headers = {{"Idempotency-Key", "k1"}},
                                 .body = "{}"})
                   .get();
  ASSERT_THAT(keyed, IsOk());
  EXPECT_EQ(keyed->status, 201);
}

TEST_F(AsyncClientTest, InvalidRequestFailsAtOnceAndNothingIsSent) {
  auto client = make_client();
  auto bad_scheme = client->get_async("ftp://127.0.0.1/x").get();
  ASSERT_FALSE(bad_scheme);
  EXPECT_EQ(bad_scheme.error().error_class, ErrorClass::permanent);
  auto injected =
      client
          ->send_async({.url = server_->url("/x"), .headers = {{"X-Evil", "a\r\nHost: elsewhere"}}})
          .get();
  ASSERT_FALSE(injected);
  EXPECT_THAT(injected, HasErrorMessage(HasSubstr("nothing was sent")));
  EXPECT_EQ(server_->requests_served(), 0u);
  EXPECT_EQ(client->stats().failures, 2u);
}

TEST_F(AsyncClientTest, StaleKeptAliveConnectionIsReplacedTransparently) {
  server_->script("/stale", {Reply{.status = 200, .body = "one", .fault = Fault::close_after},
                             Reply::text(200, "two")});
  auto client = make_client();
  ASSERT_TRUE(client->get_async(server_->url("/stale")).get());
  auto second = client->get_async(server_->url("/stale")).get();
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->body, "two");
  EXPECT_FALSE(second->reused_connection);
  EXPECT_EQ(server_->connections_accepted(), 2u);
  // Nothing reached the server on the dead connection, so a POST is safe too.
  server_->script("/stale2", {Reply{.status = 200, .body = "x", .fault = Fault::close_after}});
  ASSERT_TRUE(client->get_async(server_->url("/stale2")).get());
  server_->script("/post", {Reply::text(201, "made")});
  auto post = client->send_async({.method = "POST", .url = server_->url("/post"), .body = "{}"});
  auto r = post.get();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(client->stats().failures, 0u);
}

TEST_F(AsyncClientTest, ShutdownCancelsTransfersInFlightAndLaterSends) {
  server_->script("/hang", {Reply{.fault = Fault::stall, .stall_for = 30s}});
  auto client = make_client({.max_connections = 16, .max_per_host = 16});
  std::vector<std::future<Result<Response>>> futures;
  for (int i = 0; i < 10; ++i) futures.push_back(client->get_async(server_->url("/hang")));
  wait_for_requests(10);
  client->shutdown();
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "cancelled");
    EXPECT_EQ(r.error().error_class, ErrorClass::non_retriable);
  }
  auto late = client->get_async(server_->url("/hang")).get();
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, "cancelled");
  EXPECT_EQ(client->stats().failures, 11u);
}

TEST_F(AsyncClientTest, ShutdownCancelsARequestWaitingForItsRetryTimer) {
  server_->script("/later", {Reply::retry_after("3600", 503)});
  RetryPolicy policy = policies::transient();
  policy.deadline = std::chrono::hours{2};
  auto client = AsyncClient::make({.retry = policy}).value();  // real timers
  auto f = client->get_async(server_->url("/later"));
  wait_for_requests(1);
  client.reset();  // the destructor shuts down
  auto r = f.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "cancelled");
}

TEST(AsyncClientOptions, InvalidOptionsNameTheField) {
  auto threads = AsyncClient::make({}, {.event_threads = 0});
  ASSERT_FALSE(threads);
  EXPECT_THAT(threads, HasErrorMessage(HasSubstr("event_threads")));
  auto delay = AsyncClient::make({}, {.hedge = {.enabled = true, .delay = 0ms}});
  ASSERT_FALSE(delay);
  EXPECT_THAT(delay, HasErrorMessage(HasSubstr("hedge.delay")));
  auto timeout = AsyncClient::make({.total_timeout = 0s});
  ASSERT_FALSE(timeout);
  EXPECT_THAT(timeout, HasErrorMessage(HasSubstr("total_timeout")));
}

// Hedging. The server answers the first request for an id slowly (600 ms,
// then "slow") and every later one at once ("fast"): a hedge sent after
// 20 ms must win every time, and the slow primary must be cancelled.
class Hedging : public AsyncClientTest {
 protected:
  void SetUp() override {
    server_->set_handler([this](const ServerRequest& request) {
      bool first = false;
      {
        std::lock_guard lock(mu_);
        first = seen_[request.query]++ == 0;
      }
      if (first && request.query.starts_with("slow")) {
        std::this_thread::sleep_for(600ms);
        return Reply::text(200, "slow");
      }
      return Reply::text(200, "fast");
    });
  }
  // The handler touches seen_, which dies before the base fixture's server:
  // stop the server (it joins every connection thread, a sleeping slow
  // primary included) while seen_ is still alive.
  void TearDown() override { server_.reset(); }

  // 100 GETs, every tenth one slow on its first attempt; returns the bodies.
  std::map<std::string, int> run(AsyncClient& client) {
    std::vector<std::future<Result<Response>>> futures;
    for (int i = 0; i < 100; ++i) {
      const std::string id = (i % 10 == 0 ? "slow" : "quick") + std::to_string(i);
      futures.push_back(client.get_async(server_->url("/h?" + id)));
    }
    std::map<std::string, int> bodies;
    for (auto& f : futures) {
      auto r = f.get();
      EXPECT_THAT(r, IsOk());
      if (r) ++bodies[r->body];
    }
    return bodies;
  }

  std::mutex mu_;
  std::map<std::string, int> seen_;
};

TEST_F(Hedging, WithoutHedgingTheSlowRepliesAreTheTail) {
  auto client = make_client({.max_connections = 64, .max_per_host = 64});
  const auto bodies = run(*client);
  EXPECT_EQ(bodies.at("slow"), 10);
  EXPECT_EQ(bodies.at("fast"), 90);
  EXPECT_EQ(client->hedge_stats().sent, 0u);
}

TEST_F(Hedging, HedgeAnswersFirstAndTheSlowPrimaryIsCancelled) {
  auto client = make_client({.max_connections = 64, .max_per_host = 64},
                            {.hedge = {.enabled = true, .delay = 20ms}});
  const auto bodies = run(*client);
  EXPECT_EQ(bodies.count("slow"), 0u) << "every slow reply was cut by its hedge";
  EXPECT_EQ(bodies.at("fast"), 100);
  const HedgeStats h = client->hedge_stats();
  // The ten slow ones are won by their hedges; a quick one that took longer
  // than 20 ms on a loaded machine may be hedged (and won) too.
  EXPECT_GE(h.won, 10u);
  EXPECT_GE(h.sent, h.won);
  EXPECT_EQ(h.cancelled, h.sent) << "every hedged pair has one loser, and it is cancelled";
}

TEST_F(Hedging, HedgesCountAgainstTheAttemptLimitAndTheRetryBudget) {
  RetryPolicy one_attempt = policies::transient();
  one_attempt.max_attempts = 1;
  auto limited = make_client({.retry = one_attempt}, {.hedge = {.enabled = true, .delay = 20ms}});
  auto r = limited->get_async(server_->url("/h?slow-limited")).get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slow");
  EXPECT_EQ(limited->hedge_stats().sent, 0u);
  EXPECT_EQ(limited->hedge_stats().denied, 1u);

  RetryPolicy broke = policies::transient();
  broke.budget = RetryBudget::make({.max_tokens = 1, .retry_cost = 1, .min_tokens = 1}).value();
  auto budgeted = make_client({.retry = broke}, {.hedge = {.enabled = true, .delay = 20ms}});
  auto b = budgeted->get_async(server_->url("/h?slow-budget")).get();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->body, "slow");
  EXPECT_EQ(budgeted->hedge_stats().denied, 1u);
  EXPECT_EQ(broke.budget->retries_denied(), 1u);
}

TEST_F(Hedging, PostIsNeverHedged) {
  auto client = make_client({}, {.hedge = {.enabled = true, .delay = 20ms}});
  auto r = client->send_async({.method = "POST", .url = server_->url("/h?slow-post"), .body = "{}"})
               .get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slow");
  EXPECT_EQ(client->hedge_stats().sent, 0u);
}

TEST_F(Hedging, HostP95DelayIsLearnedFromObservedLatencies) {
  // After 20 fast answers the host's p95 is far below 600 ms, so the slow
  // one is hedged even though the fixed fallback delay (10 s) never fires.
  auto client = make_client(
      {}, {.hedge = {.enabled = true, .delay = 10s, .use_host_p95 = true, .min_samples = 20}});
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client->get_async(server_->url("/h?warm" + std::to_string(i))).get());
  }
  auto r = client->get_async(server_->url("/h?slow-p95")).get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "fast");
  EXPECT_EQ(client->hedge_stats().won, 1u);
}

}  // namespace
}  // namespace rebound::http
