// Pools benchmarks: rebound's keyed cache and lease pool next to the naive
// designs they replace, in the same run (see BENCHMARKS.md, "Pools").
//
//   build/bench/pool/pool_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "rebound/pool/client_key.hpp"
#include "rebound/pool/keyed_cache.hpp"
#include "rebound/pool/lease_pool.hpp"

namespace {

using rebound::Result;
using rebound::pool::ClientKey;

struct Client {
  std::string name;
};

constexpr int kKeys = 16;  // a realistic fleet: a few projects x locations

std::vector<ClientKey> make_keys() {
  std::vector<ClientKey> keys;
  for (int i = 0; i < kKeys; ++i)
    keys.push_back(
        ClientKey::make("project-" + std::to_string(i), i % 2 ? "us" : "europe-west2").value());
  return keys;
}

const std::vector<ClientKey>& keys() {
  static const std::vector<ClientKey> k = make_keys();
  return k;
}

std::shared_ptr<Client> new_client(const ClientKey& k) {
  return std::make_shared<Client>(Client{k.to_string()});
}

// --- keyed cache: rebound (immutable snapshot + reader stripes) ---------------

rebound::pool::ClientCache<Client>& rebound_cache() {
  static auto cache = [] {
    auto c = rebound::pool::ClientCache<Client>::make({.create = [](const ClientKey& k)
                                                           -> Result<std::shared_ptr<Client>> {
               return new_client(k);
             }}).value();
    for (const auto& k : keys()) (void)c->client(k);
    return c;
  }();
  return *cache;
}

void BM_Cache_Rebound(benchmark::State& state) {
  auto& cache = rebound_cache();
  std::size_t i = static_cast<std::size_t>(state.thread_index());
  for (auto _ : state) {
    auto c = cache.client(keys()[i++ % kKeys]);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_Cache_Rebound);
BENCHMARK(BM_Cache_Rebound)->Threads(8);

// The same lookup from raw spellings: canonicalise, then look up.
void BM_Cache_Rebound_FromStrings(benchmark::State& state) {
  auto& cache = rebound_cache();
  std::size_t i = 0;
  const std::string location = "US";
  for (auto _ : state) {
    auto key = ClientKey::make("project-" + std::to_string((2 * i++ + 1) % kKeys), location);
    auto c = cache.client(*key);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_Cache_Rebound_FromStrings);

// --- baselines --------------------------------------------------------------

// The naive design: one std::mutex around an unordered_map.
struct MutexCache {
  std::mutex mu;
  std::unordered_map<ClientKey, std::shared_ptr<Client>> map;
  std::shared_ptr<Client> client(const ClientKey& k) {
    std::lock_guard lock(mu);
    auto& slot = map[k];
    if (!slot) slot = new_client(k);
    return slot;
  }
};

// Reader-writer lock: shared lock for hits, exclusive for misses.
struct SharedMutexCache {
  std::shared_mutex mu;
  std::unordered_map<ClientKey, std::shared_ptr<Client>> map;
  std::shared_ptr<Client> client(const ClientKey& k) {
    {
      std::shared_lock lock(mu);
      if (auto it = map.find(k); it != map.end()) return it->second;
    }
    std::unique_lock lock(mu);
    auto& slot = map[k];
    if (!slot) slot = new_client(k);
    return slot;
  }
};

// Snapshot behind std::atomic<std::shared_ptr> (libstdc++ guards it with a lock bit).
struct AtomicSharedPtrCache {
  using Map = std::unordered_map<ClientKey, std::shared_ptr<Client>>;
  std::atomic<std::shared_ptr<const Map>> snapshot{std::make_shared<const Map>()};
  std::mutex writer;
  std::shared_ptr<Client> client(const ClientKey& k) {
    {
      auto map = snapshot.load(std::memory_order_acquire);
      if (auto it = map->find(k); it != map->end()) return it->second;
    }
    std::lock_guard lock(writer);
    auto next = std::make_shared<Map>(*snapshot.load());
    auto& slot = (*next)[k];
    if (!slot) slot = new_client(k);
    auto out = slot;
    snapshot.store(std::move(next));
    return out;
  }
};

template <class Cache>
Cache& warm() {
  static Cache cache;
  static const bool warmed = [] {
    for (const auto& k : keys()) (void)cache.client(k);
    return true;
  }();
  (void)warmed;
  return cache;
}

template <class Cache>
void BM_Cache_Baseline(benchmark::State& state) {
  auto& cache = warm<Cache>();
  std::size_t i = static_cast<std::size_t>(state.thread_index());
  for (auto _ : state) {
    auto c = cache.client(keys()[i++ % kKeys]);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_Cache_Baseline<MutexCache>)->Name("BM_Cache_NaiveMutex");
BENCHMARK(BM_Cache_Baseline<MutexCache>)->Name("BM_Cache_NaiveMutex")->Threads(8);
BENCHMARK(BM_Cache_Baseline<SharedMutexCache>)->Name("BM_Cache_SharedMutex");
BENCHMARK(BM_Cache_Baseline<SharedMutexCache>)->Name("BM_Cache_SharedMutex")->Threads(8);
BENCHMARK(BM_Cache_Baseline<AtomicSharedPtrCache>)->Name("BM_Cache_AtomicSharedPtr");
BENCHMARK(BM_Cache_Baseline<AtomicSharedPtrCache>)->Name("BM_Cache_AtomicSharedPtr")->Threads(8);

// --- lease pool ---------------------------------------------------------------

// A cheap fake connection: what "create per op" costs with no network at all.
struct FakeConn {
  int fd = -1;
  std::uint64_t queries = 0;
};

using rebound::pool::LeasePool;

std::shared_ptr<LeasePool<FakeConn>> make_fake_pool(std::size_t size) {
  return LeasePool<FakeConn>::make({.name = "bench", .max_size = size},
                                   {.create = []() -> Result<std::unique_ptr<FakeConn>> {
                                      return std::make_unique<FakeConn>();
                                    },
                                    .validate = [](FakeConn&) { return true; }})
      .value();
}

void BM_Pool_AcquireRelease(benchmark::State& state) {
  static std::shared_ptr<LeasePool<FakeConn>> pool;
  if (state.thread_index() == 0) pool = make_fake_pool(8);
  // Google Benchmark starts every thread's loop together, after set-up.
  for (auto _ : state) {
    auto lease = pool->acquire();
    benchmark::DoNotOptimize(++(*lease)->queries);
  }
  if (state.thread_index() == 0) {
    const auto s = pool->stats();
    state.counters["created"] = static_cast<double>(s.created);
    state.counters["waits"] = static_cast<double>(s.waits);
  }
}
BENCHMARK(BM_Pool_AcquireRelease)->UseRealTime();
BENCHMARK(BM_Pool_AcquireRelease)->Threads(8)->UseRealTime();

// Baseline 1: a fresh fake connection object per operation (heap only).
void BM_Fresh_FakeConnPerOp(benchmark::State& state) {
  for (auto _ : state) {
    auto conn = std::make_unique<FakeConn>();
    benchmark::DoNotOptimize(++conn->queries);
  }
}
BENCHMARK(BM_Fresh_FakeConnPerOp)->UseRealTime();
BENCHMARK(BM_Fresh_FakeConnPerOp)->Threads(8)->UseRealTime();

// Baseline 2: a fresh loopback TCP connection per operation — the cheapest
// real connection there is (no TLS, no auth, no database start-up).
struct Listener {
  int fd = -1;
  sockaddr_in addr{};
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd, 1024);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  }
  ~Listener() { ::close(fd); }
};

void BM_Fresh_LoopbackTcpPerOp(benchmark::State& state) {
  Listener listener;
  for (auto _ : state) {
    const int c = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(c, reinterpret_cast<const sockaddr*>(&listener.addr), sizeof listener.addr) !=
        0) {
      state.SkipWithError("connect failed");
      ::close(c);
      break;
    }
    const int s = ::accept(listener.fd, nullptr, nullptr);
    ::close(c);
    ::close(s);
  }
}
BENCHMARK(BM_Fresh_LoopbackTcpPerOp)->UseRealTime();

}  // namespace
