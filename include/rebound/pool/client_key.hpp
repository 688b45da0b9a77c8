// ClientKey — the canonical (project, location) key of a keyed client cache.
//
// The same project is often spelled several ways across a code base
// ("My-Project " / "my-project", "us" / "US", "" / "US"). Caching each
// spelling separately opens one client per spelling; ClientKey::make() maps
// them all onto one canonical key, so they share one client:
//
//   auto key = rebound::pool::ClientKey::make(" My-Project", "us").value();
//   key.project();   // "my-project"
//   key.location();  // "US"  (same key as make("my-project", "") by default)
//
// Canonical form (see docs/pool.md for why):
//   * project: ASCII whitespace trimmed, lowercased (GCP project ids are
//     lowercase only, so "My-Project" can only mean "my-project"); must be
//     non-empty and use only [a-z0-9-] after lowercasing.
//   * location: trimmed; empty means the default location (kDefaultLocation
//     unless given); case-insensitive. Multi-regions (no '-': "US", "EU")
//     are uppercased, regions ("us-central1", "europe-west2") lowercased —
//     the spellings BigQuery itself reports. Only [A-Za-z0-9-] allowed.
// Anything else fails with a permanent Error naming the offending value.
//
// Two keys for the same project but different locations are legitimate
// (one client per location) but usually a bug — the "same project cached
// twice" pitfall of docs/pool.md; KeyedCache reports them via location_conflict().
//
// Thread safety: immutable value type.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "rebound/core/error.hpp"

namespace rebound::pool {

inline constexpr std::string_view kDefaultLocation = "US";

class ClientKey {
 public:
  // Canonicalises and validates. Errors (permanent) name the bad value:
  //   invalid project "my_proj": only letters, digits and '-' are allowed (found '_' at 2)
  [[nodiscard]] static Result<ClientKey> make(std::string_view project,
                                              std::string_view location = {},
                                              std::string_view default_location = kDefaultLocation);

  [[nodiscard]] const std::string& project() const noexcept { return project_; }
  [[nodiscard]] const std::string& location() const noexcept { return location_; }
  // Computed once in make(): cache lookups never rehash the strings.
  [[nodiscard]] std::size_t hash() const noexcept { return hash_; }
  // "my-project@US" — for logs and error messages.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const ClientKey& a, const ClientKey& b) noexcept {
    return a.hash_ == b.hash_ && a.project_ == b.project_ && a.location_ == b.location_;
  }

 private:
  ClientKey(std::string project, std::string location);

  std::string project_;
  std::string location_;
  std::size_t hash_ = 0;
};

// Canonical location for a spelling ("us" -> "US", "US-Central1" -> "us-central1");
// empty input is an error here (ClientKey::make substitutes the default first).
[[nodiscard]] Result<std::string> canonical_location(std::string_view location);

// Canonical project id for a spelling (" My-Project" -> "my-project").
[[nodiscard]] Result<std::string> canonical_project(std::string_view project);

// True when `a` and `b` name the same project in different locations.
[[nodiscard]] bool location_conflict(const ClientKey& a, const ClientKey& b) noexcept;

struct ClientKeyHash {
  [[nodiscard]] std::size_t operator()(const ClientKey& k) const noexcept { return k.hash(); }
};

}  // namespace rebound::pool

template <>
struct std::hash<rebound::pool::ClientKey> {
  std::size_t operator()(const rebound::pool::ClientKey& k) const noexcept { return k.hash(); }
};
