// The writer side of KeyedCache's reader stripes (a minimal RCU grace period).
#include <thread>

#include "rebound/pool/keyed_cache.hpp"

namespace rebound::pool::detail {

void ReaderStripes::synchronize() const noexcept {
  // A stripe that reads zero once after the snapshot was swapped has no
  // reader left from before the swap: every such reader incremented before
  // its snapshot load, which preceded the swap. Later readers see the new
  // snapshot, so they may keep the stripe busy without harm; a reader's
  // critical section is a hash lookup, so zero comes quickly. Spin briefly,
  // then yield so a preempted reader on this core can finish.
  for (const Stripe& stripe : stripes_) {
    for (int spins = 0; stripe.readers.load(std::memory_order_seq_cst) != 0; ++spins) {
      if (spins > 64) std::this_thread::yield();
    }
  }
}

}  // namespace rebound::pool::detail
