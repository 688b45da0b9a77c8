// http::run_gets and its report against the fault-injecting HttpServer on
// loopback: both engines send every GET and count it per URL, reuse their
// connections, send the run's headers, count failed GETs instead of failing
// the run (retries go to a FakeClock: no wall time), hedge slow GETs on the
// async engine, refuse bad options before anything is sent, and print the
// report `rebound get` shows.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "rebound/emulator/http_server.hpp"
#include "rebound/http/get_report.hpp"
#include "rebound/http/get_run.hpp"
#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"

namespace rebound::http {
namespace {

using namespace std::chrono_literals;
using emulator::Fault;
using emulator::HttpServer;
using emulator::Reply;
using emulator::ServerRequest;
using rebound::testing::FakeClock;
using rebound::testing::HasErrorClass;
using rebound::testing::IsOk;

class GetRunTest : public ::testing::Test {
 protected:
  GetRunOptions options(std::vector<std::string> paths, std::size_t count,
                        std::size_t concurrency) {
    GetRunOptions o{
        .count = count, .concurrency = concurrency, .clock = &clock_, .sleeper = &clock_};
    for (const std::string& p : paths) o.urls.push_back(server_->url(p));
    return o;
  }

  std::atomic<int> seen_{0};  // outlives server_, whose handlers may count it
  std::unique_ptr<HttpServer> server_ =
      HttpServer::start([](const ServerRequest&) { return Reply::text(200, "ok"); }).value();
  FakeClock clock_;
};

void expect_all_ok(const GetRunReport& r, std::uint64_t per_url) {
  EXPECT_EQ(r.ok, r.requests);
  for (const UrlTally& u : r.per_url) {
    EXPECT_EQ(u.requests, per_url);
    EXPECT_EQ(u.ok, per_url);
    EXPECT_EQ(u.statuses.at(200), per_url);
    EXPECT_EQ(u.timed, per_url);
    EXPECT_EQ(u.error_count(), 0u);
  }
  EXPECT_EQ(r.latencies_ms.size(), r.requests);
  EXPECT_TRUE(std::is_sorted(r.latencies_ms.begin(), r.latencies_ms.end()));
}

TEST_F(GetRunTest, AsyncEngineSendsEveryGetAndReusesItsConnections) {
  auto r = run_gets(options({"/a", "/b"}, 25, 4));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->requests, 50u);
  expect_all_ok(*r, 25);
  EXPECT_EQ(server_->requests_served(), 50u);
  EXPECT_LE(r->stats.new_connections, 4u) << "at most one connection per GET in flight";
  EXPECT_EQ(r->stats.new_connections + r->stats.reused_connections, 50u);
  EXPECT_EQ(r->hedges.sent, 0u);
}

TEST_F(GetRunTest, BlockingEngineSendsEveryGetOnOneSharedClient) {
  GetRunOptions o = options({"/a", "/b", "/c"}, 10, 3);
  o.engine = GetEngine::blocking;
  auto r = run_gets(o);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->requests, 30u);
  expect_all_ok(*r, 10);
  EXPECT_EQ(server_->requests_served(), 30u);
  EXPECT_LE(r->stats.new_connections, 3u);
}

TEST_F(GetRunTest, SendsTheRunsHeadersWithEveryGet) {
  GetRunOptions o = options({"/h"}, 5, 2);
  o.headers = {{"X-Run", "seven"}};
  auto r = run_gets(o);
  ASSERT_THAT(r, IsOk());
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 5u);
  for (const ServerRequest& q : requests) EXPECT_EQ(q.header("x-run"), "seven");
}

TEST_F(GetRunTest, FailedGetsAreCountedPerUrlNotReturned) {
  server_->script("/missing", {Reply::text(404, "no")});
  server_->script("/down", {Reply::status_only(503)});
  auto r = run_gets(options({"/a", "/missing", "/down"}, 4, 2));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->requests, 12u);
  EXPECT_EQ(r->ok, 4u);
  EXPECT_EQ(r->per_url[1].statuses.at(404), 4u);
  EXPECT_EQ(r->per_url[1].ok, 0u);
  const UrlTally& down = r->per_url[2];
  EXPECT_EQ(down.error_count(), 4u) << "503 is retried, then the run counts the error";
  EXPECT_EQ(down.timed, 0u);
  ASSERT_FALSE(down.errors.empty());
  for (const auto& [text, n] : down.errors) EXPECT_NE(text.find("503"), std::string::npos) << text;
  EXPECT_GT(r->retries(), 0u);
  EXPECT_GT(clock_.total_slept(), Duration::zero()) << "the retry delays went to the fake clock";
}

TEST_F(GetRunTest, AsyncEngineHedgesAGetThatDoesNotAnswer) {
  server_->set_handler([this](const ServerRequest&) {
    if (seen_.fetch_add(1) == 0) {
      Reply slow = Reply::with_fault(Fault::delay);
      slow.body = "slow";
      slow.stall_for = std::chrono::seconds{20};
      return slow;
    }
    return Reply::text(200, "fast");
  });
  // Two connections: a hedge needs a free one within the run's concurrency.
  GetRunOptions o = options({"/slow"}, 1, 2);
  o.hedge_after = 20ms;
  auto r = run_gets(o);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->ok, 1u);
  EXPECT_EQ(r->hedges.sent, 1u);
  EXPECT_EQ(r->hedges.won, 1u);
  EXPECT_EQ(r->hedges.cancelled, 1u);
}

TEST(GetRunOptionsTest, RefusesBadOptionsNamingTheFieldAndRedactingUrls) {
  auto not_http = make_get_run_options({.urls = {"ftp://bob:s3cr3t@h/x"}});
  ASSERT_THAT(not_http, HasErrorClass(ErrorClass::permanent));
  EXPECT_NE(not_http.error().message.find("is not an http:// or https:// URL"), std::string::npos);
  EXPECT_EQ(not_http.error().message.find("s3cr3t"), std::string::npos);
  const std::string url = "HTTP://127.0.0.1:1/";
  EXPECT_THAT(make_get_run_options({.urls = {url}}), IsOk()) << "the scheme is case-insensitive";
  struct Bad {
    GetRunOptions options;
    const char* field;
  };
  for (const Bad& bad : {
           Bad{{}, "urls"},
           Bad{{.urls = {url}, .count = 0}, "count"},
           Bad{{.urls = {url}, .concurrency = 0}, "concurrency"},
           Bad{{.urls = {url}, .concurrency = kMaxGetConcurrency + 1}, "concurrency"},
           Bad{{.urls = {url}, .concurrency = 2000, .engine = GetEngine::blocking}, "concurrency"},
           Bad{{.urls = {url}, .engine = GetEngine::blocking, .hedge_after = 5ms}, "hedge_after"},
           Bad{{.urls = {url}, .event_threads = 9}, "event_threads"},
           Bad{{.urls = {url}, .timeout = Duration::zero()}, "timeout"},
       }) {
    auto made = make_get_run_options(bad.options);
    ASSERT_THAT(made, HasErrorClass(ErrorClass::permanent)) << bad.field;
    EXPECT_NE(made.error().message.find(bad.field), std::string::npos) << made.error().message;
    EXPECT_FALSE(run_gets(bad.options)) << "run_gets refuses what make_get_run_options refuses";
  }
}

TEST(GetRunOptionsTest, RefusesAConcurrencyOverTheHardOpenFileLimit) {
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_THAT(raise_open_file_limit({.concurrency = 1}), IsOk());
  if (limit.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "no hard open file limit here";
  const Status over = raise_open_file_limit({.concurrency = limit.rlim_max});
  ASSERT_THAT(over, HasErrorClass(ErrorClass::permanent));
  EXPECT_NE(
      over.error().message.find("hard limit (ulimit -Hn) is " + std::to_string(limit.rlim_max)),
      std::string::npos)
      << over.error().message;
}

TEST(GetRunOptionsTest, RaisesTheSoftOpenFileLimitToFitTheConnections) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_cur == RLIM_INFINITY || before.rlim_cur < 64 ||
      (before.rlim_max != RLIM_INFINITY && before.rlim_max < before.rlim_cur + 10)) {
    GTEST_SKIP() << "the soft open file limit is already at the hard one";
  }
  const std::size_t concurrency = before.rlim_cur - 64 + 10;
  EXPECT_THAT(raise_open_file_limit({.concurrency = concurrency}), IsOk());
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_cur + 10);
}

TEST(GetRunOptionsTest, ResponsesInFlightShareOneMemoryCap) {
  EXPECT_EQ(get_run_client_options({.concurrency = 1}).max_response_bytes, std::size_t{64} << 20);
  EXPECT_EQ(get_run_client_options({.concurrency = 100}).max_response_bytes,
            kGetRunResponseBytes / 100);
  const ClientOptions c = get_run_client_options({.concurrency = 7, .timeout = 30s});
  EXPECT_EQ(c.max_connections, 7u);
  EXPECT_EQ(c.max_per_host, 7u);
  EXPECT_EQ(c.total_timeout, 30s);
  EXPECT_EQ(c.connect_timeout, 10s);
  EXPECT_EQ(get_run_client_options({.timeout = 2s}).connect_timeout, 2s);
}

TEST_F(GetRunTest, ReportPrintsCountsTimesAndRedactedSecrets) {
  server_->script("/missing", {Reply::text(404, "no")});
  GetRunOptions o = options({"/a?token=s3cr3t", "/missing"}, 3, 1);
  o.headers = {{"Authorization", "Bearer s3cr3t"}, {"X-Trace", "t1"}};
  auto r = run_gets(o);
  ASSERT_THAT(r, IsOk());
  std::ostringstream text;
  print_get_report(text, o, *r);
  EXPECT_NE(text.str().find("3 requests:  200 x3\n  mean ms: connect "), std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("3 requests:  404 x3\n"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("summary: 6 requests, 3 ok, 3 failed in "), std::string::npos);
  EXPECT_NE(text.str().find("token=***"), std::string::npos);
  const nlohmann::json doc = get_report_json(o, *r);
  EXPECT_EQ(doc["summary"]["requests"], 6);
  EXPECT_EQ(doc["summary"]["failed"], 3);
  EXPECT_EQ(doc["summary"]["engine"], "async");
  EXPECT_EQ(doc["urls"][1]["status_counts"]["404"], 3);
  EXPECT_EQ(doc["headers"][1]["value"], "t1");
  for (const std::string& out : {text.str(), doc.dump()}) {
    EXPECT_EQ(out.find("s3cr3t"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace rebound::http
