#include "rebound/pool/keyed_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::pool {
namespace {

// Stands in for an expensive client (a warehouse connection, an HTTP client).
struct FakeClient {
  explicit FakeClient(std::string k) : key(std::move(k)) {}
  std::string key;
};

ClientKey key(std::string_view project, std::string_view location = {}) {
  return ClientKey::make(project, location).value();
}

// Creations counted; optionally made to fail.
struct Factory {
  std::atomic<int> calls{0};
  std::atomic<bool> failing{false};

  KeyedCacheHooks<ClientKey, FakeClient> hooks() {
    return {.create = [this](const ClientKey& k) -> Result<std::shared_ptr<FakeClient>> {
      ++calls;
      if (failing)
        return fail(Error::make(ErrorClass::transient, "auth server down", "http", "503"));
      return std::make_shared<FakeClient>(k.to_string());
    }};
  }
};

TEST(KeyedCache, ReturnsTheSameClientForTheSameKey) {
  Factory f;
  auto cache = ClientCache<FakeClient>::make(f.hooks()).value();
  auto a = cache->client(key("proj"));
  auto b = cache->client(key("proj"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*a)->key, "proj@US");
  EXPECT_EQ(f.calls, 1);
  EXPECT_EQ(cache->client_count(), 1U);
}

TEST(KeyedCache, ThousandThreadsAskingAtOnceCreateExactlyOneClient) {
  constexpr int kThreads = 1000;
  std::atomic<int> calls{0};
  std::atomic<int> arrived{0};
  auto cache = ClientCache<FakeClient>::make({.create = [&](const ClientKey& k)
                                                  -> Result<std::shared_ptr<FakeClient>> {
                 ++calls;
                 // Hold the creation open until every thread is at the door,
                 // so the others really do arrive while it runs.
                 while (arrived.load() < kThreads) std::this_thread::yield();
                 return std::make_shared<FakeClient>(k.to_string());
               }}).value();
  const ClientKey k = key("hot-project", "us-central1");
  std::latch start(kThreads);
  std::vector<FakeClient*> seen(kThreads, nullptr);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      ++arrived;
      auto c = cache->client(k);
      if (c) seen[static_cast<std::size_t>(i)] = c->get();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(cache->client_count(), 1U);
  const FakeClient* one = cache->find(k).get();
  ASSERT_NE(one, nullptr);
  for (FakeClient* c : seen) ASSERT_EQ(c, one);
  EXPECT_EQ(cache->stats().created, 1U);
}

TEST(KeyedCache, FailedCreationIsNotCachedAndItsWaitersSeeTheError) {
  constexpr int kWaiters = 8;
  std::atomic<int> calls{0};
  std::atomic<bool> release{false};
  std::atomic<bool> failing{true};
  std::shared_ptr<ClientCache<FakeClient>> cache;
  cache = ClientCache<FakeClient>::make({.create = [&](const ClientKey& k)
                                             -> Result<std::shared_ptr<FakeClient>> {
            ++calls;
            while (!release.load()) std::this_thread::yield();
            if (failing)
              return fail(
                  Error::make(ErrorClass::transient, "token endpoint returned 503", "http", "503"));
            return std::make_shared<FakeClient>(k.to_string());
          }}).value();
  const ClientKey k = key("proj");
  std::vector<Result<std::shared_ptr<FakeClient>>> results(kWaiters + 1);
  std::vector<std::thread> threads;
  threads.emplace_back([&] { results[0] = cache->client(k); });
  while (calls.load() == 0) std::this_thread::yield();  // the leader is creating
  for (int i = 1; i <= kWaiters; ++i)
    threads.emplace_back([&, i] { results[static_cast<std::size_t>(i)] = cache->client(k); });
  while (cache->stats().joined < kWaiters) std::this_thread::yield();  // all joined the creation
  release = true;
  for (auto& t : threads) t.join();

  EXPECT_EQ(calls.load(), 1);
  for (const auto& r : results) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, "503");
    EXPECT_THAT(r, HasErrorMessage("token endpoint returned 503"));
  }
  EXPECT_EQ(cache->client_count(), 0U);
  EXPECT_EQ(cache->find(k), nullptr);
  EXPECT_EQ(cache->stats().create_failures, 1U);

  failing = false;  // the next call retries the creation
  auto healed = cache->client(k);
  ASSERT_TRUE(healed.has_value());
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(cache->client_count(), 1U);
}

TEST(KeyedCache, SpellingsOfOneProjectShareOneClient) {
  Factory f;
  auto cache = ClientCache<FakeClient>::make(f.hooks()).value();
  auto a = cache->client(key("My-Project", "us")).value();
  auto b = cache->client(key("my-project", "")).value();
  auto c = cache->client(key(" MY-PROJECT ", "US")).value();
  EXPECT_EQ(a, b);
  EXPECT_EQ(b, c);
  EXPECT_EQ(f.calls, 1);
  EXPECT_EQ(cache->client_count(), 1U);
  EXPECT_EQ(cache->location_conflicts(), 0U);
}

TEST(KeyedCache, RawSpellingsAreCanonicalisedOrRejected) {
  Factory f;
  auto cache = ClientCache<FakeClient>::make(f.hooks()).value();
  auto a = cache->client(" My-Project", "us");
  auto b = cache->client("my-project", "");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ((*a)->key, "my-project@US");
  auto bad = cache->client("my project", "US");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(
      bad,
      HasErrorMessage(
          "invalid project \"my project\": only letters, digits and '-' are allowed (found ' ' at "
          "2)"));
  EXPECT_EQ(f.calls, 1);
}

TEST(KeyedCache, SameProjectInAnotherLocationIsReportedWithBothKeys) {
  Factory f;
  std::vector<std::pair<std::string, std::string>> reported;
  auto hooks = f.hooks();
  hooks.on_conflict = [&](const ClientKey& cached, const ClientKey& requested) {
    reported.emplace_back(cached.to_string(), requested.to_string());
  };
  auto cache = ClientCache<FakeClient>::make(std::move(hooks)).value();
  ASSERT_TRUE(cache->client(key("proj", "US")));
  ASSERT_TRUE(cache->client(key("other", "EU")));
  ASSERT_TRUE(cache->client(key("Proj", "eu")));  // second location for "proj"
  ASSERT_TRUE(cache->client(key("proj", "eu")));  // cached now: no second report
  EXPECT_EQ(cache->location_conflicts(), 1U);
  ASSERT_EQ(reported.size(), 1U);
  EXPECT_EQ(reported[0].first, "proj@US");
  EXPECT_EQ(reported[0].second, "proj@EU");
  EXPECT_EQ(cache->client_count(), 3U);  // reported, and still served
}

TEST(KeyedCache, ClearDropsClientsAndTheNextCallCreatesAgain) {
  Factory f;
  auto cache = ClientCache<FakeClient>::make(f.hooks()).value();
  std::weak_ptr<FakeClient> first = cache->client(key("proj")).value();
  auto held = cache->client(key("kept")).value();
  ASSERT_FALSE(first.expired());
  cache->clear();
  EXPECT_TRUE(first.expired());     // the cache held the only reference
  EXPECT_EQ(held->key, "kept@US");  // callers keep what they hold
  EXPECT_EQ(cache->client_count(), 0U);
  EXPECT_EQ(cache->find(key("proj")), nullptr);
  auto again = cache->client(key("proj"));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(f.calls, 3);
  EXPECT_EQ(cache->client_count(), 1U);
}

TEST(KeyedCache, FindNeverCreates) {
  Factory f;
  auto cache = ClientCache<FakeClient>::make(f.hooks()).value();
  EXPECT_EQ(cache->find(key("proj")), nullptr);
  EXPECT_EQ(f.calls, 0);
}

TEST(KeyedCache, CreateThatThrowsOrReturnsNullIsAnErrorNotACachedClient) {
  int mode = 0;
  auto cache =
      KeyedCache<std::string, FakeClient>::make({.create = [&](const std::string& k)
                                                     -> Result<std::shared_ptr<FakeClient>> {
        if (mode == 0) throw std::runtime_error("boom");
        if (mode == 1) return std::shared_ptr<FakeClient>();
        return std::make_shared<FakeClient>(k);
      }}).value();
  auto thrown = cache->client("a");
  ASSERT_FALSE(thrown.has_value());
  EXPECT_THAT(thrown, HasErrorMessage("keyed cache: create threw: boom"));
  mode = 1;
  auto null = cache->client("a");
  ASSERT_FALSE(null.has_value());
  EXPECT_THAT(null, HasErrorMessage("keyed cache: create returned a null client"));
  mode = 2;
  EXPECT_TRUE(cache->client("a").has_value());
  EXPECT_EQ(cache->stats().create_failures, 2U);
}

TEST(KeyedCache, ThousandsOfKeysAreEachFoundAndDistinct) {
  int calls = 0;
  auto cache = KeyedCache<int, FakeClient>::make({.create = [&](const int& k)
                                                      -> Result<std::shared_ptr<FakeClient>> {
                 ++calls;
                 return std::make_shared<FakeClient>(std::to_string(k));
               }}).value();
  for (int k = 0; k < 2000; k += 2) ASSERT_TRUE(cache->client(k).has_value());
  EXPECT_EQ(cache->client_count(), 1000U);
  for (int k = 0; k < 2000; ++k) {
    auto found = cache->find(k);
    if (k % 2 == 0) {
      ASSERT_NE(found, nullptr) << k;
      EXPECT_EQ(found->key, std::to_string(k));
    } else {
      EXPECT_EQ(found, nullptr) << k;
    }
  }
  EXPECT_EQ(calls, 1000);
}

TEST(KeyedCache, MakeRequiresACreateHook) {
  auto bad = ClientCache<FakeClient>::make({});
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad, HasErrorMessage("keyed cache: the create hook is required"));
}

// Readers race writers that add keys and clear: every lookup must see either
// nothing or the right client (run under TSan/ASan to check the reclamation).
TEST(KeyedCache, ReadersRacingInsertsAndClearsAlwaysSeeAConsistentClient) {
  Factory f;
  auto cache = ClientCache<FakeClient>::make(f.hooks()).value();
  std::vector<ClientKey> keys;
  for (int i = 0; i < 16; ++i) keys.push_back(key("p" + std::to_string(i), "us-east1"));
  std::atomic<bool> stop{false};
  std::atomic<long> mismatches{0};
  std::atomic<long> hits{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      std::size_t i = static_cast<std::size_t>(r);
      while (!stop.load(std::memory_order_relaxed)) {
        const ClientKey& k = keys[i++ % keys.size()];
        if (auto c = cache->find(k)) {
          ++hits;
          if (c->key != k.to_string()) ++mismatches;
        }
      }
    });
  }
  for (int round = 0; round < 50; ++round) {
    for (const auto& k : keys) ASSERT_TRUE(cache->client(k).has_value());
    if (round % 5 == 4) cache->clear();
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(cache->stats().created, static_cast<std::uint64_t>(f.calls.load()));
  EXPECT_EQ(f.calls.load(), 16 * 10);  // created again after each of the 10 clears
}

}  // namespace
}  // namespace rebound::pool
