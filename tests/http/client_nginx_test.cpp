// http::Client against a real nginx (plain HTTP and HTTPS with a throwaway
// CA): bodies, connection reuse over 1000 sequential requests and across 8+
// threads sharing one client, certificate verification on by default.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "rebound/http/client.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/testing/nginx_server.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::http {
namespace {

using testing::NginxServer;

class ClientNginx : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = NginxServer::start({.worker_processes = 2});
    ASSERT_THAT(started, IsOk());
    nginx_ = started->release();
  }
  static void TearDownTestSuite() {
    delete nginx_;
    nginx_ = nullptr;
  }
  static NginxServer* nginx_;
};
NginxServer* ClientNginx::nginx_ = nullptr;

TEST_F(ClientNginx, GetReturnsStatusAndBody) {
  auto client = Client::make().value();
  auto small = client->get(nginx_->http_url("/small.json"));
  ASSERT_THAT(small, IsOk());
  EXPECT_EQ(small->status, 200);
  EXPECT_EQ(small->body, NginxServer::small_json());
  EXPECT_EQ(small->header("content-type"), "application/json");
  EXPECT_EQ(small->attempts, 1);
  EXPECT_GT(small->timing.total.count(), 0);
  EXPECT_LE(small->timing.first_byte, small->timing.total);

  auto status = client->get(nginx_->http_url("/status"));
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->body, "ok");
  EXPECT_TRUE(status->reused_connection);

  auto big = client->get(nginx_->http_url("/big.bin"));
  ASSERT_THAT(big, IsOk());
  EXPECT_EQ(big->body.size(), NginxServer::big_size());
  for (std::size_t i : {std::size_t{1}, std::size_t{4096}, NginxServer::big_size() - 1}) {
    EXPECT_EQ(static_cast<unsigned char>(big->body[i]), (i * 7919) % 251)
        << i;  // the fixture's pattern
  }

  auto missing = client->get(nginx_->http_url("/missing"));
  ASSERT_THAT(missing, IsOk());
  EXPECT_EQ(missing->status, 404);
}

TEST_F(ClientNginx, ThousandSequentialGetsReuseOneConnection) {
  auto client = Client::make().value();
  for (int i = 0; i < 1000; ++i) {
    auto r = client->get(nginx_->http_url("/status"));
    ASSERT_THAT(r, IsOk()) << i;
    ASSERT_EQ(r->status, 200);
  }
  const ClientStats s = client->stats();
  EXPECT_EQ(s.requests, 1000u);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.new_connections, 1u);
  EXPECT_GE(s.reuse_rate(), 0.99);
}

TEST_F(ClientNginx, ThreadsSharingOneClientAllSucceedAndReuse) {
  auto client = Client::make().value();
  constexpr int kThreads = 10;
  constexpr int kPerThread = 150;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string url = nginx_->http_url(t % 2 == 0 ? "/status" : "/small.json");
      for (int i = 0; i < kPerThread; ++i) {
        auto r = client->get(url);
        if (r && r->status == 200) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  const ClientStats s = client->stats();
  EXPECT_EQ(s.failures, 0u);
  EXPECT_LE(s.new_connections, static_cast<std::uint64_t>(kThreads));
  EXPECT_GE(s.reuse_rate(), 0.99);
}

TEST_F(ClientNginx, HttpsVerifiesAgainstTheGivenCa) {
  auto client = Client::make({.tls = {.ca_file = nginx_->ca_file()}}).value();
  auto first = client->get(nginx_->https_url("/small.json"));
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->body, NginxServer::small_json());
  EXPECT_FALSE(first->reused_connection);
  EXPECT_GT(first->timing.tls.count(), 0);
  auto second = client->get(nginx_->https_url("/big.bin"));
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->body.size(), NginxServer::big_size());
  EXPECT_TRUE(second->reused_connection);
}

TEST_F(ClientNginx, HttpsByLocalhostNameAlsoVerifies) {
  auto client = Client::make({.tls = {.ca_file = nginx_->ca_file()}}).value();
  auto r = client->get("https://localhost:" + std::to_string(nginx_->https_port()) + "/status");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, "ok");
}

TEST_F(ClientNginx, HttpsWithoutTheCaFailsVerificationAndIsNotRetried) {
  std::atomic<int> retries{0};
  auto client = Client::make().value();
  auto r = client->send({.url = nginx_->https_url("/status"),
                         .on_retry = [&](const RetryEvent&) { retries.fetch_add(1); }});
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().retriable()) << r.error().describe();
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("certificate")));
  EXPECT_THAT(r, HasErrorMessage(HasSubstr("ca_file")));
  EXPECT_EQ(retries.load(), 0);
  EXPECT_EQ(client->stats().attempts, 1u);
}

TEST_F(ClientNginx, InsecureSkipVerifyConnectsWithoutTheCa) {
  auto client = Client::make({.tls = {.insecure_skip_verify = true}}).value();
  auto r = client->get(nginx_->https_url("/status"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, "ok");
}

TEST_F(ClientNginx, HttpsThreadsShareOneClient) {
  auto client = Client::make({.tls = {.ca_file = nginx_->ca_file()}}).value();
  constexpr int kThreads = 8;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        auto r = client->get(nginx_->https_url("/small.json"));
        if (r && r->body == NginxServer::small_json()) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * 40);
  EXPECT_LE(client->stats().new_connections, static_cast<std::uint64_t>(kThreads));
}

TEST_F(ClientNginx, NoReuseOptionOpensAConnectionPerRequest) {
  auto client = Client::make({.reuse_connections = false}).value();
  for (int i = 0; i < 5; ++i) {
    auto r = client->get(nginx_->http_url("/status"));
    ASSERT_THAT(r, IsOk());
    EXPECT_FALSE(r->reused_connection);
  }
  EXPECT_EQ(client->stats().new_connections, 5u);
  EXPECT_EQ(client->stats().reuse_rate(), 0.0);
}

}  // namespace
}  // namespace rebound::http
