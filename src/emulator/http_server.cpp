// HttpServer: an accept thread plus one thread per connection. Every open
// connection fd is listed under the mutex so the destructor can shutdown()
// them to unblock their recv(); a connection thread closes its own fd under
// the same mutex, so an fd number is never shut down after it was reused.
#include "rebound/emulator/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace rebound::emulator {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

// Sends all of `data`; false when the peer went away.
bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads more bytes into `buffer`; false on EOF or error.
bool read_more(int fd, std::string& buffer) {
  char chunk[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

// Decodes a chunked body from `buffer` (reading more from `fd` as needed) and
// drops the trailer; nullopt when the peer went away or a size is malformed.
std::optional<std::string> read_chunked(int fd, std::string& buffer) {
  std::string body;
  for (;;) {
    std::size_t line_end;
    while ((line_end = buffer.find("\r\n")) == std::string::npos) {
      if (buffer.size() > 4096 || !read_more(fd, buffer)) return std::nullopt;
    }
    char* end = nullptr;
    const unsigned long long size = std::strtoull(buffer.c_str(), &end, 16);
    if (end == buffer.c_str()) return std::nullopt;
    buffer.erase(0, line_end + 2);
    if (size == 0) {
      // Trailer section: header lines up to an empty line.
      for (;;) {
        while ((line_end = buffer.find("\r\n")) == std::string::npos) {
          if (buffer.size() > 65536 || !read_more(fd, buffer)) return std::nullopt;
        }
        const bool last = line_end == 0;
        buffer.erase(0, line_end + 2);
        if (last) return body;
      }
    }
    if (size > (std::size_t{1} << 31)) return std::nullopt;
    while (buffer.size() < size + 2) {
      if (!read_more(fd, buffer)) return std::nullopt;
    }
    body.append(buffer, 0, size);
    buffer.erase(0, size + 2);
  }
}

// Parses the head (request line + headers, without the blank line).
std::optional<ServerRequest> parse_head(std::string_view head) {
  ServerRequest request;
  auto line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return std::nullopt;
  request.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    request.query = std::string(target.substr(q + 1));
    target = target.substr(0, q);
  }
  request.path = std::string(target);
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    line = head.substr(0, line_end);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    request.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                 std::string(trim(line.substr(colon + 1))));
  }
  return request;
}

// Reads up to the blank line ending the head and parses it. nullopt when
// the peer went away, the head passed 1 MiB, or it does not parse (then a
// 400 was sent); the caller closes the connection.
std::optional<ServerRequest> read_head(int fd, std::string& buffer) {
  std::size_t head_end;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (buffer.size() > (std::size_t{1} << 20) || !read_more(fd, buffer)) return std::nullopt;
  }
  std::optional<ServerRequest> parsed = parse_head(std::string_view(buffer).substr(0, head_end));
  buffer.erase(0, head_end + 4);
  if (!parsed) {
    send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  }
  return parsed;
}

// Reads the body into request.body: chunked transfer coding, or
// Content-Length (none: empty), answering `Expect: 100-continue` first.
// False when the connection must close (peer gone, a bad chunk, or a
// transfer coding other than chunked — then a 501 was sent).
bool read_body(int fd, std::string& buffer, ServerRequest& request) {
  const std::optional<std::string> coding = request.header("Transfer-Encoding");
  const bool chunked = coding && iequals(*coding, "chunked");
  if (coding && !chunked) {
    send_all(fd, "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return false;
  }
  std::size_t content_length = 0;
  if (auto cl = request.header("Content-Length")) {
    content_length = static_cast<std::size_t>(std::strtoull(cl->c_str(), nullptr, 10));
  }
  if (auto expect = request.header("Expect"); expect && iequals(*expect, "100-continue")) {
    if (!send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) return false;
  }
  if (chunked) {
    std::optional<std::string> body = read_chunked(fd, buffer);
    if (!body) return false;
    request.body = std::move(*body);
    return true;
  }
  while (buffer.size() < content_length) {
    if (!read_more(fd, buffer)) return false;
  }
  request.body = buffer.substr(0, content_length);
  buffer.erase(0, content_length);
  return true;
}

// The next whole request on the connection, or nullopt to close it.
std::optional<ServerRequest> read_request(int fd, std::string& buffer) {
  std::optional<ServerRequest> request = read_head(fd, buffer);
  if (!request || !read_body(fd, buffer, *request)) return std::nullopt;
  return request;
}

// Status line and headers of `reply`, through the blank line: the reply's
// own headers (a Date added when it has none), its Content-Length, and
// `Connection: close` when `announce_close`.
std::string response_head(const Reply& reply, bool announce_close) {
  std::string out =
      "HTTP/1.1 " + std::to_string(reply.status) + " " + reason_phrase(reply.status) + "\r\n";
  bool has_date = false;
  for (const auto& [name, value] : reply.headers) {
    if (iequals(name, "Content-Length") || iequals(name, "Connection")) continue;
    has_date = has_date || iequals(name, "Date");
    out += name + ": " + value + "\r\n";
  }
  if (!has_date) out += "Date: " + http_date(std::chrono::system_clock::now()) + "\r\n";
  out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
  if (announce_close) out += "Connection: close\r\n";
  return out + "\r\n";
}

}  // namespace

std::optional<std::string> ServerRequest::header(std::string_view name) const {
  return find_header(headers, name);
}

Reply Reply::text(int status, std::string body) {
  Reply r;
  r.status = status;
  r.headers = {{"Content-Type", "text/plain"}};
  r.body = std::move(body);
  return r;
}

Reply Reply::status_only(int status) {
  Reply r;
  r.status = status;
  return r;
}

Reply Reply::retry_after(std::string value, int status) {
  Reply r;
  r.status = status;
  r.headers = {{"Retry-After", std::move(value)}};
  return r;
}

Reply Reply::with_fault(Fault fault) {
  Reply r = text(200, "this body is forty bytes long, honestly!");
  r.fault = fault;
  return r;
}

std::string http_date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char out[40];
  std::snprintf(out, sizeof out, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return out;
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(Handler handler) {
  return start_on(0, std::move(handler));
}

Result<std::unique_ptr<HttpServer>> HttpServer::start_on(int port, Handler handler) {
  if (port < 0 || port > 65535) {
    return fail(Error::permanent("HttpServer: port " + std::to_string(port) +
                                 " is out of range (0-65535)"));
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->handler_ = std::move(handler);
  if (::pipe(server->wake_pipe_) != 0) {
    return fail(
        Error::permanent(std::string("HttpServer: pipe() failed: ") + std::strerror(errno)));
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(
        Error::permanent(std::string("HttpServer: socket() failed: ") + std::strerror(errno)));
  }
  server->listen_fd_ = fd;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return fail(Error::permanent("HttpServer: cannot listen on 127.0.0.1:" + std::to_string(port) +
                                 ": " + std::strerror(errno)));
  }
  server->port_ = ntohs(addr.sin_port);
  server->acceptor_ = std::thread([s = server.get()] { s->accept_loop(); });
  return server;
}

HttpServer::~HttpServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    // Unblocks every recv()/send() in the connection threads.
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  stop_cv_.notify_all();
  if (wake_pipe_[1] >= 0) {
    const char byte = 'x';
    [[maybe_unused]] const ssize_t n = ::write(wake_pipe_[1], &byte, 1);
  }
  if (acceptor_.joinable()) acceptor_.join();
  // The acceptor is gone, so workers_ no longer grows.
  for (Worker& w : workers_) {
    if (w.thread.joinable()) w.thread.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

std::string HttpServer::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void HttpServer::script(const std::string& path, std::vector<Reply> replies) {
  std::lock_guard lock(mu_);
  scripts_[path] = Script{.replies = std::move(replies), .next = 0};
}

void HttpServer::set_request_log_limit(std::size_t limit) {
  std::lock_guard lock(mu_);
  log_limit_ = limit;
}

void HttpServer::set_handler(Handler handler) {
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

std::uint64_t HttpServer::connections_accepted() const noexcept {
  return connections_.load(std::memory_order_acquire);
}

std::uint64_t HttpServer::requests_served() const noexcept {
  return requests_.load(std::memory_order_acquire);
}

std::vector<ServerRequest> HttpServer::requests() const {
  std::lock_guard lock(mu_);
  return log_;
}

void HttpServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    const int ready = ::poll(fds, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0 || (fds[1].revents & POLLIN) != 0) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    connections_.fetch_add(1, std::memory_order_acq_rel);
    // Reap finished connection threads so a long test does not pile them up.
    std::erase_if(workers_, [](Worker& w) {
      if (!*w.done) return false;
      w.thread.join();
      return true;
    });
    open_fds_.push_back(fd);
    auto done = std::make_shared<bool>(false);
    workers_.push_back(Worker{.thread = std::thread([this, fd, done] {
                                serve(fd);
                                std::lock_guard inner(mu_);
                                *done = true;
                              }),
                              .done = done});
  }
}

void HttpServer::close_connection(int fd, bool reset) {
  std::lock_guard lock(mu_);
  if (reset) {
    const linger hard{.l_onoff = 1, .l_linger = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  ::close(fd);
  std::erase(open_fds_, fd);
}

bool HttpServer::wait_or_stop(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return stop_cv_.wait_for(lock, d, [this] { return stopping_; });
}

Reply HttpServer::reply_for(const ServerRequest& request) {
  Handler handler;
  {
    std::lock_guard lock(mu_);
    if (log_.size() < log_limit_) log_.push_back(request);
    if (auto it = scripts_.find(request.path);
        it != scripts_.end() && !it->second.replies.empty()) {
      Script& s = it->second;
      Reply r = s.replies[std::min(s.next, s.replies.size() - 1)];
      if (s.next < s.replies.size()) ++s.next;
      return r;
    }
    handler = handler_;
  }
  if (!handler) return Reply::text(404, "no route for " + request.path + "\n");
  return handler(request);
}

void HttpServer::serve(int fd) {
  std::string buffer;
  const std::uint64_t connection = connection_ids_.fetch_add(1, std::memory_order_relaxed) + 1;
  for (std::uint64_t on_connection = 0;; ++on_connection) {
    std::optional<ServerRequest> request = read_request(fd, buffer);
    if (!request) {
      close_connection(fd, false);
      return;
    }
    request->connection = connection;
    request->on_connection = on_connection;
    requests_.fetch_add(1, std::memory_order_acq_rel);
    Reply reply = reply_for(*request);
    if (!apply_fault(fd, reply) || !send_reply(fd, reply, *request)) return;
  }
}

bool HttpServer::apply_fault(int fd, Reply& reply) {
  switch (reply.fault) {
    case Fault::drop:
      close_connection(fd, false);
      return false;
    case Fault::reset:
      close_connection(fd, true);
      return false;
    case Fault::delay:
      if (wait_or_stop(reply.stall_for)) {
        close_connection(fd, false);
        return false;
      }
      return true;
    case Fault::stall:
      wait_or_stop(reply.stall_for);
      close_connection(fd, false);
      return false;
    case Fault::malformed_status:
      send_all(fd, "HTTP/1.1 abc\r\n\r\n");
      close_connection(fd, false);
      return false;
    case Fault::oversized_body:
      reply.body.assign(reply.oversized_bytes, 'x');
      return true;
    case Fault::none:
    case Fault::close_after:
    case Fault::reset_mid_body:
      return true;
  }
  return true;
}

bool HttpServer::send_reply(int fd, const Reply& reply, const ServerRequest& request) {
  const bool head = request.method == "HEAD";
  const bool client_closes =
      request.header("Connection")
          .transform([](const std::string& v) { return iequals(v, "close"); })
          .value_or(false);
  // close_after closes without announcing it (no "Connection: close"), as
  // a server whose keep-alive timer fired does: the client only learns on reuse.
  const bool close_after =
      reply.fault == Fault::close_after || reply.fault == Fault::oversized_body || client_closes;
  const bool announce_close = client_closes || reply.fault == Fault::oversized_body;
  std::string out = response_head(reply, announce_close);
  if (reply.fault == Fault::reset_mid_body) {
    if (!head) out += std::string_view(reply.body).substr(0, reply.body.size() / 2);
    send_all(fd, out);
    close_connection(fd, true);
    return false;
  }
  if (!head) out += reply.body;
  if (!send_all(fd, out) || close_after) {
    close_connection(fd, false);
    return false;
  }
  return true;
}

}  // namespace rebound::emulator
