// delay_server — a loopback HTTP/1.1 server for the async benchmarks that
// answers every request after a delay, on one epoll thread, so thousands of
// kept-alive connections cost it almost nothing:
//
//   delay_server [--delay-ms 100] [--stall-fraction 0.05 --stall-ms 200] [--seed 1]
//
// Prints {"port": P} on stdout, then serves 127.0.0.1:P until stdin closes.
// Every reply is "200 ok" after --delay-ms; a seeded --stall-fraction of
// replies (drawn per request, so a hedge of a stalled request is itself
// stalled with the same small probability) waits --stall-ms longer and says
// "stalled". Request bodies are not supported (GET/HEAD only).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int delay_ms = 100;
  double stall_fraction = 0;
  int stall_ms = 200;
  unsigned seed = 1;
};

struct Connection {
  std::string in;
  std::uint64_t generation = 0;
  bool waiting = false;  // a reply is scheduled; HTTP/1.1 clients send one request at a time
};

struct Due {
  Clock::time_point at;
  int fd;
  std::uint64_t generation;
  bool stalled;
  bool operator>(const Due& o) const { return at > o.at; }
};

constexpr char kOk[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
constexpr char kStalled[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\nstalled";

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--delay-ms") o.delay_ms = std::stoi(argv[i + 1]);
    if (flag == "--stall-fraction") o.stall_fraction = std::stod(argv[i + 1]);
    if (flag == "--stall-ms") o.stall_ms = std::stoi(argv[i + 1]);
    if (flag == "--seed") o.seed = static_cast<unsigned>(std::stoul(argv[i + 1]));
  }
  return o;
}

int listen_loopback(int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 4096) != 0) {
    std::perror("delay_server: bind/listen");
    std::exit(1);
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

class Server {
 public:
  explicit Server(Options o) : options_(o), rng_(o.seed) {}

  int run() {
    int port = 0;
    listen_fd_ = listen_loopback(port);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    watch(listen_fd_);
    watch(STDIN_FILENO);
    std::printf("{\"port\": %d}\n", port);
    std::fflush(stdout);
    std::vector<epoll_event> events(1024);
    for (;;) {
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), wait_ms());
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == STDIN_FILENO) {
          char buf[64];
          if (read(STDIN_FILENO, buf, sizeof buf) <= 0) return 0;
        } else if (fd == listen_fd_) {
          accept_all();
        } else {
          on_readable(fd);
        }
      }
      reply_due();
    }
  }

 private:
  void watch(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  }

  int wait_ms() const {
    if (due_.empty()) return -1;
    const auto left = due_.top().at - Clock::now();
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return ms < 0 ? 0 : static_cast<int>(ms);
  }

  void accept_all() {
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Connection& c = connections_[fd];
      c.in.clear();
      c.waiting = false;
      ++c.generation;
      watch(fd);
    }
  }

  void close_connection(int fd) {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    ++connections_[fd].generation;  // a scheduled reply to it is dropped
    connections_[fd].in.clear();
    connections_[fd].waiting = false;
  }

  void on_readable(int fd) {
    Connection& c = connections_[fd];
    char buf[4096];
    for (;;) {
      const ssize_t got = read(fd, buf, sizeof buf);
      if (got > 0) {
        c.in.append(buf, static_cast<std::size_t>(got));
        continue;
      }
      if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        close_connection(fd);
        return;
      }
      break;
    }
    schedule(fd, c);
  }

  void schedule(int fd, Connection& c) {
    if (c.waiting) return;
    const auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return;
    c.in.erase(0, end + 4);
    const bool stalled =
        std::uniform_real_distribution<double>(0, 1)(rng_) < options_.stall_fraction;
    const int ms = options_.delay_ms + (stalled ? options_.stall_ms : 0);
    c.waiting = true;
    due_.push({Clock::now() + std::chrono::milliseconds{ms}, fd, c.generation, stalled});
  }

  void reply_due() {
    const auto now = Clock::now();
    while (!due_.empty() && due_.top().at <= now) {
      const Due d = due_.top();
      due_.pop();
      Connection& c = connections_[d.fd];
      if (c.generation != d.generation) continue;  // closed since
      const char* reply = d.stalled ? kStalled : kOk;
      // A reply this small always fits an idle socket's send buffer.
      if (write(d.fd, reply, std::strlen(reply)) < 0) {
        close_connection(d.fd);
        continue;
      }
      c.waiting = false;
      schedule(d.fd, c);  // a request that arrived meanwhile
    }
  }

  Options options_;
  std::mt19937_64 rng_;
  int listen_fd_ = -1;
  int epoll_ = -1;
  std::unordered_map<int, Connection> connections_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
};

}  // namespace

int main(int argc, char** argv) { return Server(parse(argc, argv)).run(); }
