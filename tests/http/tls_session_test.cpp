// TLS session resumption against a real nginx: when a connection cannot be
// kept (the server closes it after each reply), the next connection resumes
// the TLS session instead of paying a full handshake — for the blocking and
// the async client alike. nginx's access log records per request whether the
// handshake resumed a session ($ssl_session_reused: "r") or was full (".").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>

#include "rebound/http/async_client.hpp"
#include "rebound/http/client.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/testing/nginx_server.hpp"

namespace rebound::http {
namespace {

using rebound::testing::IsOk;
using rebound::testing::NginxServer;

constexpr int kRequests = 20;

struct Handshakes {
  int resumed = 0;
  int full = 0;
};

// Reads "<request> <status> <r|.>" lines for `path` from the access log,
// waiting (up to 10 s) until `expected` are there: nginx writes a request's
// line just after sending its reply.
Handshakes handshakes(const NginxServer& nginx, const std::string& path, int expected) {
  Handshakes out;
  for (int tries = 0; tries < 1000; ++tries) {
    out = {};
    std::ifstream log(nginx.dir() / "access.log");
    std::string line;
    while (std::getline(log, line)) {
      if (line.find(" " + path + " ") == std::string::npos) continue;
      if (line.ends_with(" r")) ++out.resumed;
      if (line.ends_with(" .")) ++out.full;
    }
    if (out.resumed + out.full >= expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return out;
}

// Options trusting the fixture's CA (built by assignment: g++ 12 at -O3
// warns falsely about a nested designated string initialiser here).
ClientOptions trusting(const NginxServer& nginx) {
  ClientOptions options;
  options.tls.ca_file = nginx.ca_file();
  return options;
}

class TlsSessions : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = NginxServer::start({.worker_processes = 1, .access_log = true});
    ASSERT_THAT(started, IsOk());
    nginx_ = std::move(*started);
  }
  // kRequests GETs of /close, one after the other (each on a new connection,
  // as nginx closes every one), through `get`; then every connection but the
  // first must have resumed the TLS session.
  template <class AnyClient, class Get>
  void expect_every_new_connection_resumes(AnyClient& client, Get get) {
    for (int i = 0; i < kRequests; ++i) {
      Result<Response> r = get(client, nginx_->https_url("/close"));
      ASSERT_THAT(r, IsOk());
      ASSERT_EQ(r->status, 200);
    }
    EXPECT_EQ(client.stats().new_connections, static_cast<std::uint64_t>(kRequests));
    const Handshakes h = handshakes(*nginx_, "/close", kRequests);
    EXPECT_EQ(h.full, 1) << "only the first connection needs a full handshake";
    EXPECT_EQ(h.resumed, kRequests - 1);
  }
  std::unique_ptr<NginxServer> nginx_;
};

TEST_F(TlsSessions, BlockingClientResumesTheSessionOnEveryNewConnection) {
  auto client = Client::make(trusting(*nginx_)).value();
  expect_every_new_connection_resumes(*client,
                                      [](Client& c, const std::string& url) { return c.get(url); });
}

TEST_F(TlsSessions, AsyncClientResumesTheSessionOnEveryNewConnection) {
  auto client = AsyncClient::make(trusting(*nginx_)).value();
  expect_every_new_connection_resumes(
      *client, [](AsyncClient& c, const std::string& url) { return c.get_async(url).get(); });
}

TEST_F(TlsSessions, NoReuseMeansAFullHandshakeEveryTime) {
  // reuse_connections = false is documented to turn session resumption off
  // too (what a client without pooling pays).
  ClientOptions options = trusting(*nginx_);
  options.reuse_connections = false;
  auto client = Client::make(std::move(options)).value();
  for (int i = 0; i < kRequests; ++i) {
    auto r = client->get(nginx_->https_url("/status"));
    ASSERT_THAT(r, IsOk());
  }
  const Handshakes h = handshakes(*nginx_, "/status", kRequests);
  EXPECT_EQ(h.full, kRequests);
  EXPECT_EQ(h.resumed, 0);
}

}  // namespace
}  // namespace rebound::http
