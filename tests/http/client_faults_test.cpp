// http::Client against the fault-injecting HttpServer: retries of 5xx/429
// (with Retry-After in seconds and as an HTTP-date), idempotency rules, stale
// keep-alive, resets, stalls, oversized and malformed responses, request
// validation (nothing sent) and redaction. Retries sleep on a FakeClock, so
// only the timeout tests spend real time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fault_server_fixture.hpp"

namespace rebound::http {
namespace {

using namespace fault_server_fixture;

class ClientFaults : public ::testing::Test {
 protected:
  std::shared_ptr<Client> make_client(ClientOptions options = {}) {
    options.clock = &clock_;
    options.sleeper = &clock_;
    options.seed = 7;
    auto client = Client::make(std::move(options));
    EXPECT_THAT(client, IsOk());
    return *client;
  }

  std::unique_ptr<HttpServer> server_ = HttpServer::start().value();
  FakeClock clock_;
};

TEST_F(ClientFaults, ServerErrorBurstSucceedsOnThirdAttemptWithRecordedBackoff) {
  server_->script("/burst",
                  {Reply::status_only(503), Reply::status_only(503), Reply::text(200, "fine")});
  auto client = make_client();
  auto r = client->get(server_->url("/burst"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "fine");
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(server_->requests_served(), 3u);
  EXPECT_EQ(server_->connections_accepted(), 1u) << "a 503 must not cost the kept-alive connection";
  // transient(): 100 ms initial, x2, full jitter -> sleep i in [0, 100 ms * 2^i].
  const std::vector<Duration> sleeps = clock_.sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_LE(sleeps[0], 100ms);
  EXPECT_LE(sleeps[1], 200ms);
  EXPECT_EQ(client->stats().retries_by_class[static_cast<std::size_t>(ErrorClass::transient)], 2u);
}

TEST_F(ClientFaults, BackoffScheduleIsReproducibleForASeed) {
  auto run = [&](const std::string& path) {
    FakeClock clock;
    server_->script(path,
                    {Reply::status_only(502), Reply::status_only(500), Reply::status_only(200)});
    auto client = Client::make({.clock = &clock, .sleeper = &clock, .seed = 99}).value();
    EXPECT_TRUE(client->get(server_->url(path)));
    return clock.sleeps();
  };
  const auto first = run("/a");
  EXPECT_EQ(first.size(), 2u);
  EXPECT_EQ(first, run("/b"));
}

// Retry-After is a lower bound spread by pushback jitter: x[1, 1.5).
void expect_pushback(const std::vector<Duration>& sleeps, Duration hint) {
  ASSERT_EQ(sleeps.size(), 1u);
  EXPECT_GE(sleeps[0], hint);
  EXPECT_LT(sleeps[0], hint * 3 / 2);
}

TEST_F(ClientFaults, RetryAfterSecondsIsSleptAtLeastAndJittered) {
  server_->script("/limited", {Reply::retry_after("2"), Reply::text(200, "ok")});
  auto client = make_client();
  auto r = client->get(server_->url("/limited"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->attempts, 2);
  expect_pushback(clock_.sleeps(), 2s);
  EXPECT_EQ(client->stats().retries_by_class[static_cast<std::size_t>(ErrorClass::rate_limited)],
            1u);
}

TEST_F(ClientFaults, RetryAfterHttpDateIsReadAgainstTheInjectedWallClock) {
  const auto wall = std::chrono::sys_days{std::chrono::year{2026} / 3 / 14} + 9h + 26min + 53s;
  clock_.set_wall(wall);
  server_->script("/dated",
                  {Reply::retry_after(emulator::http_date(wall + 7s)), Reply::text(200, "ok")});
  auto client = make_client();
  auto r = client->get(server_->url("/dated"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->attempts, 2);
  expect_pushback(clock_.sleeps(), 7s);
}

TEST_F(ClientFaults, RetryAfterOn503IsHonouredToo) {
  server_->script("/busy", {Reply::retry_after("3", 503), Reply::text(200, "ok")});
  auto client = make_client();
  auto r = client->get(server_->url("/busy"));
  ASSERT_THAT(r, IsOk());
  expect_pushback(clock_.sleeps(), 3s);
}

TEST_F(ClientFaults, RetryAfterBeyondTheDeadlineNeverSleepsPastIt) {
  server_->script("/later", {Reply::retry_after("600"), Reply::text(200, "ok")});
  RetryPolicy policy = policies::transient();
  policy.deadline = 10s;
  auto client = make_client({.retry = policy});
  auto r = client->get(server_->url("/later"));
  EXPECT_LE(clock_.total_slept(), Duration{10s});
  ASSERT_FALSE(r) << "sleeping 600 s would pass the 10 s deadline";
  EXPECT_THAT(r, HasErrorClass(ErrorClass::rate_limited));
  EXPECT_EQ(server_->requests_served(), 1u);
}

TEST_F(ClientFaults, MalformedRetryAfterFallsBackToBackoff) {
  server_->script("/odd", {Reply::retry_after("soon"), Reply::text(200, "ok")});
  auto client = make_client();
  auto r = client->get(server_->url("/odd"));
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(clock_.sleeps().size(), 1u);
  EXPECT_LE(clock_.sleeps()[0], 100ms);
}

TEST_F(ClientFaults, GivesUpAfterThreeAttemptsNamingStatusMethodAndUrl) {
  server_->script("/down", {Reply::status_only(503)});
  auto client = make_client();
  const std::string url = server_->url("/down");
  auto r = client->get(url);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_class, ErrorClass::transient);
  EXPECT_EQ(r.error().code, "503");
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("503")));
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("GET")));
  EXPECT_THAT(r, HasErrorMessage(HasSubstr(url)));
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("3")));
  EXPECT_EQ(server_->requests_served(), 3u);
  EXPECT_EQ(clock_.sleeps().size(), 2u);
  EXPECT_EQ(client->stats().failures, 1u);
}

TEST_F(ClientFaults, PostIsNotRetriedByDefault) {
  server_->script("/post", {Reply::status_only(503), Reply::text(200, "late")});
  auto client = make_client();
  auto r = client->post(server_->url("/post"), R"({"a":1})");
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().retriable());
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("not retried")));
  EXPECT_EQ(server_->requests_served(), 1u);
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(ClientFaults, PostMarkedIdempotentIsRetried) {
  server_->script("/post", {Reply::status_only(503), Reply::text(200, "ok")});
  auto client = make_client();
  auto r = client->send({.method = "POST",
                         .url = server_->url("/post"),
                         .body = "x=1",
                         .idempotency = Idempotency::idempotent});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->attempts, 2);
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].body, "x=1") << "the retry resends the whole body";
}

TEST_F(ClientFaults, PostWithIdempotencyKeyIsRetried) {
  server_->script("/post", {Reply::status_only(502), Reply::text(201, "made")});
  auto client = make_client();
  auto r = client->post(server_->url("/post"), R"({"a":1})", {{"Idempotency-Key", "k-1"}});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(server_->requests()[1].header("Idempotency-Key"), "k-1");
}

TEST_F(ClientFaults, NotIdempotentGetIsNotRetried) {
  server_->script("/get", {Reply::status_only(503), Reply::text(200, "ok")});
  auto client = make_client();
  auto r = client->send({.url = server_->url("/get"), .idempotency = Idempotency::not_idempotent});
  ASSERT_FALSE(r);
  EXPECT_EQ(server_->requests_served(), 1u);
}

TEST_F(ClientFaults, StaleKeepAliveIsReplacedTransparently) {
  server_->script("/stale", {Reply{.status = 200, .body = "one", .fault = Fault::close_after},
                             Reply::text(200, "two")});
  auto client = make_client();
  auto first = client->get(server_->url("/stale"));
  ASSERT_THAT(first, IsOk());
  auto second = client->get(server_->url("/stale"));
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->body, "two");
  EXPECT_FALSE(second->reused_connection);
  EXPECT_GE(second->attempts, 1);
  EXPECT_LE(second->attempts, 2);
  EXPECT_EQ(server_->connections_accepted(), 2u);
  EXPECT_EQ(client->stats().failures, 0u);
}

TEST_F(ClientFaults, StaleKeepAliveIsReplacedForPostToo) {
  server_->script("/stale", {Reply{.status = 200, .body = "one", .fault = Fault::close_after}});
  auto client = make_client();
  ASSERT_TRUE(client->get(server_->url("/stale")));
  server_->script("/post", {Reply::text(201, "made")});
  auto r = client->post(server_->url("/post"), "{}");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 201);
}

TEST_F(ClientFaults, ResetMidBodyIsRetriedForGet) {
  server_->script("/reset", {Reply::with_fault(Fault::reset_mid_body), Reply::text(200, "whole")});
  auto client = make_client();
  auto r = client->get(server_->url("/reset"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, "whole");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(clock_.sleeps().size(), 1u);
}

TEST_F(ClientFaults, ResetMidBodyIsNotRetriedForPost) {
  server_->script("/reset", {Reply::with_fault(Fault::reset_mid_body), Reply::text(200, "whole")});
  auto client = make_client();
  auto r = client->post(server_->url("/reset"), "{}");
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().retriable());
  EXPECT_EQ(server_->requests_served(), 1u);
}

TEST_F(ClientFaults, DroppedRequestIsRetriedForGet) {
  server_->script("/drop", {Reply::with_fault(Fault::drop), Reply::text(200, "ok")});
  auto client = make_client();
  auto r = client->get(server_->url("/drop"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, "ok");
  EXPECT_GE(server_->requests_served(), 2u);
}

TEST_F(ClientFaults, StallFiresTheTimeoutAndIsTransient) {
  server_->script("/stall", {Reply::with_fault(Fault::stall)});
  RetryPolicy once = policies::transient();
  once.max_attempts = 1;
  auto client = make_client({.total_timeout = 300ms, .retry = once});
  auto r = client->get(server_->url("/stall"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r, HasErrorClass(ErrorClass::transient));
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("imeout")));
  EXPECT_EQ(server_->requests_served(), 1u);
}

TEST_F(ClientFaults, StalledAttemptIsRetriedAfterItsTimeout) {
  server_->script("/stall", {Reply::with_fault(Fault::stall), Reply::text(200, "awake")});
  auto client = make_client({.total_timeout = 300ms});
  auto r = client->get(server_->url("/stall"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, "awake");
  EXPECT_EQ(r->attempts, 2);
}

TEST_F(ClientFaults, PerRequestTimeoutOverridesTheClientTimeout) {
  server_->script("/stall", {Reply::with_fault(Fault::stall)});
  RetryPolicy once = policies::transient();
  once.max_attempts = 1;
  auto client = make_client({.total_timeout = 60s, .retry = once});
  auto r = client->send({.url = server_->url("/stall"), .timeout = 200ms});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_class, ErrorClass::transient);
}

TEST_F(ClientFaults, OversizedBodyFailsNamingTheLimitAndIsNotRetried) {
  server_->script("/huge", {Reply{.fault = Fault::oversized_body, .oversized_bytes = 100000}});
  auto client = make_client({.max_response_bytes = 1000});
  auto r = client->get(server_->url("/huge"));
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().retriable()) << r.error().describe();
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("1000")));
  EXPECT_EQ(server_->requests_served(), 1u);
}

TEST_F(ClientFaults, BodyExactlyAtTheLimitIsAccepted) {
  server_->script("/edge", {Reply{.fault = Fault::oversized_body, .oversized_bytes = 1000}});
  auto client = make_client({.max_response_bytes = 1000});
  auto r = client->get(server_->url("/edge"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body.size(), 1000u);
}

TEST_F(ClientFaults, MalformedStatusLineIsAClearPermanentError) {
  server_->script("/weird", {Reply::with_fault(Fault::malformed_status)});
  auto client = make_client();
  auto r = client->get(server_->url("/weird"));
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().retriable()) << r.error().describe();
  // curl reports "HTTP/1.1 abc" as an unsupported HTTP version in the response.
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("response")));
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("/weird")));
  EXPECT_EQ(server_->requests_served(), 1u);
}

TEST_F(ClientFaults, HeaderInjectionIsRefusedBeforeAnythingIsSent) {
  auto client = make_client();
  const std::string url = server_->url("/x");
  for (const Headers& headers : std::vector<Headers>{{{"X-Note", "a\r\nX-Evil: 1"}},
                                                     {{"X-Note", "a\nb"}},
                                                     {{"X-Bad\r\nName", "v"}},
                                                     {{"X Space", "v"}},
                                                     {{"X-Colon:", "v"}},
                                                     {{"", "v"}}}) {
    auto r = client->get(url, headers);
    ASSERT_FALSE(r) << headers[0].first;
    EXPECT_THAT(r, HasErrorClass(ErrorClass::permanent));
    EXPECT_THAT(r, HasErrorMessage(HasSubstr("nothing was sent")));
  }
  auto bad_default = Client::make({.default_headers = {{"X-Default", "v\r\nInjected: 1"}}}).value();
  EXPECT_FALSE(bad_default->get(url));
  EXPECT_EQ(server_->connections_accepted(), 0u);
}

TEST_F(ClientFaults, MalformedUrlsAndOtherSchemesAreRefusedBeforeAnythingIsSent) {
  auto client = make_client();
  const std::string port = std::to_string(server_->port());
  for (const std::string& url :
       {"ftp://127.0.0.1:" + port + "/file", std::string("file:///etc/passwd"),
        "gopher://127.0.0.1:" + port + "/", std::string("not a url"), std::string(""),
        "http://127.0.0.1:" + port + "/a\r\nHost: evil", std::string("http://[::1/x"),
        std::string("http://127.0.0.1:99999/x")}) {
    auto r = client->get(url);
    ASSERT_FALSE(r) << url;
    EXPECT_THAT(r, HasErrorClass(ErrorClass::permanent)) << url;
  }
  auto ftp = client->get("ftp://127.0.0.1:" + port + "/file");
  EXPECT_THAT(ftp, HasErrorMessage(HasSubstr("ftp")));
  EXPECT_EQ(server_->connections_accepted(), 0u);
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(ClientFaults, InvalidMethodIsRefused) {
  auto client = make_client();
  auto r = client->send({.method = "GET /evil HTTP/1.1\r\n", .url = server_->url("/x")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_class, ErrorClass::permanent);
  EXPECT_EQ(server_->connections_accepted(), 0u);
}

TEST_F(ClientFaults, SecretsNeverAppearInErrorMessages) {
  server_->script("/fail", {Reply::status_only(503)});
  auto client = make_client();
  const std::string url = "http://alice:pa55-w0rd-zz@127.0.0.1:" + std::to_string(server_->port()) +
                          "/fail?token=tok-sekrit-123&page=2";
  auto r = client->get(url, {{"Authorization", "Bearer bearer-sekrit-xyz"}});
  ASSERT_FALSE(r);
  const std::string text = r.error().describe();
  EXPECT_EQ(text.find("pa55-w0rd-zz"), std::string::npos) << text;
  EXPECT_EQ(text.find("tok-sekrit-123"), std::string::npos) << text;
  EXPECT_EQ(text.find("bearer-sekrit-xyz"), std::string::npos) << text;
  EXPECT_NE(text.find("page=2"), std::string::npos) << text;
  // The secrets did reach the server: redaction is for messages, not the wire.
  const auto seen = server_->requests();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0].header("Authorization"), "Bearer bearer-sekrit-xyz");
  EXPECT_EQ(seen[0].query, "token=tok-sekrit-123&page=2");
}

TEST_F(ClientFaults, SecretsNeverAppearInTransportErrors) {
  // A port nobody listens on: connection refused, a curl error path.
  int closed_port = 0;
  {
    auto gone = HttpServer::start().value();
    closed_port = gone->port();
  }
  auto client = make_client();
  const std::string url = "http://alice:pa55-w0rd-zz@127.0.0.1:" + std::to_string(closed_port) +
                          "/x?api_key=key-sekrit-9";
  auto r = client->get(url, {{"X-Api-Key", "hdr-sekrit-7"}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r, HasErrorClass(ErrorClass::transient));
  const std::string text = r.error().describe();
  EXPECT_EQ(text.find("pa55-w0rd-zz"), std::string::npos) << text;
  EXPECT_EQ(text.find("key-sekrit-9"), std::string::npos) << text;
  EXPECT_EQ(text.find("hdr-sekrit-7"), std::string::npos) << text;

  auto injected = client->get(url, {{"Authorization", "Bearer inj-sekrit\r\nX: y"}});
  ASSERT_FALSE(injected);
  EXPECT_EQ(injected.error().describe().find("inj-sekrit"), std::string::npos)
      << injected.error().describe();
}

TEST_F(ClientFaults, RequestBodyHeadersAndHeadReachTheServer) {
  server_->set_handler([](const emulator::ServerRequest& req) {
    return Reply::text(200, req.method + " " + req.path + " " + req.body);
  });
  auto client =
      make_client({.default_headers = {{"X-Team", "data"}}, .user_agent = "rebound-test/1"});
  auto posted = client->post(server_->url("/items"), R"({"id":1})", {{"X-Trace", "t1"}});
  ASSERT_THAT(posted, IsOk());
  EXPECT_EQ(posted->body, R"(POST /items {"id":1})");
  EXPECT_EQ(posted->header("content-type"), "text/plain");
  auto head = client->send({.method = "HEAD", .url = server_->url("/items")});
  ASSERT_THAT(head, IsOk());
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
  auto put = client->send({.method = "PUT", .url = server_->url("/items/1"), .body = "v"});
  ASSERT_THAT(put, IsOk());
  EXPECT_EQ(put->body, "PUT /items/1 v");

  const auto seen = server_->requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].header("Content-Type"), "application/json");
  EXPECT_EQ(seen[0].header("X-Trace"), "t1");
  EXPECT_EQ(seen[0].header("X-Team"), "data");
  EXPECT_EQ(seen[0].header("User-Agent"), "rebound-test/1");
  EXPECT_EQ(seen[1].method, "HEAD");
  EXPECT_EQ(server_->connections_accepted(), 1u);
}

// One handle serves every request, so options one request set (a method, a
// body, HEAD's no-body) must never leak into the next — including the plain
// GET fast path that skips curl_easy_reset.
TEST_F(ClientFaults, MixedMethodsOnOneHandleNeverInheritEachOthersOptions) {
  server_->set_handler([](const emulator::ServerRequest& req) {
    return Reply::text(200, req.method + " " + req.path + " [" + req.body + "]");
  });
  auto client = make_client({.max_connections = 1});
  const std::string url = server_->url("/m");
  const std::vector<std::pair<Request, std::string>> steps = {
      {{.method = "GET", .url = url}, "GET /m []"},
      {{.method = "GET", .url = url}, "GET /m []"},
      {{.method = "POST", .url = url, .body = "p1"}, "POST /m [p1]"},
      {{.method = "GET", .url = url}, "GET /m []"},
      {{.method = "DELETE", .url = url}, "DELETE /m []"},
      {{.method = "GET", .url = url}, "GET /m []"},
      {{.method = "HEAD", .url = url}, ""},
      {{.method = "GET", .url = url}, "GET /m []"},
      {{.method = "PUT", .url = url, .body = "v"}, "PUT /m [v]"},
      {{.method = "GET", .url = url + "?page=2"}, "GET /m []"},
  };
  for (const auto& [request, body] : steps) {
    auto r = client->send(request);
    ASSERT_THAT(r, IsOk()) << request.method;
    EXPECT_EQ(r->body, body) << request.method;
  }
  const auto seen = server_->requests();
  ASSERT_EQ(seen.size(), steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(seen[i].method, steps[i].first.method);
  EXPECT_EQ(server_->connections_accepted(), 1u);
}

TEST_F(ClientFaults, LargeRequestBodyArrivesWhole) {
  server_->set_handler([](const emulator::ServerRequest& req) {
    return Reply::text(200, std::to_string(req.body.size()));
  });
  auto client = make_client();
  const std::string big(3 << 20, 'b');
  auto r = client->post(server_->url("/upload"), big);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, std::to_string(big.size()));
}

TEST_F(ClientFaults, ClientErrorsAreReturnedAsResponsesNotRetried) {
  server_->script("/missing", {Reply::text(404, "nope")});
  auto client = make_client();
  auto r = client->get(server_->url("/missing"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(server_->requests_served(), 1u);
}

TEST_F(ClientFaults, ManyThreadsShareOneClientThroughFaults) {
  // Every 5th request (by id) fails once with 503, so each of those is
  // retried exactly once; 8 threads share one client.
  std::mutex mu;
  std::set<std::string> failed_once;
  server_->set_handler([&](const emulator::ServerRequest& req) {
    const int id = std::stoi(req.query.substr(3));
    std::lock_guard lock(mu);
    if (id % 5 == 0 && failed_once.insert(req.query).second) return Reply::status_only(503);
    return Reply::text(200, req.query);
  });
  auto client = make_client();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "id=" + std::to_string(t * kPerThread + i);
        auto r = client->get(server_->url("/shared?" + id));
        if (r && r->status == 200 && r->body == id) {
          ok.fetch_add(1);
        } else {
          ADD_FAILURE() << (r ? std::to_string(r->status) : r.error().describe());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  const ClientStats s = client->stats();
  EXPECT_EQ(s.requests, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.attempts, static_cast<std::uint64_t>(kThreads * kPerThread * 6 / 5));
  EXPECT_EQ(s.failures, 0u);
  EXPECT_LE(s.new_connections, static_cast<std::uint64_t>(kThreads));
  EXPECT_LE(server_->connections_accepted(), static_cast<std::uint64_t>(kThreads));
}

TEST_F(ClientFaults, InvalidOptionsNameTheField) {
  auto bad_timeout = Client::make({.total_timeout = 0s});
  ASSERT_FALSE(bad_timeout);
  EXPECT_THAT(bad_timeout, HasErrorMessage(HasSubstr("total_timeout")));
  auto bad_ca = Client::make({.tls = {.ca_file = "/nonexistent/ca.pem"}});
  ASSERT_FALSE(bad_ca);
  EXPECT_THAT(bad_ca, HasErrorMessage(HasSubstr("/nonexistent/ca.pem")));
  auto bad_limit = Client::make({.max_connections = 0});
  ASSERT_FALSE(bad_limit);
  EXPECT_THAT(bad_limit, HasErrorMessage(HasSubstr("max_connections")));
}

TEST(DefaultClient, GetAndPostWork) {
  auto server = HttpServer::start([](const emulator::ServerRequest& req) {
                  return Reply::text(200, req.method + ":" + req.body);
                }).value();
  auto got = get(server->url("/hello"));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->body, "GET:");
  auto posted = post(server->url("/hello"), R"({"k":"v"})");
  ASSERT_THAT(posted, IsOk());
  EXPECT_EQ(posted->body, R"(POST:{"k":"v"})");
  EXPECT_EQ(server->requests()[1].header("Content-Type"), "application/json");
  EXPECT_EQ(&default_client(), &default_client());
  EXPECT_GE(default_client().stats().requests, 2u);
}

}  // namespace
}  // namespace rebound::http
