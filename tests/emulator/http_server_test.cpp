// The test fixtures themselves: HttpServer counts, scripts and faults seen
// from a raw socket, and the HTTP-date formatter.
#include "rebound/emulator/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace rebound::emulator {
namespace {

// Sends raw bytes and reads until the server closes.
std::string exchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

TEST(HttpDate, FormatsImfFixdate) {
  const auto t = std::chrono::sys_days{std::chrono::year{2026} / 1 / 1} + std::chrono::seconds{2};
  EXPECT_EQ(http_date(t), "Thu, 01 Jan 2026 00:00:02 GMT");
}

TEST(HttpServer, ScriptsRepeatTheirLastReplyAndKeepAlive) {
  auto server = HttpServer::start().value();
  server->script("/s", {Reply::text(503, "a"), Reply::text(200, "b")});
  const std::string two =
      "GET /s HTTP/1.1\r\nHost: x\r\n\r\nGET /s?q=1 HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string third = "GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string out = exchange(server->port(), two + third);
  EXPECT_NE(out.find("HTTP/1.1 503 Service Unavailable\r\n"), std::string::npos) << out;
  std::size_t oks = 0;
  for (auto at = out.find("HTTP/1.1 200 OK\r\n"); at != std::string::npos;
       at = out.find("HTTP/1.1 200 OK\r\n", at + 1)) {
    ++oks;
  }
  EXPECT_EQ(oks, 2u) << "the last reply repeats";
  EXPECT_EQ(server->connections_accepted(), 1u);
  EXPECT_EQ(server->requests_served(), 3u);
  ASSERT_EQ(server->requests().size(), 3u);
  EXPECT_EQ(server->requests()[1].query, "q=1");
  EXPECT_EQ(server->requests()[1].header("host"), "x");
}

TEST(HttpServer, UnscriptedPathsAre404WithoutAHandler) {
  auto server = HttpServer::start().value();
  const std::string out =
      exchange(server->port(), "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 404")) << out;
}

TEST(HttpServer, HeadGetsHeadersOnly) {
  auto server =
      HttpServer::start([](const ServerRequest&) { return Reply::text(200, "12345"); }).value();
  const std::string out = exchange(server->port(), "HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("Content-Length: 5\r\n"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("\r\n\r\n")) << out;
}

TEST(HttpServer, ReadsRequestBodiesByContentLength) {
  auto server = HttpServer::start([](const ServerRequest& r) {
                  return Reply::text(200, "[" + r.body + "]");
                }).value();
  const std::string out = exchange(
      server->port(), "POST / HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_TRUE(out.ends_with("[hello]")) << out;
}

TEST(HttpServer, FaultsMisbehaveAsDocumented) {
  auto server = HttpServer::start().value();
  server->script("/malformed", {Reply::with_fault(Fault::malformed_status)});
  server->script("/drop", {Reply::with_fault(Fault::drop)});
  server->script("/reset", {Reply::with_fault(Fault::reset_mid_body)});
  server->script("/stale", {Reply::with_fault(Fault::close_after)});
  EXPECT_EQ(exchange(server->port(), "GET /malformed HTTP/1.1\r\n\r\n"), "HTTP/1.1 abc\r\n\r\n");
  EXPECT_EQ(exchange(server->port(), "GET /drop HTTP/1.1\r\n\r\n"), "");
  const std::string reset = exchange(server->port(), "GET /reset HTTP/1.1\r\n\r\n");
  EXPECT_NE(reset.find("Content-Length: 40\r\n"), std::string::npos) << reset;
  const std::string stale = exchange(server->port(), "GET /stale HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(stale.ends_with("honestly!")) << stale;
  EXPECT_EQ(stale.find("Connection: close"), std::string::npos) << "the close is not announced";
  EXPECT_EQ(server->connections_accepted(), 4u);
}

TEST(HttpServer, DestructorEndsAStallAtOnce) {
  auto server = HttpServer::start().value();
  server->script("/stall", {Reply{.fault = Fault::stall, .stall_for = std::chrono::hours{1}}});
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(server->port()));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string req = "GET /stall HTTP/1.1\r\n\r\n";
  ASSERT_GT(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), 0);
  while (server->requests_served() == 0) std::this_thread::yield();
  server.reset();  // must not wait an hour
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);
  ::close(fd);
}

}  // namespace
}  // namespace rebound::emulator
