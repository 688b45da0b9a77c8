// ClientKey canonicalisation: one spelling per (project, location).
#include "rebound/pool/client_key.hpp"

#include <algorithm>
#include <string>

namespace rebound::pool {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// Lowercases `s` into a string, or names the first character outside [a-z0-9-].
Result<std::string> lowercase_checked(std::string_view what, std::string_view original,
                                      std::string_view s) {
  if (s.empty()) {
    return fail(Error::permanent("invalid " + std::string(what) + " \"" + std::string(original) +
                                 "\": must not be empty"));
  }
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = lower(s[i]);
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return fail(Error::permanent("invalid " + std::string(what) + " \"" + std::string(original) +
                                   "\": only letters, digits and '-' are allowed (found '" +
                                   std::string(1, s[i]) + "' at " + std::to_string(i) + ")"));
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

Result<std::string> canonical_project(std::string_view project) {
  return lowercase_checked("project", project, trim(project));
}

Result<std::string> canonical_location(std::string_view location) {
  auto lowered = lowercase_checked("location", location, trim(location));
  if (!lowered) return lowered;
  // Multi-regions ("US", "EU") have no '-'; regions ("us-central1") do.
  if (lowered->find('-') == std::string::npos) {
    std::transform(lowered->begin(), lowered->end(), lowered->begin(), upper);
  }
  return lowered;
}

Result<ClientKey> ClientKey::make(std::string_view project, std::string_view location,
                                  std::string_view default_location) {
  auto p = canonical_project(project);
  if (!p) return fail(std::move(p.error()));
  const bool use_default = trim(location).empty();
  auto l = canonical_location(use_default ? default_location : location);
  if (!l) {
    if (use_default) l.error().message += " (the default location, used for an empty location)";
    return fail(std::move(l.error()));
  }
  return ClientKey(std::move(*p), std::move(*l));
}

ClientKey::ClientKey(std::string project, std::string location)
    : project_(std::move(project)), location_(std::move(location)) {
  const std::size_t h1 = std::hash<std::string>{}(project_);
  const std::size_t h2 = std::hash<std::string>{}(location_);
  hash_ = h1 ^ (h2 + 0x9e3779b97f4a7c15ULL + (h1 << 6) + (h1 >> 2));
}

std::string ClientKey::to_string() const { return project_ + "@" + location_; }

bool location_conflict(const ClientKey& a, const ClientKey& b) noexcept {
  return a.project() == b.project() && a.location() != b.location();
}

}  // namespace rebound::pool
