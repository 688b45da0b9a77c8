// Template definitions for LeasePool<T> and Lease<T>; included by
// lease_pool.hpp only. See that header for the contract.
//
// Thread safety: as LeasePool — every list and counter is guarded by mu_.
#pragma once

#include <algorithm>
#include <exception>
#include <vector>

#include "rebound/pool/lease_pool.hpp"

namespace rebound::pool {

template <class T>
void Lease<T>::release() noexcept {
  if (!pool_) return;
  std::shared_ptr<LeasePool<T>> pool = std::move(pool_);
  conn_ = nullptr;
  pool->give_back(it_, broken_);
  broken_ = false;
  // `pool` may be the last owner: the pool is destroyed here, after the return.
}

template <class T>
Result<std::shared_ptr<LeasePool<T>>> LeasePool<T>::make(LeasePoolOptions options,
                                                         LeasePoolHooks<T> hooks) {
  if (auto ok = detail::validate_options(options, static_cast<bool>(hooks.create)); !ok) {
    return fail(std::move(ok.error()));
  }
  return std::make_shared<LeasePool<T>>(PrivateTag{}, std::move(options), std::move(hooks));
}

template <class T>
Result<Lease<T>> LeasePool<T>::acquire(Duration timeout) {
  using Real = std::chrono::steady_clock;
  // The wait uses the real clock: a FakeClock never advances on its own, so
  // a deadline on it could never pass. Clamp so now + timeout cannot overflow.
  // It is read only once the pool is full (a read costs ~20 ns), so the
  // timeout bounds the time spent waiting for a connection.
  const Duration bounded =
      std::clamp(timeout, Duration::zero(), Duration{std::chrono::hours{24 * 365}});
  Real::time_point start{};
  Real::time_point deadline{};
  bool deadline_set = false;

  std::vector<std::unique_ptr<T>> doomed;  // destroyed after the lock is released
  std::vector<Duration> leaks;
  bool blocked = false;

  TimePoint now = clock_->now();
  std::unique_lock lock(mu_);
  collect_leaks_locked(now, /*full=*/false, leaks);

  // Every exit goes through here: account the wait, unlock, then run the
  // slow parts (destructors, hooks) outside the lock.
  auto finish = [&](Result<Lease<T>> out) -> Result<Lease<T>> {
    if (blocked) counters_.wait_time += Real::now() - start;
    lock.unlock();
    destroy_retired(doomed);
    report_leaks(leaks);
    return out;
  };

  for (;;) {
    if (closed_) return finish(fail(detail::closed_error(options_)));

    // 1. An idle connection, most recently used first.
    bool restart = false;
    if (auto taken = take_idle(lock, now, restart, doomed)) return finish(std::move(*taken));
    if (restart) continue;
    if (!doomed.empty()) {
      // Evicted connections hold their slots until destroyed (the server
      // still counts them); destroy them, then look again.
      lock.unlock();
      destroy_retired(doomed);
      lock.lock();
      continue;
    }

    // 2. Room for a new connection: reserve the slot, create outside the lock.
    if (live_locked() < options_.max_size) {
      ++connecting_;
      return finish(create_leased(lock, doomed));
    }

    // 3. Full: wait for a return or a freed slot, until the real deadline.
    const Real::time_point real_now = Real::now();
    if (!deadline_set) {
      deadline_set = true;
      start = real_now;
      deadline = start + bounded;
    }
    if (real_now >= deadline) {
      ++counters_.timeouts;
      return finish(fail(detail::timeout_error(options_, real_now - start)));
    }
    if (options_.max_waiters != 0 && waiting_ >= options_.max_waiters) {
      ++counters_.overflows;
      return finish(fail(detail::overflow_error(options_, waiting_)));
    }
    if (!blocked) {
      blocked = true;
      ++counters_.waits;
    }
    ++waiting_;
    available_.wait_until(lock, deadline);
    --waiting_;
    now = clock_->now();
    // Loop: no FIFO hand-off, so re-check everything (spurious wake-ups,
    // another thread taking the connection first, close()).
  }
}

template <class T>
std::optional<Result<Lease<T>>> LeasePool<T>::take_idle(std::unique_lock<std::mutex>& lock,
                                                        TimePoint& now, bool& restart,
                                                        std::vector<std::unique_ptr<T>>& doomed) {
  while (!idle_.empty()) {
    Iterator it = idle_.begin();
    if (now - it->created_at > options_.max_lifetime) {
      evict_locked(it, idle_, &PoolStats::evicted_lifetime, doomed);
      continue;
    }
    const bool needs_validation =
        hooks_.validate && now - it->last_used > options_.validate_after_idle;
    leased_.splice(leased_.end(), idle_, it);
    it->state = ConnectionState::leased;
    it->last_used = now;
    it->leak_reported = false;
    if (needs_validation) {
      // Validate outside the lock (it may do a round trip); the connection
      // sits in leased_ meanwhile, so it keeps its slot and nobody else gets it.
      lock.unlock();
      bool valid = false;
      try {
        valid = hooks_.validate(*it->conn);
      } catch (...) {
        valid = false;
      }
      lock.lock();
      if (!valid) {
        evict_locked(it, leased_, &PoolStats::evicted_idle_invalid, doomed);
        restart = true;  // state may have changed while unlocked: start over
        now = clock_->now();
        return std::nullopt;
      }
      if (closed_) {  // closed while we validated: the connection goes, no lease
        retire_locked(std::move(it->conn), doomed);
        leased_.erase(it);
        return fail(detail::closed_error(options_));
      }
      it->last_used = clock_->now();
    }
    ++counters_.reused;
    return Lease<T>(this->shared_from_this(), it);
  }
  return std::nullopt;
}

template <class T>
Result<Lease<T>> LeasePool<T>::create_leased(std::unique_lock<std::mutex>& lock,
                                             std::vector<std::unique_ptr<T>>& doomed) {
  lock.unlock();
  Result<std::unique_ptr<T>> created = fail(detail::broken_error(options_, "create() threw"));
  try {
    created = hooks_.create();
  } catch (const std::exception& e) {
    created = fail(detail::broken_error(options_, std::string("create() threw: ") + e.what()));
  } catch (...) {
  }
  if (created && !*created) {
    created = fail(detail::broken_error(options_, "create() returned no connection"));
  }
  const TimePoint created_at = clock_->now();
  lock.lock();
  --connecting_;
  if (!created) {
    // Free the slot for someone else's retry (this is how a restart heals).
    ++counters_.create_failures;
    if (waiting_ > 0) available_.notify_one();
    return fail(std::move(created.error()));
  }
  if (closed_) {
    retire_locked(std::move(*created), doomed);
    return fail(detail::closed_error(options_));
  }
  ++counters_.created;
  leased_.push_back(detail::PooledConnection<T>{.conn = std::move(*created),
                                                .created_at = created_at,
                                                .last_used = created_at,
                                                .state = ConnectionState::leased,
                                                .leak_reported = false});
  return Lease<T>(this->shared_from_this(), std::prev(leased_.end()));
}

template <class T>
void LeasePool<T>::give_back(Iterator it, bool broken) noexcept {
  const TimePoint now = clock_->now();
  std::vector<std::unique_ptr<T>> doomed;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      retire_locked(std::move(it->conn), doomed);
      leased_.erase(it);
    } else if (broken) {
      evict_locked(it, leased_, &PoolStats::evicted_broken, doomed);
    } else if (now - it->created_at > options_.max_lifetime) {
      evict_locked(it, leased_, &PoolStats::evicted_lifetime, doomed);
    } else {
      it->state = ConnectionState::idle;
      it->last_used = now;
      idle_.splice(idle_.begin(), leased_, it);
    }
    // A connection came back (an evicted one frees its slot in destroy_retired).
    if (waiting_ > 0 && doomed.empty()) available_.notify_one();
  }
  destroy_retired(doomed);
}

template <class T>
PoolStats LeasePool<T>::stats() const {
  std::lock_guard lock(mu_);
  PoolStats s = counters_;
  s.in_use = leased_.size();
  s.idle = idle_.size();
  s.connecting = connecting_;
  s.closing = closing_;
  s.waiting = waiting_;
  s.closed = closed_;
  return s;
}

template <class T>
void LeasePool<T>::close() {
  std::vector<std::unique_ptr<T>> doomed;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto& c : idle_) retire_locked(std::move(c.conn), doomed);
    idle_.clear();
    available_.notify_all();
  }
  destroy_retired(doomed);
}

template <class T>
void LeasePool<T>::check_leaks() {
  std::vector<Duration> leaks;
  {
    std::lock_guard lock(mu_);
    collect_leaks_locked(clock_->now(), /*full=*/true, leaks);
  }
  report_leaks(leaks);
}

template <class T>
void LeasePool<T>::collect_leaks_locked(TimePoint now, bool full, std::vector<Duration>& out) {
  for (auto& c : leased_) {
    const Duration held = now - c.last_used;
    if (held <= options_.leak_threshold) {
      if (full) continue;
      break;  // leased_ is in lease order: the rest are younger
    }
    if (c.leak_reported) continue;
    c.leak_reported = true;
    ++counters_.leaks;
    out.push_back(held);
  }
}

template <class T>
void LeasePool<T>::report_leaks(const std::vector<Duration>& held) const {
  if (!hooks_.on_leak) return;
  for (Duration d : held) hooks_.on_leak(options_.name, d);
}

template <class T>
void LeasePool<T>::evict_locked(Iterator it, List& from, std::uint64_t PoolStats::*reason,
                                std::vector<std::unique_ptr<T>>& doomed) {
  ++(counters_.*reason);
  ++counters_.evictions;
  retire_locked(std::move(it->conn), doomed);
  from.erase(it);
}

template <class T>
void LeasePool<T>::retire_locked(std::unique_ptr<T> conn, std::vector<std::unique_ptr<T>>& doomed) {
  ++closing_;
  doomed.push_back(std::move(conn));
}

template <class T>
void LeasePool<T>::destroy_retired(std::vector<std::unique_ptr<T>>& doomed) noexcept {
  if (doomed.empty()) return;
  const std::size_t n = doomed.size();
  doomed.clear();  // destructors (e.g. a goodbye round trip) run without the lock
  std::lock_guard lock(mu_);
  closing_ -= n;
  if (waiting_ > 0) available_.notify_all();  // n slots are free now
}

}  // namespace rebound::pool
