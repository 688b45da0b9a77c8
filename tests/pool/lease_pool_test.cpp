#include "rebound/pool/lease_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::pool {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// An in-process stand-in for a database server: counts live connections
// (and the peak), can go down, and "restarts" by bumping its generation so
// connections opened before the restart stop working.
struct FakeServer {
  std::atomic<int> live{0};
  std::atomic<int> peak{0};
  std::atomic<int> opened{0};
  std::atomic<int> generation{0};
  std::atomic<bool> down{false};

  void restart_begin() {
    down = true;
    ++generation;
  }
  void restart_end() { down = false; }
};

struct FakeConn {
  explicit FakeConn(FakeServer& s) : server(s), generation(s.generation.load()), id(++s.opened) {
    const int now = ++server.live;
    int peak = server.peak.load();
    while (now > peak && !server.peak.compare_exchange_weak(peak, now)) {
    }
  }
  ~FakeConn() { --server.live; }
  FakeConn(const FakeConn&) = delete;
  FakeConn& operator=(const FakeConn&) = delete;

  // A query works only on a connection opened since the last restart.
  [[nodiscard]] bool query() const { return !server.down && generation == server.generation; }

  FakeServer& server;
  int generation;
  int id;
};

LeasePoolHooks<FakeConn> hooks_for(FakeServer& server) {
  return {.create = [&server]() -> Result<std::unique_ptr<FakeConn>> {
            if (server.down)
              return fail(
                  Error::make(ErrorClass::transient, "connection refused", "postgresql", "08006"));
            return std::make_unique<FakeConn>(server);
          },
          .validate = [](FakeConn& c) { return c.query(); },
          .on_leak = nullptr};
}

std::shared_ptr<LeasePool<FakeConn>> make_pool(FakeServer& server, LeasePoolOptions options) {
  auto pool = LeasePool<FakeConn>::make(std::move(options), hooks_for(server));
  EXPECT_THAT(pool, IsOk());
  return *pool;
}

// Envoy's CHECK_STATE(active, pending, capacity): leased, idle, free slots.
#define CHECK_STATE(pool, expected_in_use, expected_idle, expected_capacity)                       \
  do {                                                                                             \
    const PoolStats s_ = (pool).stats();                                                           \
    EXPECT_EQ(s_.in_use, static_cast<std::size_t>(expected_in_use)) << "in_use";                   \
    EXPECT_EQ(s_.idle, static_cast<std::size_t>(expected_idle)) << "idle";                         \
    EXPECT_EQ(s_.max_size - s_.live(), static_cast<std::size_t>(expected_capacity)) << "capacity"; \
  } while (0)

TEST(LeasePool, MakeRejectsInvalidOptionsNamingTheValue) {
  FakeServer server;
  auto zero = LeasePool<FakeConn>::make({.name = "pg main", .max_size = 0}, hooks_for(server));
  ASSERT_FALSE(zero.has_value());
  EXPECT_THAT(zero, HasErrorMessage("pool \"pg main\": max_size must be at least 1 (got 0)"));
  EXPECT_EQ(zero.error().error_class, ErrorClass::permanent);

  auto no_create = LeasePool<FakeConn>::make({.name = "pg main"}, {});
  ASSERT_FALSE(no_create.has_value());
  EXPECT_THAT(no_create, HasErrorMessage("pool \"pg main\": the create hook is required"));

  auto negative =
      LeasePool<FakeConn>::make({.acquire_timeout = milliseconds{-5}}, hooks_for(server));
  ASSERT_FALSE(negative.has_value());
  EXPECT_THAT(negative,
              HasErrorMessage("pool \"pool\": acquire_timeout must not be negative (got -5 ms)"));
}

TEST(LeasePool, CreatesLazilyAndLeasesReturnOnDestruction) {
  FakeServer server;
  auto pool = make_pool(server, {.max_size = 3});
  CHECK_STATE(*pool, 0, 0, 3);
  int first_id = 0;
  {
    auto lease = pool->acquire();
    ASSERT_TRUE(lease.has_value());
    ASSERT_TRUE(*lease);
    first_id = (*lease)->id;
    CHECK_STATE(*pool, 1, 0, 2);
  }
  CHECK_STATE(*pool, 0, 1, 2);
  auto again = pool->acquire();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ((*again)->id, first_id);  // reused, not reopened
  const PoolStats s = pool->stats();
  EXPECT_EQ(s.created, 1U);
  EXPECT_EQ(s.reused, 1U);
  EXPECT_EQ(server.opened, 1);
}

TEST(LeasePool, MovedLeaseReturnsOnceAndReleaseIsIdempotent) {
  FakeServer server;
  auto pool = make_pool(server, {.max_size = 2});
  auto lease = pool->acquire().value();
  Lease<FakeConn> moved = std::move(lease);
  EXPECT_FALSE(lease);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_TRUE(moved);
  CHECK_STATE(*pool, 1, 0, 1);
  moved.release();
  moved.release();
  EXPECT_FALSE(moved);
  CHECK_STATE(*pool, 0, 1, 1);

  auto a = pool->acquire().value();
  auto b = pool->acquire().value();
  a = std::move(b);  // a's old connection returns now
  CHECK_STATE(*pool, 1, 1, 0);
}

TEST(LeasePool, AcquireTimesOutWithAClearErrorWhenAllConnectionsAreLeased) {
  FakeServer server;
  auto pool =
      make_pool(server, {.name = "pg main", .max_size = 2, .acquire_timeout = milliseconds{30}});
  auto a = pool->acquire().value();
  auto b = pool->acquire().value();
  CHECK_STATE(*pool, 2, 0, 0);

  auto c = pool->acquire();
  ASSERT_FALSE(c.has_value());
  const Error& e = c.error();
  EXPECT_EQ(pool_failure(e), PoolFailure::timeout);
  EXPECT_EQ(e.error_class, ErrorClass::transient);
  EXPECT_EQ(e.source, "pool");
  EXPECT_EQ(e.code, "timeout");
  EXPECT_EQ(
      e.message.rfind("pool \"pg main\" exhausted: all 2 connections in use for 30 ms (waited ", 0),
      0U)
      << e.message;
  EXPECT_NE(e.message.find("raise max_size or release leases sooner"), std::string::npos);

  const PoolStats s = pool->stats();
  EXPECT_EQ(s.timeouts, 1U);
  EXPECT_EQ(s.waits, 1U);
  EXPECT_GT(s.wait_time, Duration::zero());  // accounted, whatever its length
  EXPECT_EQ(server.peak, 2);                 // max_size held
}

TEST(LeasePool, ZeroTimeoutNeverBlocks) {
  FakeServer server;
  auto pool = make_pool(server, {.max_size = 1});
  auto a = pool->acquire().value();
  auto b = pool->acquire(Duration::zero());
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(pool_failure(b.error()), PoolFailure::timeout);
  EXPECT_EQ(pool->stats().waits, 0U);
  EXPECT_EQ(pool->stats().timeouts, 1U);
}

TEST(LeasePool, BlockedAcquireGetsTheConnectionAnotherThreadReturns) {
  FakeServer server;
  auto pool = make_pool(server, {.max_size = 1});
  auto held = pool->acquire().value();
  const int id = held->id;
  Result<Lease<FakeConn>> got = fail(Error::permanent("not run"));
  std::thread waiter([&] { got = pool->acquire(seconds{30}); });
  while (pool->stats().waiting == 0) std::this_thread::yield();  // it is blocked now
  held.release();
  waiter.join();
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ((*got)->id, id);
  const PoolStats s = pool->stats();
  EXPECT_EQ(s.waits, 1U);
  EXPECT_EQ(s.timeouts, 0U);
  EXPECT_EQ(s.created, 1U);
}

TEST(LeasePool, OverflowsWhenTooManyThreadsAreAlreadyWaiting) {
  FakeServer server;
  auto pool = make_pool(server, {.name = "pg", .max_size = 1, .max_waiters = 1});
  auto held = pool->acquire().value();
  Result<Lease<FakeConn>> first = fail(Error::permanent("not run"));
  std::thread waiter([&] { first = pool->acquire(seconds{30}); });
  while (pool->stats().waiting == 0) std::this_thread::yield();
  auto second = pool->acquire(seconds{30});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(pool_failure(second.error()), PoolFailure::overflow);
  EXPECT_THAT(
      second,
      HasErrorMessage(
          "pool \"pg\" overflow: 1 threads already waiting (max_waiters 1) for 1 connections; "
          "raise max_size or max_waiters, or shed load"));
  held.release();
  waiter.join();
  EXPECT_TRUE(first.has_value());
  EXPECT_EQ(pool->stats().overflows, 1U);
}

TEST(LeasePool, ValidatesOnlyConnectionsIdleLongerThanTheThreshold) {
  FakeServer server;
  testing::FakeClock clock;
  std::atomic<int> validations{0};
  auto hooks = hooks_for(server);
  hooks.validate = [&](FakeConn& c) {
    ++validations;
    return c.query();
  };
  auto pool = LeasePool<FakeConn>::make(
                  {.max_size = 2, .validate_after_idle = seconds{30}, .clock = &clock}, hooks)
                  .value();
  pool->acquire().value().release();
  clock.advance(seconds{29});
  pool->acquire().value().release();
  EXPECT_EQ(validations, 0);  // idle 29 s: handed out as is

  clock.advance(seconds{31});
  auto lease = pool->acquire().value();
  EXPECT_EQ(validations, 1);  // idle 31 s: validated, still good, reused
  EXPECT_EQ(pool->stats().reused, 2U);
  EXPECT_EQ(pool->stats().created, 1U);
  lease.release();

  server.restart_begin();
  server.restart_end();  // the idle connection is now stale
  clock.advance(seconds{31});
  auto fresh = pool->acquire();
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(validations, 2);
  EXPECT_TRUE((*fresh)->query());
  const PoolStats s = pool->stats();
  EXPECT_EQ(s.evicted_idle_invalid, 1U);
  EXPECT_EQ(s.evictions, 1U);
  EXPECT_EQ(s.created, 2U);
  EXPECT_EQ(server.live, 1);  // the stale one was destroyed
  CHECK_STATE(*pool, 1, 0, 1);
}

TEST(LeasePool, RetiresConnectionsOlderThanMaxLifetime) {
  FakeServer server;
  testing::FakeClock clock;
  auto pool = make_pool(server, {.max_size = 2,
                                 .validate_after_idle = std::chrono::hours{1},
                                 .max_lifetime = std::chrono::minutes{30},
                                 .clock = &clock});
  auto a = pool->acquire().value();
  auto b = pool->acquire().value();
  b.release();  // idle, will age out while idle
  clock.advance(std::chrono::minutes{31});
  a.release();  // too old on return: retired, not pooled
  EXPECT_EQ(pool->stats().evicted_lifetime, 1U);
  CHECK_STATE(*pool, 0, 1, 1);

  auto c = pool->acquire().value();  // the idle one is too old as well: retired, a new one made
  const PoolStats s = pool->stats();
  EXPECT_EQ(s.evicted_lifetime, 2U);
  EXPECT_EQ(s.evictions, 2U);
  EXPECT_EQ(s.created, 3U);
  EXPECT_EQ(server.live, 1);
  CHECK_STATE(*pool, 1, 0, 1);
}

TEST(LeasePool, BrokenConnectionIsEvictedAndReplaced) {
  FakeServer server;
  auto pool = make_pool(server, {.max_size = 1});
  int broken_id = 0;
  {
    auto lease = pool->acquire().value();
    broken_id = lease->id;
    lease.mark_broken();
    EXPECT_TRUE(lease.broken());
  }
  CHECK_STATE(*pool, 0, 0, 1);
  EXPECT_EQ(server.live, 0);
  auto next = pool->acquire().value();
  EXPECT_NE(next->id, broken_id);
  const PoolStats s = pool->stats();
  EXPECT_EQ(s.evicted_broken, 1U);
  EXPECT_EQ(s.created, 2U);
  EXPECT_EQ(s.reused, 0U);
}

TEST(LeasePool, CreateFailurePropagatesItsErrorAndFreesTheSlot) {
  FakeServer server;
  server.down = true;
  auto pool = make_pool(server, {.max_size = 1});
  auto failed = pool->acquire();
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().source, "postgresql");  // unchanged, already classified
  EXPECT_EQ(failed.error().code, "08006");
  EXPECT_EQ(failed.error().error_class, ErrorClass::transient);
  EXPECT_FALSE(pool_failure(failed.error()).has_value());
  CHECK_STATE(*pool, 0, 0, 1);  // the slot is free again
  EXPECT_EQ(pool->stats().create_failures, 1U);

  server.down = false;
  EXPECT_TRUE(pool->acquire().has_value());
}

TEST(LeasePool, CreateThatThrowsOrReturnsNullIsABrokenFailure) {
  int mode = 0;
  auto pool = LeasePool<int>::make({.name = "ints", .max_size = 1},
                                   {.create = [&]() -> Result<std::unique_ptr<int>> {
                                     if (mode == 0) throw std::runtime_error("socket: boom");
                                     if (mode == 1) return std::unique_ptr<int>();
                                     return std::make_unique<int>(7);
                                   }})
                  .value();
  auto thrown = pool->acquire();
  ASSERT_FALSE(thrown.has_value());
  EXPECT_EQ(pool_failure(thrown.error()), PoolFailure::broken);
  EXPECT_THAT(thrown, HasErrorMessage("pool \"ints\": create() threw: socket: boom"));
  mode = 1;
  auto null = pool->acquire();
  ASSERT_FALSE(null.has_value());
  EXPECT_THAT(null, HasErrorMessage("pool \"ints\": create() returned no connection"));
  mode = 2;
  auto ok = pool->acquire();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(**ok, 7);
  EXPECT_EQ(pool->stats().create_failures, 2U);
}

// The scenario the pool exists for: the database restarts under a full pool.
// Users see failing queries and mark the connections broken; while the server
// is down create() fails (error surfaces, slot freed); once it is back the
// pool refills with working connections — no restart of the client needed.
TEST(LeasePool, HealsAfterServerRestart) {
  FakeServer server;
  auto pool = make_pool(server, {.max_size = 3, .validate_after_idle = std::chrono::hours{1}});
  {
    std::vector<Lease<FakeConn>> warm;
    for (int i = 0; i < 3; ++i) warm.push_back(pool->acquire().value());
  }
  CHECK_STATE(*pool, 0, 3, 0);

  server.restart_begin();
  int failed_queries = 0;
  for (int i = 0; i < 3; ++i) {
    auto lease = pool->acquire().value();  // a stale idle connection
    if (!lease->query()) {
      ++failed_queries;
      lease.mark_broken();
    }
  }
  EXPECT_EQ(failed_queries, 3);
  CHECK_STATE(*pool, 0, 0, 3);
  auto during = pool->acquire();
  ASSERT_FALSE(during.has_value());
  EXPECT_EQ(during.error().code, "08006");

  server.restart_end();
  std::vector<Lease<FakeConn>> after;
  for (int i = 0; i < 3; ++i) {
    auto lease = pool->acquire();
    ASSERT_THAT(lease, IsOk());
    EXPECT_TRUE((*lease)->query());
    after.push_back(std::move(*lease));
  }
  const PoolStats s = pool->stats();
  EXPECT_EQ(s.evicted_broken, 3U);
  EXPECT_EQ(s.create_failures, 1U);
  EXPECT_EQ(s.created, 6U);
  EXPECT_EQ(server.live, 3);
}

TEST(LeasePool, HealsAfterServerRestartThroughIdleValidation) {
  FakeServer server;
  testing::FakeClock clock;
  auto pool =
      make_pool(server, {.max_size = 2, .validate_after_idle = seconds{1}, .clock = &clock});
  {
    auto a = pool->acquire().value();
    auto b = pool->acquire().value();
  }
  server.restart_begin();
  server.restart_end();
  clock.advance(seconds{5});
  auto lease = pool->acquire().value();  // both idle ones fail validation; a new one is made
  EXPECT_TRUE(lease->query());
  EXPECT_EQ(pool->stats().evicted_idle_invalid, 2U);
  EXPECT_EQ(server.live, 1);
}

TEST(LeasePool, ReportsLeasesHeldLongerThanTheLeakThresholdOnce) {
  FakeServer server;
  testing::FakeClock clock;
  std::vector<std::pair<std::string, Duration>> reports;
  std::mutex reports_mu;
  auto hooks = hooks_for(server);
  hooks.on_leak = [&](std::string_view pool, Duration held) {
    std::lock_guard lock(reports_mu);
    reports.emplace_back(std::string(pool), held);
  };
  auto pool =
      LeasePool<FakeConn>::make(
          {.name = "pg main", .max_size = 3, .leak_threshold = seconds{60}, .clock = &clock}, hooks)
          .value();
  auto leaked = pool->acquire().value();
  clock.advance(seconds{59});
  pool->check_leaks();
  EXPECT_TRUE(reports.empty());
  clock.advance(seconds{2});
  pool->check_leaks();
  pool->check_leaks();  // reported once per lease
  ASSERT_EQ(reports.size(), 1U);
  EXPECT_EQ(reports[0].first, "pg main");
  EXPECT_EQ(reports[0].second, seconds{61});

  auto second = pool->acquire().value();
  clock.advance(seconds{61});
  auto third = pool->acquire().value();  // acquire checks too
  ASSERT_EQ(reports.size(), 2U);
  EXPECT_EQ(reports[1].second, seconds{61});
  EXPECT_EQ(pool->stats().leaks, 2U);
}

TEST(LeasePool, CloseRefusesNewLeasesAndDestroysConnectionsAsTheyComeBack) {
  FakeServer server;
  auto pool = make_pool(server, {.name = "pg main", .max_size = 2});
  auto leased = pool->acquire().value();
  pool->acquire().value().release();
  EXPECT_EQ(server.live, 2);

  pool->close();
  EXPECT_EQ(server.live, 1);  // the idle one is gone
  auto refused = pool->acquire();
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(pool_failure(refused.error()), PoolFailure::closed);
  EXPECT_EQ(refused.error().error_class, ErrorClass::permanent);
  EXPECT_THAT(refused, HasErrorMessage("pool \"pg main\" is closed; no new leases"));
  EXPECT_TRUE(leased->query());  // a lease in hand keeps working
  leased.release();
  EXPECT_EQ(server.live, 0);
  CHECK_STATE(*pool, 0, 0, 2);
  EXPECT_TRUE(pool->stats().closed);
}

TEST(LeasePool, CloseDuringValidationHandsOutNoLease) {
  FakeServer server;
  testing::FakeClock clock;
  std::shared_ptr<LeasePool<FakeConn>> pool;
  auto hooks = hooks_for(server);
  hooks.validate = [&](FakeConn&) {
    pool->close();  // hooks run outside the pool's lock, so this is allowed
    return true;
  };
  pool = LeasePool<FakeConn>::make(
             {.max_size = 1, .validate_after_idle = seconds{1}, .clock = &clock}, hooks)
             .value();
  pool->acquire().value().release();
  clock.advance(seconds{2});
  auto lease = pool->acquire();
  ASSERT_FALSE(lease.has_value());
  EXPECT_EQ(pool_failure(lease.error()), PoolFailure::closed);
  EXPECT_EQ(server.live, 0);
  CHECK_STATE(*pool, 0, 0, 1);
}

TEST(LeasePool, CloseWakesBlockedAcquires) {
  FakeServer server;
  auto pool = make_pool(server, {.max_size = 1});
  auto held = pool->acquire().value();
  Result<Lease<FakeConn>> got = fail(Error::permanent("not run"));
  std::thread waiter([&] { got = pool->acquire(seconds{30}); });
  while (pool->stats().waiting == 0) std::this_thread::yield();
  pool->close();
  waiter.join();
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(pool_failure(got.error()), PoolFailure::closed);
}

TEST(LeasePool, LeasesKeepThePoolAlive) {
  FakeServer server;
  auto pool = make_pool(server, {.max_size = 1});
  auto lease = pool->acquire().value();
  std::weak_ptr<LeasePool<FakeConn>> weak = pool;
  pool.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_TRUE(lease->query());
  lease.release();  // the last owner: pool and connection go away
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(server.live, 0);
}

// 16 threads hammer a pool of 4: never more than 4 live connections, and the
// counters add up afterwards.
TEST(LeasePool, ManyThreadsNeverExceedMaxSizeAndCountersAddUp) {
  constexpr int kThreads = 16;
  constexpr int kIterations = 1500;
  FakeServer server;
  auto pool = make_pool(server, {.max_size = 4, .acquire_timeout = seconds{60}});
  std::atomic<int> in_hand{0};
  std::atomic<int> max_in_hand{0};
  std::atomic<int> marked_broken{0};
  std::atomic<int> failures{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kIterations; ++i) {
        auto lease = pool->acquire();
        if (!lease) {
          ++failures;
          continue;
        }
        const int now = ++in_hand;
        int seen = max_in_hand.load();
        while (now > seen && !max_in_hand.compare_exchange_weak(seen, now)) {
        }
        if (!(*lease)->query()) ++failures;
        if ((i + t) % 97 == 0) {
          lease->mark_broken();
          ++marked_broken;
        }
        --in_hand;
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(failures, 0);
  EXPECT_LE(server.peak, 4);
  EXPECT_LE(max_in_hand, 4);
  const PoolStats s = pool->stats();
  EXPECT_EQ(s.created + s.reused, static_cast<std::uint64_t>(kThreads * kIterations));
  EXPECT_EQ(s.evicted_broken, static_cast<std::uint64_t>(marked_broken.load()));
  EXPECT_EQ(s.created - s.evictions, s.idle);  // everything not evicted is idle now
  EXPECT_EQ(static_cast<std::size_t>(server.live.load()), s.idle);
  EXPECT_EQ(s.timeouts, 0U);
  CHECK_STATE(*pool, 0, s.idle, 4 - s.idle);
}

}  // namespace
}  // namespace rebound::pool
