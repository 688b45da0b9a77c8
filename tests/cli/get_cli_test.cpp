// `rebound get` end to end: the built binary against the fault server and a
// real nginx over HTTPS. Exit codes, JSON shape, status counts, reuse and
// redaction of secrets in what it prints.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "rebound/emulator/http_server.hpp"
#include "rebound/testing/command.hpp"
#include "rebound/testing/nginx_server.hpp"

namespace rebound::testing {
namespace {

using emulator::HttpServer;
using emulator::Reply;
using emulator::ServerRequest;

CommandResult rebound_get(std::vector<std::string> args) {
  args.insert(args.begin(), {REBOUND_BINARY, "get"});
  return run_command(args);
}

class GetCli : public ::testing::Test {
 protected:
  std::unique_ptr<HttpServer> server_ =
      HttpServer::start([](const ServerRequest&) { return Reply::text(200, "ok"); }).value();
};

TEST_F(GetCli, JsonReportsStatusCountsTimingsAndReuse) {
  server_->script("/flaky", {Reply::status_only(503), Reply::text(200, "fine")});
  auto r = rebound_get(
      {server_->url("/a"), server_->url("/flaky"), "-n", "20", "--concurrency", "4", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["urls"].size(), 2u);
  EXPECT_EQ(doc["urls"][0]["url"], server_->url("/a"));
  EXPECT_EQ(doc["urls"][0]["status_counts"]["200"], 20);
  EXPECT_EQ(doc["urls"][1]["status_counts"]["200"], 20);
  EXPECT_GT(doc["urls"][0]["mean_ms"]["total"].get<double>(), 0.0);
  const auto& s = doc["summary"];
  EXPECT_EQ(s["requests"], 40);
  EXPECT_EQ(s["ok"], 40);
  EXPECT_EQ(s["failed"], 0);
  EXPECT_EQ(s["retries"], 1);
  EXPECT_LE(s["new_connections"].get<int>(), 4);
  EXPECT_GE(s["reuse_rate"].get<double>(), 0.85);
  for (const char* p : {"p50", "p90", "p99", "max"}) EXPECT_TRUE(s["latency_ms"].contains(p)) << p;
  EXPECT_LE(server_->connections_accepted(), 4u);
}

TEST_F(GetCli, TextOutputHasPercentilesAndReuse) {
  auto r = rebound_get({server_->url("/a"), "-n", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("200 x10"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p50"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p99"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 new, 9 reused"), std::string::npos) << r.out;
}

TEST_F(GetCli, FailedRequestsExitOneAndNameTheError) {
  server_->script("/down", {Reply::status_only(503)});
  auto r = rebound_get({server_->url("/down"), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["summary"]["failed"], 1);
  ASSERT_EQ(doc["urls"][0]["errors"].size(), 1u);
  EXPECT_NE(doc["urls"][0]["errors"].begin().key().find("503"), std::string::npos) << r.out;
  EXPECT_EQ(server_->requests_served(), 3u);
}

TEST_F(GetCli, ClientErrorStatusCountsAsFailure) {
  server_->script("/missing", {Reply::text(404, "no")});
  auto r = rebound_get({server_->url("/missing")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("404 x1"), std::string::npos) << r.out;
}

TEST_F(GetCli, SecretsAreRedactedInOutputButSent) {
  server_->script("/down", {Reply::status_only(500)});
  const std::string secret_url =
      "http://bob:pw-sekrit-1@127.0.0.1:" + std::to_string(server_->port()) +
      "/down?token=tok-sekrit-2&x=1";
  for (const bool json : {false, true}) {
    std::vector<std::string> args = {secret_url, "--header", "Authorization: Bearer hdr-sekrit-3"};
    if (json) args.push_back("--json");
    auto r = rebound_get(args);
    EXPECT_EQ(r.exit_code, 1);
    for (const char* secret : {"pw-sekrit-1", "tok-sekrit-2", "hdr-sekrit-3"}) {
      EXPECT_EQ(r.out.find(secret), std::string::npos) << secret << " in " << r.out;
      EXPECT_EQ(r.err.find(secret), std::string::npos) << secret << " in " << r.err;
    }
    EXPECT_NE(r.out.find("token=***"), std::string::npos) << r.out;
  }
  EXPECT_EQ(server_->requests().front().header("Authorization"), "Bearer hdr-sekrit-3");
}

TEST_F(GetCli, BadCommandLinesExitTwo) {
  EXPECT_EQ(rebound_get({}).exit_code, 2);
  EXPECT_EQ(rebound_get({server_->url("/a"), "-n", "0"}).exit_code, 2);
  EXPECT_EQ(rebound_get({server_->url("/a"), "--header", "no colon"}).exit_code, 2);
  EXPECT_EQ(rebound_get({server_->url("/a"), "--cacert", "/nonexistent.pem"}).exit_code, 2);
  EXPECT_EQ(server_->connections_accepted(), 0u);
}

TEST_F(GetCli, UnsupportedSchemeFailsWithoutSending) {
  // A bad scheme is a bad command line: exit 2 in every command (it was 1
  // here and 4 in fleet), caught before any request.
  auto r = rebound_get({"ftp://127.0.0.1:" + std::to_string(server_->port()) + "/x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ftp"), std::string::npos) << r.err;
  EXPECT_EQ(server_->connections_accepted(), 0u);
}

TEST(GetCliNginx, HttpsWithCacertSucceedsAndWithoutFailsVerification) {
  auto nginx = NginxServer::start().value();
  auto ok = rebound_get(
      {nginx->https_url("/small.json"), "-n", "5", "--cacert", nginx->ca_file(), "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  const auto doc = nlohmann::json::parse(ok.out);
  EXPECT_EQ(doc["urls"][0]["status_counts"]["200"], 5);
  EXPECT_GT(doc["urls"][0]["mean_ms"]["tls"].get<double>(), 0.0);
  EXPECT_EQ(doc["summary"]["new_connections"], 1);

  auto bad = rebound_get({nginx->https_url("/small.json")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("certificate"), std::string::npos) << bad.out;

  auto insecure = rebound_get({nginx->https_url("/status"), "--insecure"});
  EXPECT_EQ(insecure.exit_code, 0) << insecure.out << insecure.err;
}

}  // namespace
}  // namespace rebound::testing
