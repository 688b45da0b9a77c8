// FrozenMap — an immutable open-addressing hash map: the snapshot type behind
// KeyedCache's lock-free lookups.
//
//   detail::FrozenMap<std::string, int> empty;
//   detail::FrozenMap<std::string, int> one(empty, "a", 1);   // copy + insert
//   const int* v = one.find("a");                              // nullptr if absent
//
// Built once (copy-on-write: a new map per insert), then only read, so it can
// be laid out for reading: entries in one vector, a power-of-two index of
// entry numbers probed linearly, the full hash kept per entry so a probe
// compares keys only when hashes match. Compared with std::unordered_map this
// avoids the prime modulo (a 64-bit division, ~10 ns) and a node per entry.
//
// Thread safety: immutable after construction; any number of readers.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace rebound::pool::detail {

template <class Key, class Value, class Hash, class Eq>
class FrozenMap {
 public:
  struct Entry {
    Key key;
    Value value;
    std::size_t hash;
  };

  FrozenMap() = default;
  // A copy of `base` plus (key, value). `key` must not be in `base`.
  FrozenMap(const FrozenMap& base, Key key, Value value) : entries_(base.entries_) {
    const std::size_t h = Hash{}(key);
    entries_.push_back(Entry{std::move(key), std::move(value), h});
    build_index();
  }

  // The value for `key`, or nullptr.
  [[nodiscard]] const Value* find(const Key& key) const noexcept {
    if (entries_.empty()) return nullptr;
    const std::size_t h = Hash{}(key);
    for (std::size_t i = slot_of(h);; i = (i + 1) & mask_) {
      const std::uint32_t n = index_[i];
      if (n == 0) return nullptr;
      const Entry& e = entries_[n - 1];
      if (e.hash == h && Eq{}(e.key, key)) return &e.value;
    }
  }

  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] auto begin() const noexcept { return entries_.begin(); }
  [[nodiscard]] auto end() const noexcept { return entries_.end(); }

 private:
  // Fibonacci hashing: spreads weak hashes (identity std::hash<int>) over the table.
  [[nodiscard]] std::size_t slot_of(std::size_t h) const noexcept {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(h) * 0x9E3779B97F4A7C15ULL) >>
                                    shift_);
  }

  void build_index() {
    // Load factor <= 1/2 keeps probe sequences short.
    const std::size_t capacity = std::bit_ceil(std::max<std::size_t>(8, entries_.size() * 2));
    index_.assign(capacity, 0);
    mask_ = capacity - 1;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
    for (std::size_t n = 0; n < entries_.size(); ++n) {
      std::size_t i = slot_of(entries_[n].hash);
      while (index_[i] != 0) i = (i + 1) & mask_;
      index_[i] = static_cast<std::uint32_t>(n + 1);
    }
  }

  std::vector<Entry> entries_;
  std::vector<std::uint32_t> index_;  // entry number + 1; 0 = empty
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
};

}  // namespace rebound::pool::detail
