// Private: one event thread driving one curl multi handle with
// curl_multi_socket_action over epoll, plus the timers for retry sleeps and
// hedges. AsyncClient owns one or a few of these and hands each request to
// one of them.
//
// The event thread is the only thread that touches the multi handle, the
// easy handles, the operations and the timers; other threads only push onto
// the submission queue (under a mutex) and write the eventfd.
//
// Thread safety: submit() and stop() are thread-safe; everything else runs
// on the event thread.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "curl_easy.hpp"
#include "rebound/http/async_client.hpp"
#include "rebound/retry/internal/retry_state.hpp"
#include "transfer.hpp"

namespace rebound::http::detail {

struct HedgeCounters {
  std::atomic<std::uint64_t> sent{0}, won{0}, denied{0}, cancelled{0};
};

// The last `window` successful attempt latencies of one host; p95
// (metrics::percentile, nearest rank) refreshed every 16 samples so arming a
// hedge stays O(1).
class LatencyWindow {
 public:
  explicit LatencyWindow(std::size_t window) : capacity_(window) {}
  void add(Duration d);
  [[nodiscard]] std::size_t samples() const noexcept { return samples_.size(); }
  [[nodiscard]] Duration p95() const noexcept { return p95_; }

 private:
  std::size_t capacity_;
  std::vector<double> samples_;  // nanoseconds
  std::size_t next_ = 0;
  std::uint64_t added_ = 0;
  Duration p95_{};
};

struct Op;

// One transfer: the first attempt, a retry, or a hedge.
struct Leg {
  Op* op = nullptr;
  std::unique_ptr<EasyHandle> handle;
  Transfer transfer;
  bool hedge = false;
  TimePoint started{};
};

// One request from submission to completion.
struct Op {
  Request request;
  Target target;
  Slist headers;
  bool idempotent = false;
  bool hedgeable = false;
  RetryPolicy policy;  // the client's, on_retry wrapped
  RetryOptions retry_options;
  std::optional<rebound::detail::RetryState> state;  // refers to `policy` and `retry_options`
  AsyncClient::Callback done;
  std::vector<std::unique_ptr<Leg>> legs;  // in flight: one, or two while hedged
  std::optional<std::multimap<TimePoint, Op*>::iterator> retry_timer, hedge_timer;
};

class MultiEngine {
 public:
  MultiEngine(const ClientOptions& options, const AsyncOptions& async, CURLSH* share,
              Counters& counters, HedgeCounters& hedges, std::size_t max_connections);
  ~MultiEngine();
  MultiEngine(const MultiEngine&) = delete;
  MultiEngine& operator=(const MultiEngine&) = delete;

  // False when the multi handle, epoll or eventfd could not be created.
  [[nodiscard]] bool ok() const noexcept { return multi_ != nullptr && epoll_ >= 0 && wake_ >= 0; }
  void start();
  // Queues an operation; completes it at once with the cancelled error when
  // the engine is stopping.
  void submit(std::unique_ptr<Op> op);
  // Cancels everything and joins the thread. Idempotent.
  void stop();

 private:
  void run();
  void wake();
  int wait_ms() const;
  void drain_submissions();
  void read_completions();
  void run_timers();
  void cancel_everything();

  void start_attempt(Op& op, bool hedge);
  void on_leg_done(Leg* leg, CURLcode code);
  void on_failure(Op& op, Error error);
  void fire_hedge(Op& op);
  void complete(Op& op, Result<Response> result);
  void cancel_leg(Leg& leg);
  [[nodiscard]] Duration hedge_delay(const Op& op) const;
  [[nodiscard]] std::unique_ptr<EasyHandle> take_handle();
  void drop_timer(std::optional<std::multimap<TimePoint, Op*>::iterator>& timer);

  static int on_socket(CURL* easy, curl_socket_t s, int what, void* self, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);

  const ClientOptions& options_;
  const AsyncOptions& async_;
  CURLSH* share_;
  Counters& counters_;
  HedgeCounters& hedges_;
  CURLM* multi_ = nullptr;
  int epoll_ = -1;
  int wake_ = -1;

  std::mutex mu_;
  std::vector<std::unique_ptr<Op>> submitted_;  // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
  std::thread::id thread_id_;

  // Event-thread state.
  std::unordered_map<Op*, std::unique_ptr<Op>> ops_;
  std::multimap<TimePoint, Op*> timers_;
  std::optional<TimePoint> curl_deadline_;
  std::vector<std::unique_ptr<EasyHandle>> idle_handles_;
  std::unordered_map<std::string, LatencyWindow> latencies_;
};

// The error a request gets when the client shuts down before it finished.
[[nodiscard]] Error cancelled_error(const std::string& shown);

}  // namespace rebound::http::detail
