// The registry and writer side of ReadSection (see read_section.hpp).
#include "rebound/pool/internal/read_section.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace rebound::pool::detail {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<ReaderSlot*> slots;
  bool membarrier = false;
};

bool register_membarrier() {
  // Escape hatch (and how the tests cover the fence fallback): force it off.
  if (const char* off = std::getenv("REBOUND_POOL_NO_MEMBARRIER"); off != nullptr && *off == '1') {
    return false;
  }
  const long supported = ::syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
  return ::syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

// Leaked on purpose: threads may exit (and deregister) during static
// destruction, so the registry must never be destroyed.
Registry& registry() {
  static Registry* r = [] {
    auto* created = new Registry;
    created->membarrier = register_membarrier();
    writer_side_barrier.store(created->membarrier, std::memory_order_relaxed);
    return created;
  }();
  return *r;
}

// Owns this thread's slot; deregisters it when the thread exits.
struct SlotOwner {
  ReaderSlot* slot = new ReaderSlot;
  SlotOwner() {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    r.slots.push_back(slot);
  }
  ~SlotOwner() {
    Registry& r = registry();
    {
      std::lock_guard lock(r.mu);
      r.slots.erase(std::find(r.slots.begin(), r.slots.end(), slot));
    }
    this_thread_reader = nullptr;
    delete slot;
  }
  SlotOwner(const SlotOwner&) = delete;
  SlotOwner& operator=(const SlotOwner&) = delete;
};

}  // namespace

ReaderSlot* register_reader() {
  thread_local SlotOwner owner;
  this_thread_reader = owner.slot;
  return owner.slot;
}

void synchronize_readers() noexcept {
  Registry& r = registry();
  const std::uint64_t target = grace_epoch.fetch_add(1, std::memory_order_seq_cst) + 1;
  if (r.membarrier) {
    // A full barrier on every running thread of this process: any reader's
    // entry store made before it is now visible to the scan below.
    ::syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  std::lock_guard lock(r.mu);  // slots cannot come or go while we scan
  for (const ReaderSlot* slot : r.slots) {
    for (int spins = 0;; ++spins) {
      const std::uint64_t seen = slot->epoch.load(std::memory_order_acquire);
      // 0: not reading. >= target: entered after the bump, sees the new snapshot.
      if (seen == 0 || seen >= target) break;
      if (spins > 64) std::this_thread::yield();  // let a preempted reader finish
    }
  }
}

}  // namespace rebound::pool::detail
