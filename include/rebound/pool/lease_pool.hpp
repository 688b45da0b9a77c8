// LeasePool<T> — a bounded pool of connections handed out as RAII leases.
//
// At most `max_size` connections live at once (idle + leased + being
// created). acquire() hands out the most recently returned idle connection,
// creates a new one while there is room, or blocks until one comes back or
// `acquire_timeout` passes, then fails with a clear, transient error:
//
//   pool "pg main" exhausted: all 8 connections in use for 5000 ms (waited 5000 ms);
//   raise max_size or release leases sooner
//
// Connections idle longer than `validate_after_idle` are validated before
// hand-out, connections older than `max_lifetime` are retired, and a lease
// marked broken is evicted on return instead of reused — so a database
// restart heals by itself: broken connections are dropped, create() fails
// while the server is down (the slot is freed, the error propagates), and
// succeeds again once it is back.
//
//   auto pool = rebound::pool::LeasePool<PgConn>::make(
//       {.name = "pg main", .max_size = 8},
//       {.create = [&] { return PgConn::connect(url); },
//        .validate = [](PgConn& c) { return c.ping(); }}).value();
//   if (auto lease = pool->acquire()) {
//     if (!(*lease)->exec(sql)) lease->mark_broken();
//   }  // the connection returns to the pool here
//
// States (see docs/pool.md): connecting (a counted slot, no object yet) ->
// idle <-> leased -> closing (evicted, destructor running outside the lock;
// still holds its slot) -> gone. idle and leased each have a list; every
// transition happens under one mutex, so stats() is consistent.
//
// Thread safety: thread-safe. All methods may be called from any thread; a
// Lease is owned by one thread at a time (it may move between threads). The
// hooks run outside the pool's lock and must be thread-safe; create() may run
// on several threads at once. Blocking uses std::condition_variable with a
// real steady_clock deadline; the injected Clock only decides ages (idle,
// lifetime, leaks), so tests drive those with a FakeClock.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"
#include "rebound/pool/pool_stats.hpp"

namespace rebound::pool {

struct LeasePoolOptions {
  std::string name = "pool";  // appears in errors and metrics
  std::size_t max_size = 10;  // max live connections (idle + leased + connecting + closing)
  Duration acquire_timeout = std::chrono::seconds{5};
  Duration validate_after_idle = std::chrono::seconds{30};  // validate a conn idle longer than this
  Duration max_lifetime = std::chrono::minutes{30};         // retire connections older than this
  Duration leak_threshold = std::chrono::seconds{60};       // a lease held longer is reported
  Clock* clock = nullptr;       // ages, idle time, leaks; default detail::coarse_clock()
  std::size_t max_waiters = 0;  // blocked acquires allowed at once; 0 = unlimited
};

template <class T>
struct LeasePoolHooks {
  std::function<Result<std::unique_ptr<T>>()> create;  // required; returns Error on failure
  std::function<bool(T&)> validate;                    // optional; false => evict, create another
  std::function<void(std::string_view pool, Duration held)> on_leak;  // optional
};

// The state a pooled connection is in; the pool keeps one list per state
// that holds an object (connecting is a counted slot while create() runs).
enum class ConnectionState : std::uint8_t { connecting, idle, leased, closing };

namespace detail {

template <class T>
struct PooledConnection {
  std::unique_ptr<T> conn;
  TimePoint created_at{};
  TimePoint last_used{};  // idle since (state idle) or leased at (state leased)
  ConnectionState state = ConnectionState::idle;
  bool leak_reported = false;
};

// Non-template parts, in src/pool/lease_pool.cpp.

// CLOCK_MONOTONIC_COARSE: same time base as steady_clock, ~4 ms resolution,
// ~7 ns a read instead of ~30 ns. Ages of seconds and minutes need no more;
// the pool reads the clock twice per lease, so this halves its hot path.
[[nodiscard]] Clock& coarse_clock() noexcept;
[[nodiscard]] Status validate_options(const LeasePoolOptions& o, bool has_create);
[[nodiscard]] Error timeout_error(const LeasePoolOptions& o, Duration waited);
[[nodiscard]] Error overflow_error(const LeasePoolOptions& o, std::size_t waiting);
[[nodiscard]] Error closed_error(const LeasePoolOptions& o);
[[nodiscard]] Error broken_error(const LeasePoolOptions& o, std::string_view why);

}  // namespace detail

template <class T>
class LeasePool;

// A connection on loan. Move-only; returns the connection when destroyed (or
// on release()). Dereferencing an empty (moved-from, released) lease is a bug.
template <class T>
class Lease {
 public:
  Lease() = default;
  Lease(Lease&& other) noexcept { swap(other); }
  Lease& operator=(Lease&& other) noexcept {
    if (this != &other) {
      release();
      swap(other);
    }
    return *this;
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() { release(); }

  [[nodiscard]] T& operator*() const noexcept { return *conn_; }
  [[nodiscard]] T* operator->() const noexcept { return conn_; }
  [[nodiscard]] T* get() const noexcept { return conn_; }
  explicit operator bool() const noexcept { return conn_ != nullptr; }

  // The connection is unusable (lost, protocol error): on return it is
  // destroyed and evicted instead of reused, freeing its slot.
  void mark_broken() noexcept { broken_ = true; }
  [[nodiscard]] bool broken() const noexcept { return broken_; }

  // Returns the connection now; the lease becomes empty. Idempotent.
  void release() noexcept;

 private:
  friend class LeasePool<T>;
  using Iterator = typename std::list<detail::PooledConnection<T>>::iterator;

  Lease(std::shared_ptr<LeasePool<T>> pool, Iterator it) noexcept
      : pool_(std::move(pool)), it_(it), conn_(it->conn.get()) {}

  void swap(Lease& other) noexcept {
    std::swap(pool_, other.pool_);
    std::swap(it_, other.it_);
    std::swap(conn_, other.conn_);
    std::swap(broken_, other.broken_);
  }

  std::shared_ptr<LeasePool<T>> pool_;  // keeps the pool alive while leased
  Iterator it_{};
  T* conn_ = nullptr;
  bool broken_ = false;
};

template <class T>
class LeasePool : public std::enable_shared_from_this<LeasePool<T>> {
  struct PrivateTag {};

 public:
  // Validates the options (max_size >= 1, non-negative durations, a create
  // hook) and returns a pool, or a permanent Error naming the bad value.
  // No connection is created until the first acquire().
  [[nodiscard]] static Result<std::shared_ptr<LeasePool>> make(LeasePoolOptions options,
                                                               LeasePoolHooks<T> hooks);

  // Returns a lease, waiting up to `timeout` (real time) for a connection.
  // Errors: PoolFailure::timeout / overflow (transient), PoolFailure::closed
  // (permanent), PoolFailure::broken (create() threw or returned null), or
  // create()'s own Error unchanged. A failed create() frees its slot, so a
  // later acquire retries. A timeout of zero never blocks.
  [[nodiscard]] Result<Lease<T>> acquire(Duration timeout);
  [[nodiscard]] Result<Lease<T>> acquire() { return acquire(options_.acquire_timeout); }

  // Counters and gauges, consistent with each other (one lock).
  [[nodiscard]] PoolStats stats() const;

  // No new leases (acquire fails with PoolFailure::closed, waiters wake up);
  // idle connections are destroyed now, leased ones when they come back.
  void close();

  // Reports (on_leak + stats().leaks) every lease held longer than
  // leak_threshold, once per lease. acquire() does a cheap version of this.
  void check_leaks();

  [[nodiscard]] const LeasePoolOptions& options() const noexcept { return options_; }

  LeasePool(PrivateTag, LeasePoolOptions options, LeasePoolHooks<T> hooks)
      : options_(std::move(options)),
        hooks_(std::move(hooks)),
        clock_(options_.clock ? options_.clock : &detail::coarse_clock()) {
    counters_.max_size = options_.max_size;
  }
  LeasePool(const LeasePool&) = delete;
  LeasePool& operator=(const LeasePool&) = delete;
  ~LeasePool() = default;  // leases hold the pool, so only idle connections remain

 private:
  friend class Lease<T>;
  using List = std::list<detail::PooledConnection<T>>;
  using Iterator = typename List::iterator;

  void give_back(Iterator it, bool broken) noexcept;
  // acquire()'s steps; both enter and leave with `lock` held.
  // 1. Hands out an idle connection (most recently used first), evicting
  //    expired ones and validating one idle too long (outside the lock).
  //    nullopt: no idle connection is left; `restart` set: a validation
  //    failed while unlocked, so look at the whole state again.
  [[nodiscard]] std::optional<Result<Lease<T>>> take_idle(std::unique_lock<std::mutex>& lock,
                                                          TimePoint& now, bool& restart,
                                                          std::vector<std::unique_ptr<T>>& doomed);
  // 2. Creates a connection in a slot reserved by the caller (create() runs
  //    outside the lock) and leases it, or returns why not.
  [[nodiscard]] Result<Lease<T>> create_leased(std::unique_lock<std::mutex>& lock,
                                               std::vector<std::unique_ptr<T>>& doomed);
  [[nodiscard]] std::size_t live_locked() const noexcept {
    return idle_.size() + leased_.size() + connecting_ + closing_;
  }
  // Moves newly leaked leases' held times into `out`; `full` scans every
  // lease, otherwise stops at the first young one (leased_ is in lease order).
  void collect_leaks_locked(TimePoint now, bool full, std::vector<Duration>& out);
  void report_leaks(const std::vector<Duration>& held) const;
  void evict_locked(Iterator it, List& from, std::uint64_t PoolStats::*reason,
                    std::vector<std::unique_ptr<T>>& doomed);
  // A connection leaving the pool keeps its slot (state closing) until its
  // destructor has run, outside the lock: the server still counts it.
  void retire_locked(std::unique_ptr<T> conn, std::vector<std::unique_ptr<T>>& doomed);
  void destroy_retired(std::vector<std::unique_ptr<T>>& doomed) noexcept;

  const LeasePoolOptions options_;
  const LeasePoolHooks<T> hooks_;
  Clock* const clock_;

  mutable std::mutex mu_;
  std::condition_variable available_;  // a connection came back or a slot was freed
  List idle_;    // state idle; most recently returned first (hot connections stay hot)
  List leased_;  // state leased; in lease order, oldest first
  std::size_t connecting_ = 0;
  std::size_t closing_ = 0;  // retired, being destroyed outside the lock
  std::size_t waiting_ = 0;
  bool closed_ = false;
  PoolStats counters_;  // counters only; gauges are filled in by stats()
};

}  // namespace rebound::pool

#include "rebound/pool/internal/lease_pool_impl.hpp"
