// HttpServer — a small HTTP/1.1 server on 127.0.0.1 (port 0) that misbehaves
// on request: close a kept-alive connection, reset mid-body, stall, send an
// oversized body or a malformed status line, or drop the request without
// answering. Tests and demos script replies per path ("503, 503, 200") or
// install a handler, then assert on the counters and the request log. The
// fleet's built-in source (rebound::fleet::Source) runs on it.
//
// clang-format off
//   using namespace rebound::emulator;
//   auto server = HttpServer::start().value();
//   server->script("/flaky", {Reply::status_only(503), Reply::status_only(503),
//                             Reply::text(200, "ok")});
//   auto client = rebound::http::Client::make({}).value();  // retries 503 (3 attempts)
//   auto r = client->get(server->url("/flaky"));     // succeeds on attempt 3
//   EXPECT_EQ(server->requests_served(), 3u);
//   EXPECT_EQ(server->connections_accepted(), 1u);   // keep-alive held
// clang-format on
//
// One thread per connection plus an accept thread; keep-alive by default
// (HTTP/1.1), `Connection: close` honoured, request bodies read by
// Content-Length, `Expect: 100-continue` answered, HEAD answered without a
// body. The destructor stops accepting, unblocks every connection (stalls
// included) and joins all threads. Chunked request bodies are decoded.
//
// Thread safety: thread-safe. The handler runs on connection threads, maybe
// several at once, so it must be thread-safe itself.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "rebound/core/error.hpp"
#include "rebound/core/headers.hpp"

namespace rebound::emulator {

struct ServerRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', without it; empty when absent
  Headers headers;
  std::string body;
  // Requests served before this one on the same connection: 0 for the first
  // request of a fresh connection, so a handler can model connection setup.
  std::uint64_t on_connection = 0;
  std::uint64_t connection = 0;  // 1-based id of the connection it arrived on

  // The first header with this name (case-insensitive).
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

// How a reply misbehaves.
enum class Fault : std::uint8_t {
  none,
  close_after,       // answer, then close silently (no Connection: close): the kept-alive
                     // connection goes stale and the client learns on its next request
  reset_mid_body,    // headers with Content-Length N, half the body, then RST (SO_LINGER 0)
  stall,             // read the request, send nothing for Reply::stall_for, then close
  oversized_body,    // a body of Reply::oversized_bytes ('x' * n) with its Content-Length
  malformed_status,  // "HTTP/1.1 abc\r\n\r\n", then close
  drop,              // close without sending a byte
  reset,             // close with an RST (SO_LINGER 0) without sending a byte
  delay,             // wait Reply::stall_for, then send the reply normally (a reply slower
                     // than the client's timeout; the work behind it was still done)
};

struct Reply {
  int status = 200;
  Headers headers;
  std::string body;
  Fault fault = Fault::none;
  std::chrono::milliseconds stall_for{std::chrono::seconds{30}};  // Fault::stall
  std::size_t oversized_bytes = std::size_t{1} << 20;             // Fault::oversized_body

  [[nodiscard]] static Reply text(int status, std::string body);
  [[nodiscard]] static Reply status_only(int status);
  // 429 (or `status`) with `Retry-After: <value>` (seconds or an HTTP-date).
  [[nodiscard]] static Reply retry_after(std::string value, int status = 429);
  [[nodiscard]] static Reply with_fault(Fault fault);
};

// "Thu, 01 Jan 2026 00:00:02 GMT" (RFC 9110 IMF-fixdate).
[[nodiscard]] std::string http_date(std::chrono::system_clock::time_point t);

class HttpServer {
 public:
  using Handler = std::function<Reply(const ServerRequest&)>;

  // Binds 127.0.0.1:0 and starts accepting. Without a handler (and for paths
  // without a script) every request gets 404 "no route". Errors are permanent.
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> start(Handler handler = {});
  // Same, on 127.0.0.1:`port` (0 picks a free one). A port in use is a permanent error.
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> start_on(int port, Handler handler);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  [[nodiscard]] int port() const noexcept { return port_; }
  // "http://127.0.0.1:<port><path>"
  [[nodiscard]] std::string url(std::string_view path = "/") const;

  // Replies for `path`, served in order; the last one repeats forever, so
  // {503} is "503 forever" and {503, 503, 200} is "two failures, then fine".
  // Scripts win over the handler. Replacing a script restarts it.
  void script(const std::string& path, std::vector<Reply> replies);
  void set_handler(Handler handler);
  // How many requests requests() keeps (default 10 000); 0 keeps none, for
  // long-running servers whose request bodies are large (uploads).
  void set_request_log_limit(std::size_t limit);

  [[nodiscard]] std::uint64_t connections_accepted() const noexcept;
  [[nodiscard]] std::uint64_t requests_served() const noexcept;  // complete requests read
  // The requests received so far (the first 10 000), in arrival order.
  [[nodiscard]] std::vector<ServerRequest> requests() const;

 private:
  HttpServer() = default;
  void accept_loop();
  // One connection's life: read a request, answer it (or misbehave), repeat.
  void serve(int fd);
  // Acts out the reply's fault before anything is sent; false when that
  // closed the connection.
  bool apply_fault(int fd, Reply& reply);
  // Sends the reply; false when the connection was closed after it.
  bool send_reply(int fd, const Reply& reply, const ServerRequest& request);
  [[nodiscard]] Reply reply_for(const ServerRequest& request);
  void close_connection(int fd, bool reset);
  // Waits up to `d`; returns early (true) when the server is stopping.
  bool wait_or_stop(std::chrono::milliseconds d);

  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  int port_ = 0;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  Handler handler_;
  struct Script {
    std::vector<Reply> replies;
    std::size_t next = 0;
  };
  std::map<std::string, Script, std::less<>> scripts_;
  std::vector<ServerRequest> log_;
  std::size_t log_limit_ = 10000;
  std::vector<int> open_fds_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<bool> done;  // guarded by mu_
  };
  std::vector<Worker> workers_;
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> connection_ids_{0};
  std::thread acceptor_;
};

}  // namespace rebound::emulator
