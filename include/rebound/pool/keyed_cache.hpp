// KeyedCache<Key, Client> — one shared client per key, created once.
//
// client(key) returns the cached client for `key`, or creates it with the
// injected factory. However many threads ask for a new key at the same
// instant, exactly one runs the factory; the others wait for its result. A
// failed creation is not cached: its waiters get the error, and the next
// call tries again.
//
// clang-format off
//   using rebound::pool::ClientKey;
//   auto cache = rebound::pool::KeyedCache<ClientKey, Warehouse>::make({
//       .create = [](const ClientKey& k) { return connect(k.project(), k.location()); },
//       .on_conflict = [](const ClientKey& cached, const ClientKey& asked) { log(cached, asked); },
//   }).value();
//   auto key = ClientKey::make("My-Project", "us").value();               // build once
//   rebound::Result<std::shared_ptr<Warehouse>> wh = cache->client(key);  // ~10 ns when cached
// clang-format on
//
// A cached lookup is lock-free and writes no shared memory: the key -> client
// map is an immutable snapshot (FrozenMap) published through an atomic pointer and
// replaced (copy-on-write) when a client is added or on clear(). Readers mark
// themselves in a per-thread slot (ReadSection, a minimal RCU) so a writer
// knows when the old snapshot can be freed; the only shared write left is the
// client's own shared_ptr count. Why this and not a shared_mutex or an
// atomic<shared_ptr>: docs/pool.md and BENCHMARKS.md ("Pools").
//
// Two keys that name the same thing differently — by default for ClientKey,
// the same project in a different location — are reported when the second
// one is created: on_conflict(cached, requested) runs and location_conflicts()
// grows. Both are still cached (two locations can be legitimate).
//
// Thread safety: thread-safe. The hooks must be thread-safe; create() runs
// outside any lock, at most once at a time per key. The cache must outlive
// every call into it (returned clients are shared_ptrs and may outlive it).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rebound/core/error.hpp"
#include "rebound/pool/client_key.hpp"
#include "rebound/pool/internal/frozen_map.hpp"
#include "rebound/pool/internal/read_section.hpp"

namespace rebound::pool {

template <class Key, class Client>
struct KeyedCacheHooks {
  // Required. Creates the client for a key; an Error is returned to every
  // caller waiting on this creation and is not cached.
  std::function<Result<std::shared_ptr<Client>>(const Key&)> create;
  // Optional: do `cached` and `requested` name the same thing in conflicting
  // ways? Default for ClientKey: location_conflict (same project, other location).
  std::function<bool(const Key& cached, const Key& requested)> conflicts;
  // Optional: called (outside locks) for each conflict found when a new key is created.
  std::function<void(const Key& cached, const Key& requested)> on_conflict;
};

struct KeyedCacheStats {
  std::size_t clients = 0;            // cached now
  std::uint64_t created = 0;          // successful creations
  std::uint64_t create_failures = 0;  // creations that returned an error (not cached)
  std::uint64_t joined = 0;           // callers that waited on another thread's creation
  // conflicting keys created (see KeyedCacheHooks::conflicts)
  std::uint64_t location_conflicts = 0;
};

template <class Key, class Client, class Hash = std::hash<Key>, class Eq = std::equal_to<Key>>
class KeyedCache {
  struct PrivateTag {};

 public:
  using ClientPtr = std::shared_ptr<Client>;

  // Returns a cache, or a permanent Error if hooks.create is missing.
  [[nodiscard]] static Result<std::shared_ptr<KeyedCache>> make(
      KeyedCacheHooks<Key, Client> hooks) {
    if (!hooks.create) return fail(Error::permanent("keyed cache: the create hook is required"));
    if constexpr (std::is_same_v<Key, ClientKey>) {
      if (!hooks.conflicts) hooks.conflicts = location_conflict;
    }
    return std::make_shared<KeyedCache>(PrivateTag{}, std::move(hooks));
  }

  // The one client for `key`: cached (lock-free) or created now (once, even
  // under concurrent callers). Errors: whatever create() returned for this
  // creation (not cached; the next call retries), or a permanent Error if
  // create() threw or returned null.
  [[nodiscard]] Result<ClientPtr> client(const Key& key) {
    if (ClientPtr cached = find(key)) return cached;
    return create_slow(key);
  }

  // ClientCache convenience: canonicalises (project, location) first — the
  // ClientKey::make() error for a bad spelling, else client(key). Costs
  // ~150 ns more than a lookup with a prebuilt key; build keys once when hot.
  [[nodiscard]] Result<ClientPtr> client(
      std::string_view project, std::string_view location) requires std::is_same_v<Key, ClientKey> {
    auto key = ClientKey::make(project, location);
    if (!key) return fail(std::move(key.error()));
    return client(*key);
  }

  // The cached client for `key`, or nullptr. Never creates; lock-free.
  [[nodiscard]] ClientPtr find(const Key& key) const noexcept {
    detail::ReadSection section;
    const Map* map = snapshot_.load(std::memory_order_acquire);
    if (const ClientPtr* found = map->find(key)) return *found;
    return nullptr;
  }

  [[nodiscard]] std::size_t client_count() const noexcept {
    return count_.load(std::memory_order_acquire);
  }

  // Drops every cached client (callers holding one keep it alive). Creations
  // already running finish and are cached. Returns after no reader can still
  // see the old clients, so they are released by the time it returns.
  void clear() {
    std::unique_ptr<const Map> old;
    {
      std::lock_guard lock(mu_);
      old.reset(snapshot_.exchange(new Map(), std::memory_order_seq_cst));
      count_.store(0, std::memory_order_release);
    }
    detail::synchronize_readers();
  }

  [[nodiscard]] KeyedCacheStats stats() const {
    std::lock_guard lock(mu_);
    KeyedCacheStats s = counters_;
    s.clients = count_.load(std::memory_order_relaxed);
    return s;
  }
  [[nodiscard]] std::uint64_t location_conflicts() const { return stats().location_conflicts; }

  KeyedCache(PrivateTag, KeyedCacheHooks<Key, Client> hooks) : hooks_(std::move(hooks)) {}
  KeyedCache(const KeyedCache&) = delete;
  KeyedCache& operator=(const KeyedCache&) = delete;
  ~KeyedCache() { delete snapshot_.load(std::memory_order_acquire); }

 private:
  using Map = detail::FrozenMap<Key, ClientPtr, Hash, Eq>;
  using Shared = std::shared_future<Result<ClientPtr>>;

  Result<ClientPtr> create_slow(const Key& key);
  Result<ClientPtr> run_create(const Key& key) noexcept;

  const KeyedCacheHooks<Key, Client> hooks_;
  std::atomic<const Map*> snapshot_{new Map()};
  std::atomic<std::size_t> count_{0};

  mutable std::mutex mu_;                               // writers: inflight_, publishing, counters_
  std::unordered_map<Key, Shared, Hash, Eq> inflight_;  // creations running now
  KeyedCacheStats counters_;
};

template <class Key, class Client, class Hash, class Eq>
auto KeyedCache<Key, Client, Hash, Eq>::create_slow(const Key& key) -> Result<ClientPtr> {
  std::unique_lock lock(mu_);
  // Writers publish under mu_, so the current snapshot is safe to read here.
  const Map* current = snapshot_.load(std::memory_order_acquire);
  if (const ClientPtr* found = current->find(key)) return *found;
  if (auto it = inflight_.find(key); it != inflight_.end()) {
    Shared pending = it->second;
    ++counters_.joined;
    lock.unlock();
    return pending.get();  // a copy: the error (or client) of that one creation
  }

  std::promise<Result<ClientPtr>> promise;
  inflight_.emplace(key, promise.get_future().share());
  std::vector<Key> conflicting;
  if (hooks_.conflicts) {
    for (const auto& entry : *current)
      if (hooks_.conflicts(entry.key, key)) conflicting.push_back(entry.key);
    for (const auto& [pending, future] : inflight_)
      if (!Eq{}(pending, key) && hooks_.conflicts(pending, key)) conflicting.push_back(pending);
    counters_.location_conflicts += conflicting.size();
  }
  lock.unlock();

  if (hooks_.on_conflict)
    for (const Key& cached : conflicting) hooks_.on_conflict(cached, key);

  Result<ClientPtr> created = run_create(key);

  std::unique_ptr<const Map> old;
  lock.lock();
  inflight_.erase(key);  // before waking waiters: after a failure the next call starts afresh
  if (created) {
    auto next = std::make_unique<Map>(*snapshot_.load(std::memory_order_acquire), key, *created);
    count_.store(next->size(), std::memory_order_release);
    old.reset(snapshot_.exchange(next.release(), std::memory_order_seq_cst));
    ++counters_.created;
  } else {
    ++counters_.create_failures;
  }
  lock.unlock();
  promise.set_value(created);
  if (old) detail::synchronize_readers();  // then `old` is freed: no reader can still see it
  return created;
}

template <class Key, class Client, class Hash, class Eq>
auto KeyedCache<Key, Client, Hash, Eq>::run_create(const Key& key) noexcept -> Result<ClientPtr> {
  try {
    Result<ClientPtr> created = hooks_.create(key);
    if (created && !*created)
      return fail(Error::permanent("keyed cache: create returned a null client"));
    return created;
  } catch (const std::exception& e) {
    return fail(Error::permanent(std::string("keyed cache: create threw: ") + e.what()));
  } catch (...) {
    return fail(Error::permanent("keyed cache: create threw a non-standard exception"));
  }
}

// The cache most code wants: one client per canonical (project, location).
template <class Client>
using ClientCache = KeyedCache<ClientKey, Client>;

}  // namespace rebound::pool
