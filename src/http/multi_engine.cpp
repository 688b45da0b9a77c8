#include "multi_engine.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "rebound/metrics/summary.hpp"

namespace rebound::http::detail {
namespace {

using Clock = std::chrono::steady_clock;

long to_ms(Duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

}  // namespace

Error cancelled_error(const std::string& shown) {
  return Error::make(ErrorClass::non_retriable,
                     shown + ": cancelled: the async HTTP client shut down before it finished",
                     "rebound", "cancelled");
}

void LatencyWindow::add(Duration d) {
  // Whole nanoseconds as doubles: exact up to 2^53 ns (104 days), so the
  // percentile, always an observed value, converts back without rounding.
  const auto ns = static_cast<double>(d.count());
  if (samples_.size() < capacity_) {
    samples_.push_back(ns);
  } else {
    samples_[next_] = ns;
    next_ = (next_ + 1) % capacity_;
  }
  // Refreshing on every sample would make each completion O(window). The
  // one percentile of the reports (nearest rank) decides the hedge delay too.
  if (++added_ % 16 == 1 || samples_.size() < 16) {
    p95_ = Duration{static_cast<Duration::rep>(metrics::percentile(samples_, 0.95))};
  }
}

MultiEngine::MultiEngine(const ClientOptions& options, const AsyncOptions& async, CURLSH* share,
                         Counters& counters, HedgeCounters& hedges, std::size_t max_connections)
    : options_(options), async_(async), share_(share), counters_(counters), hedges_(hedges) {
  multi_ = curl_multi_init();
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (!ok()) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_;
  epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &MultiEngine::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &MultiEngine::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // Transfers beyond these limits wait inside curl for a connection; the
  // cache keeps every allowed connection alive for reuse.
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(max_connections));
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(std::min(options.max_per_host, max_connections)));
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(max_connections));
}

MultiEngine::~MultiEngine() {
  stop();
  idle_handles_.clear();  // easy handles go before the multi handle
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
  if (epoll_ >= 0) close(epoll_);
  if (wake_ >= 0) close(wake_);
}

void MultiEngine::start() {
  thread_ = std::thread([this] { run(); });
  thread_id_ = thread_.get_id();
}

void MultiEngine::wake() {
  const std::uint64_t one = 1;
  // A full counter (EAGAIN) already means "wake up": nothing to do.
  [[maybe_unused]] const auto n = write(wake_, &one, sizeof one);
}

void MultiEngine::submit(std::unique_ptr<Op> op) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      submitted_.push_back(std::move(op));
      op = nullptr;
    }
  }
  if (op) {
    counters_.failures.fetch_add(1, std::memory_order_relaxed);
    op->done(fail(cancelled_error(op->target.shown)));
    return;
  }
  // On the event thread (a callback chaining requests) the loop drains the
  // queue before it waits again, so no syscall is needed.
  if (std::this_thread::get_id() != thread_id_) wake();
}

void MultiEngine::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_requested_.store(true, std::memory_order_release);
  if (thread_.joinable()) {
    wake();
    thread_.join();
  }
}

int MultiEngine::wait_ms() const {
  std::optional<TimePoint> next = curl_deadline_;
  if (!timers_.empty() && (!next || timers_.begin()->first < *next)) next = timers_.begin()->first;
  if (!next) return -1;
  const Duration left = *next - Clock::now();
  if (left <= Duration::zero()) return 0;
  // Round up: waking a little early would spin until the deadline.
  return static_cast<int>(std::min<long>(to_ms(left + std::chrono::microseconds{999}), 60'000));
}

void MultiEngine::run() {
  std::array<epoll_event, 256> events{};
  int running = 0;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    drain_submissions();
    const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), wait_ms());
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == wake_) {
        std::uint64_t count = 0;
        [[maybe_unused]] const auto r = read(wake_, &count, sizeof count);
        continue;
      }
      const std::uint32_t e = events[static_cast<std::size_t>(i)].events;
      int flags = 0;
      if ((e & EPOLLIN) != 0) flags |= CURL_CSELECT_IN;
      if ((e & EPOLLOUT) != 0) flags |= CURL_CSELECT_OUT;
      if ((e & (EPOLLERR | EPOLLHUP)) != 0) flags |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi_, fd, flags, &running);
    }
    if (curl_deadline_ && Clock::now() >= *curl_deadline_) {
      curl_deadline_.reset();
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    read_completions();
    run_timers();
  }
  cancel_everything();
}

void MultiEngine::drain_submissions() {
  std::vector<std::unique_ptr<Op>> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(submitted_);
  }
  for (auto& owned : batch) {
    Op& op = *owned;
    ops_.emplace(&op, std::move(owned));
    op.retry_options = RetryOptions{.operation = {},
                                    .clock = options_.clock,
                                    .sleeper = options_.sleeper,
                                    .seed = options_.seed};
    op.state.emplace(op.policy, op.retry_options);
    start_attempt(op, false);
  }
}

std::unique_ptr<EasyHandle> MultiEngine::take_handle() {
  if (idle_handles_.empty()) return std::make_unique<EasyHandle>();
  auto handle = std::move(idle_handles_.back());
  idle_handles_.pop_back();
  return handle;
}

Duration MultiEngine::hedge_delay(const Op& op) const {
  if (async_.hedge.use_host_p95) {
    const auto it = latencies_.find(op.target.host_port);
    if (it != latencies_.end() && it->second.samples() >= async_.hedge.min_samples)
      return std::max(it->second.p95(), Duration{std::chrono::milliseconds{1}});
  }
  return async_.hedge.delay;
}

void MultiEngine::start_attempt(Op& op, bool hedge) {
  const Attempt attempt = op.state->begin_attempt();
  const Duration timeout = std::min(op.request.timeout.value_or(options_.total_timeout),
                                    attempt.time_left.value_or(options_.total_timeout));
  auto leg = std::make_unique<Leg>();
  leg->op = &op;
  leg->hedge = hedge;
  leg->handle = take_handle();
  if (leg->handle->curl == nullptr) {
    on_failure(op,
               Error::transient("curl_easy_init failed (out of memory?) for " + op.target.shown));
    return;
  }
  leg->transfer.limit = options_.max_response_bytes;
  configure_attempt(*leg->handle, options_, share_, op.request, op.headers, leg->transfer, timeout);
  curl_easy_setopt(leg->handle->curl, CURLOPT_PRIVATE, leg.get());
  leg->started = Clock::now();
  counters_.attempts.fetch_add(1, std::memory_order_relaxed);
  if (hedge) hedges_.sent.fetch_add(1, std::memory_order_relaxed);
  curl_multi_add_handle(multi_, leg->handle->curl);
  op.legs.push_back(std::move(leg));
  if (!hedge && op.hedgeable && async_.hedge.enabled) {
    op.hedge_timer = timers_.emplace(Clock::now() + hedge_delay(op), &op);
  }
}

void MultiEngine::read_completions() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    void* leg = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &leg);
    const CURLcode code = msg->data.result;
    curl_multi_remove_handle(multi_, msg->easy_handle);
    on_leg_done(static_cast<Leg*>(leg), code);
  }
}

void MultiEngine::on_leg_done(Leg* leg_ptr, CURLcode code) {
  Op& op = *leg_ptr->op;
  const auto it = std::find_if(op.legs.begin(), op.legs.end(),
                               [&](const auto& l) { return l.get() == leg_ptr; });
  std::unique_ptr<Leg> leg = std::move(*it);
  op.legs.erase(it);
  Result<Response> result = finish_attempt(
      leg->handle->curl, code, leg->transfer, op.request, op.target, op.idempotent, options_,
      counters_, options_.clock != nullptr ? *options_.clock : steady_clock());
  idle_handles_.push_back(std::move(leg->handle));
  if (result) {
    if (async_.hedge.use_host_p95) {
      latencies_.try_emplace(op.target.host_port, async_.hedge.window)
          .first->second.add(Clock::now() - leg->started);
    }
    if (leg->hedge) hedges_.won.fetch_add(1, std::memory_order_relaxed);
    op.state->on_success();
    result->attempts = op.state->report().attempts;
    complete(op, std::move(result));
    return;
  }
  // While the other leg of a hedged pair is still running, a retriable
  // failure of this one is not the answer: the other may still succeed.
  if (!op.legs.empty() && result.error().retriable()) return;
  on_failure(op, std::move(result).error());
}

void MultiEngine::on_failure(Op& op, Error error) {
  drop_timer(op.hedge_timer);
  if (!op.legs.empty()) {
    complete(op, fail(std::move(error)));  // non-retriable while a hedge runs: it is the answer
    return;
  }
  std::optional<Duration> delay = op.state->on_failure(error);
  if (!delay) {
    complete(op, fail(std::move(error)));
    return;
  }
  if (options_.sleeper != nullptr) {
    // Injected sleeper (tests): it records the delay (and advances a fake
    // clock) without blocking; the retry starts at once.
    if (!op.state->sleep(*delay, error)) {
      complete(op, fail(std::move(error)));
      return;
    }
    start_attempt(op, false);
    return;
  }
  op.retry_timer = timers_.emplace(Clock::now() + *delay, &op);
}

void MultiEngine::fire_hedge(Op& op) {
  if (op.legs.size() != 1) return;
  const RetryPolicy& policy = op.policy;
  if ((policy.max_attempts > 0 && op.state->report().attempts >= policy.max_attempts) ||
      (policy.budget && !policy.budget->try_spend())) {
    hedges_.denied.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  start_attempt(op, true);
}

void MultiEngine::run_timers() {
  const TimePoint now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const auto it = timers_.begin();
    Op& op = *it->second;
    const bool is_retry = op.retry_timer && *op.retry_timer == it;
    timers_.erase(it);
    if (is_retry) {
      op.retry_timer.reset();
      start_attempt(op, false);
    } else {
      op.hedge_timer.reset();
      fire_hedge(op);
    }
  }
}

void MultiEngine::drop_timer(std::optional<std::multimap<TimePoint, Op*>::iterator>& timer) {
  if (!timer) return;
  timers_.erase(*timer);
  timer.reset();
}

void MultiEngine::cancel_leg(Leg& leg) {
  curl_multi_remove_handle(multi_, leg.handle->curl);
  idle_handles_.push_back(std::move(leg.handle));
}

void MultiEngine::complete(Op& op, Result<Response> result) {
  drop_timer(op.hedge_timer);
  drop_timer(op.retry_timer);
  for (auto& loser : op.legs) {
    cancel_leg(*loser);
    hedges_.cancelled.fetch_add(1, std::memory_order_relaxed);
  }
  op.legs.clear();
  if (!result) counters_.failures.fetch_add(1, std::memory_order_relaxed);
  const auto node = ops_.extract(&op);
  // The callback may submit more work; the op is already off the books.
  node.mapped()->done(std::move(result));
}

void MultiEngine::cancel_everything() {
  // stopping_ is set, so nothing more can be queued after this swap.
  std::vector<std::unique_ptr<Op>> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(submitted_);
  }
  for (auto& op : batch) {
    counters_.failures.fetch_add(1, std::memory_order_relaxed);
    op->done(fail(cancelled_error(op->target.shown)));
  }
  while (!ops_.empty()) {
    Op& op = *ops_.begin()->second;
    complete(op, fail(cancelled_error(op.target.shown)));
  }
}

int MultiEngine::on_socket(CURL*, curl_socket_t s, int what, void* self, void* socketp) {
  auto* engine = static_cast<MultiEngine*>(self);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(engine->epoll_, EPOLL_CTL_DEL, s, nullptr);  // EBADF if curl closed it first: fine
    curl_multi_assign(engine->multi_, s, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
  ev.data.fd = s;
  if (socketp == nullptr) {
    if (epoll_ctl(engine->epoll_, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST)
      epoll_ctl(engine->epoll_, EPOLL_CTL_MOD, s, &ev);
    curl_multi_assign(engine->multi_, s, engine);
  } else if (epoll_ctl(engine->epoll_, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
    epoll_ctl(engine->epoll_, EPOLL_CTL_ADD, s, &ev);
  }
  return 0;
}

int MultiEngine::on_timer(CURLM*, long timeout_ms, void* self) {
  auto* engine = static_cast<MultiEngine*>(self);
  if (timeout_ms < 0) {
    engine->curl_deadline_.reset();
  } else {
    engine->curl_deadline_ = Clock::now() + std::chrono::milliseconds{timeout_ms};
  }
  return 0;
}

}  // namespace rebound::http::detail
