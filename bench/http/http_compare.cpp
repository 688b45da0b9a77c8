// http_compare — the rebound side of bench/http/compare.py. Each mode prints
// one JSON object on stdout:
//   http_compare serve                       start one nginx (HTTP + HTTPS), print its
//                                            URLs and CA file, run until stdin closes
//   http_compare seq URL N [CA] [--no-reuse|--new-client]
//                                            N sequential GETs on one client
//                                            (--no-reuse: a new connection per GET,
//                                            full TLS handshake, no resumption;
//                                            --new-client: a new client per GET,
//                                            the naive way: full TCP + TLS setup)
//   http_compare threads URL T N [CA]        N GETs shared by T threads on one client
//   http_compare async URL C N [CA] [E]      N GETs, C in flight on one AsyncClient
//                                            driven by E event threads (default 1)
// Latencies are measured around Client::send (so they include the pool lease,
// header parsing and retries) with steady_clock.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "rebound/http/async_client.hpp"
#include "rebound/http/client.hpp"
#include "rebound/testing/nginx_server.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1)))];
}

int serve() {
  auto nginx = rebound::testing::NginxServer::start({.worker_processes = 2});
  if (!nginx) {
    std::cerr << nginx.error().describe() << "\n";
    return 1;
  }
  std::cout << R"({"http":")" << (*nginx)->http_url("") << R"(","https":")"
            << (*nginx)->https_url("") << R"(","ca":")" << (*nginx)->ca_file() << "\"}"
            << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

std::shared_ptr<rebound::http::Client> make(const std::string& ca, bool reuse) {
  auto client = rebound::http::Client::make({.tls = {.ca_file = ca}, .reuse_connections = reuse});
  if (!client) {
    std::cerr << client.error().describe() << "\n";
    std::exit(1);
  }
  return *client;
}

int sequential(const std::string& url, int n, const std::string& ca, bool reuse, bool new_client) {
  auto client = make(ca, reuse);
  (void)client->get(url);  // warm-up: the connection and TLS session exist before timing
  std::vector<double> lat;
  lat.reserve(static_cast<std::size_t>(n));
  int failures = 0;
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    if (new_client) client = make(ca, reuse);
    auto r = client->get(url);
    lat.push_back(us_since(t0));
    if (!r || r->status != 200) ++failures;
  }
  const double secs = us_since(start) / 1e6;
  double sum = 0;
  for (double v : lat) sum += v;
  const auto s = client->stats();
  std::printf(
      "{\"requests\":%d,\"failures\":%d,\"seconds\":%.4f,\"rps\":%.1f,\"mean_us\":%.2f,"
      "\"p50_us\":%.2f,\"p99_us\":%.2f,\"reuse_rate\":%.5f,\"new_connections\":%llu}\n",
      n, failures, secs, n / secs, sum / n, pct(lat, 0.5), pct(lat, 0.99), s.reuse_rate(),
      static_cast<unsigned long long>(s.new_connections));
  return failures == 0 ? 0 : 1;
}

int threaded(const std::string& url, int threads, int n, const std::string& ca) {
  auto client = make(ca, true);
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      while (next.fetch_add(1, std::memory_order_relaxed) < n) {
        auto r = client->get(url);
        if (!r || r->status != 200) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : pool) th.join();
  const double secs = us_since(start) / 1e6;
  const auto s = client->stats();
  std::printf(
      "{\"requests\":%d,\"threads\":%d,\"failures\":%d,\"seconds\":%.4f,\"rps\":%.1f,"
      "\"reuse_rate\":%.5f,\"new_connections\":%llu,\"reused_connections\":%llu}\n",
      n, threads, failures.load(), secs, n / secs, s.reuse_rate(),
      static_cast<unsigned long long>(s.new_connections),
      static_cast<unsigned long long>(s.reused_connections));
  return failures.load() == 0 ? 0 : 1;
}

// C requests in flight: each completion (on an event thread) sends the next.
int in_flight(const std::string& url, int concurrency, int n, const std::string& ca,
              int event_threads) {
  auto made =
      rebound::http::AsyncClient::make({.max_connections = static_cast<std::size_t>(concurrency),
                                        .max_per_host = static_cast<std::size_t>(concurrency),
                                        .tls = {.ca_file = ca}},
                                       {.event_threads = static_cast<std::size_t>(event_threads)});
  if (!made) {
    std::cerr << made.error().describe() << "\n";
    return 1;
  }
  auto& client = **made;
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::promise<void> all_done;
  std::function<void()> send_next = [&] {
    if (next.fetch_add(1, std::memory_order_relaxed) >= n) return;
    client.send_async({.url = url}, [&](rebound::Result<rebound::http::Response> r) {
      if (!r || r->status != 200) failures.fetch_add(1);
      send_next();  // before counting: the last count ends the run
      if (done.fetch_add(1) + 1 == n) all_done.set_value();
    });
  };
  const auto start = Clock::now();
  for (int i = 0; i < std::min(concurrency, n); ++i) send_next();
  all_done.get_future().wait();
  const double secs = us_since(start) / 1e6;
  const auto s = client.stats();
  std::printf(
      "{\"requests\":%d,\"in_flight\":%d,\"event_threads\":%d,\"failures\":%d,"
      "\"seconds\":%.4f,\"rps\":%.1f,\"reuse_rate\":%.5f,\"new_connections\":%llu,"
      "\"reused_connections\":%llu}\n",
      n, concurrency, event_threads, failures.load(), secs, n / secs, s.reuse_rate(),
      static_cast<unsigned long long>(s.new_connections),
      static_cast<unsigned long long>(s.reused_connections));
  return failures.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  if (!a.empty() && a[0] == "serve") return serve();
  if (a.size() >= 3 && a[0] == "seq") {
    const bool reuse = std::find(a.begin(), a.end(), "--no-reuse") == a.end();
    const bool new_client = std::find(a.begin(), a.end(), "--new-client") != a.end();
    const std::string ca = a.size() >= 4 && !a[3].starts_with("--") ? a[3] : "";
    return sequential(a[1], std::stoi(a[2]), ca, reuse, new_client);
  }
  if (a.size() >= 4 && a[0] == "threads") {
    return threaded(a[1], std::stoi(a[2]), std::stoi(a[3]), a.size() >= 5 ? a[4] : "");
  }
  if (a.size() >= 4 && a[0] == "async") {
    return in_flight(a[1], std::stoi(a[2]), std::stoi(a[3]), a.size() >= 5 ? a[4] : "",
                     a.size() >= 6 ? std::stoi(a[5]) : 1);
  }
  std::cerr << "usage: http_compare serve | seq URL N [CA] [--no-reuse|--new-client] | threads URL "
               "T N [CA] | async URL C N [CA] [EVENT_THREADS]\n";
  return 2;
}
