// Nothing secret leaks: `rebound load --into bigquery://…` with a
// service-account key and with an authorized_user file, through a 401 (token
// refresh), retried 5xx, a token endpoint that fails, and a permanent
// BigQuery error — and every output channel (stdout, stderr, --json) is
// searched for the private key, the access tokens, the refresh token and the
// client secret.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rebound/emulator/bigquery/emulator.hpp"
#include "rebound/emulator/http_server.hpp"
#include "rebound/testing/command.hpp"
#include "rebound/testing/matchers.hpp"
#include "../warehouse/bigquery/test_keys.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::bigquery {
namespace {

using nlohmann::json;
namespace emu = rebound::emulator::bigquery;

constexpr const char* kRefreshToken = "1//KNOWN-REFRESH-TOKEN-0042";
constexpr const char* kClientSecret = "KNOWN-CLIENT-SECRET-0042";

class SecretsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = emu::Emulator::start({.project = "p", .pending_polls = 1, .running_polls = 1});
    ASSERT_THAT(e, IsOk());
    emu_ = std::move(*e);
    tokens_ =
        rebound::emulator::HttpServer::start([this](const rebound::emulator::ServerRequest& r) {
          std::lock_guard lock(mu_);
          if (fail_tokens_) {
            return rebound::emulator::Reply::text(
                400, R"({"error":"invalid_grant","error_description":"Bad grant."})");
          }
          const std::string token = "ya29.KNOWN-ACCESS-TOKEN-" + std::to_string(++issued_);
          issued_tokens_.push_back(token);
          (void)r;
          return rebound::emulator::Reply::text(
              200, json{{"access_token", token}, {"expires_in", 3600}}.dump());
        }).value();
    dir_ =
        std::filesystem::temp_directory_path() / ("rebound-secrets-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "rows.ndjson") << "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\"}\n";
    std::ofstream(dir_ / "sa.json") << json{
        {"type", "service_account"},
        {"client_email", "sa@p.iam.gserviceaccount.com"},
        {"private_key", test::test_key().private_pem},
        {"private_key_id", "k1"},
        {"token_uri",
         tokens_->url("/token")}}.dump();
    std::ofstream(dir_ / "user.json") << json{
        {"type", "authorized_user"},
        {"client_id", "cid"},
        {"client_secret", kClientSecret},
        {"refresh_token", kRefreshToken},
        {"token_uri",
         tokens_->url("/token")}}.dump();
    ::unsetenv("BIGQUERY_EMULATOR_HOST");
  }
  void TearDown() override {
    ::unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    std::filesystem::remove_all(dir_);
  }

  testing::CommandResult load(const std::string& credentials, const std::string& table) {
    ::setenv("GOOGLE_APPLICATION_CREDENTIALS", (dir_ / credentials).c_str(), 1);
    return testing::run_command({REBOUND_BINARY, "load", (dir_ / "rows.ndjson").string(), "--into",
                                 "bigquery://p/d?endpoint=" + emu_->url(), "--table", table,
                                 "--key", "id", "--create", "--json", "--retry-scale", "0.001"});
  }

  // Every secret the runs could have seen.
  std::vector<std::string> secrets() const {
    std::vector<std::string> out = {kRefreshToken, kClientSecret, "PRIVATE KEY", "ya29."};
    const std::string& pem = test::test_key().private_pem;
    for (std::size_t at = 100; at + 40 < pem.size(); at += 300) out.push_back(pem.substr(at, 40));
    std::lock_guard lock(mu_);
    out.insert(out.end(), issued_tokens_.begin(), issued_tokens_.end());
    return out;
  }
  void expect_clean(const testing::CommandResult& r) const {
    for (const std::string& s : secrets()) {
      EXPECT_EQ(r.out.find(s), std::string::npos) << "stdout leaks \"" << s << "\":\n" << r.out;
      EXPECT_EQ(r.err.find(s), std::string::npos) << "stderr leaks \"" << s << "\":\n" << r.err;
    }
  }

  std::unique_ptr<emu::Emulator> emu_;
  std::unique_ptr<rebound::emulator::HttpServer> tokens_;
  std::filesystem::path dir_;
  mutable std::mutex mu_;
  int issued_ = 0;
  bool fail_tokens_ = false;
  std::vector<std::string> issued_tokens_;
};

TEST_F(SecretsCli, ServiceAccountRunThroughRefreshesAndRetriesLeaksNothing) {
  ASSERT_TRUE(emu_->add_faults(json{{"faults",
                                     {{{"method", "GET"},
                                       {"path", "/tables/"},
                                       {"times", 1},
                                       {"action", {{"kind", "error"}, {"status", 401}}}},
                                      {{"method", "POST"},
                                       {"path", "/jobs$"},
                                       {"times", 1},
                                       {"action", {{"kind", "error"}, {"status", 503}}}}}}}
                                   .dump()));
  auto r = load("sa.json", "t1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto doc = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << r.out;
  EXPECT_EQ(doc["rows_merged"], 2);
  EXPECT_GE(issued_, 2);  // the 401 forced a second token
  expect_clean(r);
}

TEST_F(SecretsCli, AuthorizedUserAndFailingRunsLeakNothing) {
  auto ok = load("user.json", "t2");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  expect_clean(ok);
  ASSERT_TRUE(emu_->add_faults(
      json{{"faults",
            {{{"method", "POST"},
              {"path", "/jobs$"},
              {"times", 0},
              {"action", {{"kind", "error"}, {"status", 403}, {"reason", "accessDenied"}}}}}}}
          .dump()));
  auto denied = load("sa.json", "t3");
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_NE(denied.err.find("accessDenied"), std::string::npos) << denied.err;
  expect_clean(denied);
  {
    std::lock_guard lock(mu_);
    fail_tokens_ = true;
  }
  auto grant = load("user.json", "t4");
  EXPECT_NE(grant.exit_code, 0);
  EXPECT_NE(grant.err.find("invalid_grant"), std::string::npos) << grant.err;
  expect_clean(grant);
}

TEST_F(SecretsCli, FleetWithAServiceAccountKeyLeaksNothingIntoOutputJsonOrMetrics) {
  ::setenv("GOOGLE_APPLICATION_CREDENTIALS", (dir_ / "sa.json").c_str(), 1);
  const std::string metrics = (dir_ / "fleet.prom").string();
  auto r = testing::run_command(
      {REBOUND_BINARY, "fleet", "--processors", "2", "--batches", "2", "--rows", "5", "--warehouse",
       "bigquery://p/d?endpoint=" + emu_->url(), "--json", "--quiet", "--metrics", metrics});
  auto doc = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << r.out << r.err;
  EXPECT_GE(issued_, 1);  // the fleet did authenticate with the key
  expect_clean(r);
  std::ifstream in(metrics);
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_FALSE(text.str().empty());
  expect_clean({.exit_code = 0, .out = text.str(), .err = {}});
}

}  // namespace
}  // namespace rebound::bigquery
