// ReadSection — the reader side of a minimal RCU (read-copy-update) used by
// KeyedCache: readers of an immutable snapshot announce themselves with two
// plain stores; a writer that swapped the snapshot calls synchronize_readers()
// before freeing the old one.
//
//   {
//     rebound::pool::detail::ReadSection section;       // enter
//     const Map* map = snapshot.load(std::memory_order_acquire);
//     ... read *map, copy what you need ...
//   }                                                   // leave
//   // writer: old = snapshot.exchange(next); synchronize_readers(); delete old;
//
// How (the liburcu "memb" flavour): every thread owns one cache-line slot in
// a process-wide registry. Entering stores the current grace epoch into the
// slot, leaving stores 0 — no read-modify-write, no shared cache line. The
// store-load ordering a reader would need a full fence for is supplied by the
// writer instead: synchronize_readers() bumps the epoch and calls
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which runs a full barrier on
// every thread of the process, then waits for each slot that still shows an
// older epoch to go back to 0. A reader that entered before the barrier is
// visible and waited for; one that entered after it sees the new snapshot.
// Where membarrier is unavailable, readers fall back to a seq_cst fence.
//
// Thread safety: ReadSection is per-thread (not nestable, not movable);
// synchronize_readers() is thread-safe and may block briefly (it spins, then
// yields) while readers finish their current section.
#pragma once

#include <atomic>
#include <cstdint>

namespace rebound::pool::detail {

struct alignas(64) ReaderSlot {
  std::atomic<std::uint64_t> epoch{0};  // 0: not reading; else the epoch seen on entry
};

inline std::atomic<std::uint64_t> grace_epoch{1};
// Set once, before the first slot is handed out: membarrier is usable.
inline std::atomic<bool> writer_side_barrier{false};
inline thread_local ReaderSlot* this_thread_reader = nullptr;

// Allocates and registers this thread's slot (once per thread; released at
// thread exit). src/pool/read_section.cpp
[[nodiscard]] ReaderSlot* register_reader();

// Returns once every ReadSection that began before the call has ended.
void synchronize_readers() noexcept;

class ReadSection {
 public:
  ReadSection() noexcept : slot_(this_thread_reader) {
    if (slot_ == nullptr) [[unlikely]]
      slot_ = register_reader();
    // acquire: an epoch bumped by a writer makes its snapshot swap visible here.
    slot_->epoch.store(grace_epoch.load(std::memory_order_acquire), std::memory_order_relaxed);
    if (writer_side_barrier.load(std::memory_order_relaxed)) {
      std::atomic_signal_fence(std::memory_order_seq_cst);  // membarrier does the rest
    } else {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
  }
  ~ReadSection() { slot_->epoch.store(0, std::memory_order_release); }
  ReadSection(const ReadSection&) = delete;
  ReadSection& operator=(const ReadSection&) = delete;

 private:
  ReaderSlot* slot_;
};

}  // namespace rebound::pool::detail
