// bigquery:// URL parsing. See config.hpp.
#include "rebound/warehouse/bigquery/config.hpp"

#include "rebound/core/percent_decode.hpp"
#include "rebound/pool/client_key.hpp"
#include "rebound/warehouse/identifier.hpp"

namespace rebound::bigquery {

Result<std::string> validate_endpoint(std::string_view endpoint, std::string_view where) {
  std::string e(endpoint);
  while (!e.empty() && e.back() == '/') e.pop_back();
  const std::size_t sep = e.find("://");
  const std::string scheme = sep == std::string::npos ? "" : e.substr(0, sep);
  if (scheme != "http" && scheme != "https") {
    return fail(Error::permanent(std::string(where) + " \"" + std::string(endpoint) +
                                 "\" needs a scheme: http://host:port or https://host"));
  }
  const std::string rest = e.substr(sep + 3);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string::npos) {
    return fail(Error::permanent(std::string(where) + " \"" + std::string(endpoint) +
                                 "\" must be scheme://host[:port] with no path"));
  }
  return e;
}

Result<Config> parse_url(std::string_view url, const Env& env) {
  constexpr std::string_view kScheme = "bigquery://";
  auto bad = [&](const std::string& why) {
    return fail(Error::permanent("invalid BigQuery URL \"" + std::string(url) + "\": " + why +
                                 " (expected bigquery://PROJECT/DATASET?location=EU)"));
  };
  if (!url.starts_with(kScheme)) return bad("it does not start with bigquery://");
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  Config config;
  const auto slash = rest.find('/');
  const std::string_view project = rest.substr(0, slash);
  std::string_view dataset = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (!dataset.empty() && dataset.back() == '/') dataset.remove_suffix(1);
  auto canonical = pool::canonical_project(project);
  if (!canonical) return bad(canonical.error().message);
  config.project = std::move(*canonical);
  if (!dataset.empty()) {
    if (auto ok = warehouse::validate_identifier(dataset, "dataset"); !ok) {
      return bad(ok.error().message);
    }
    config.dataset = std::string(dataset);
  }
  std::optional<std::string> endpoint;
  bool auth_none = false;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string value =
        eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (name == "location") {
      auto loc = pool::canonical_location(value);
      if (!loc) return bad(loc.error().message);
      config.location = std::move(*loc);
    } else if (name == "endpoint") {
      auto e = validate_endpoint(value, "endpoint=");
      if (!e) return bad(e.error().message);
      endpoint = std::move(*e);
    } else if (name == "auth") {
      if (value != "none" && value != "adc") {
        return bad("auth=" + value + " is not known; use auth=none (emulator) or auth=adc");
      }
      auth_none = value == "none";
    } else {
      return bad("unknown parameter \"" + std::string(name) +
                 "\"; known: location, endpoint, auth");
    }
  }
  if (endpoint) {
    config.endpoint = std::move(*endpoint);
  } else if (auto host = env("BIGQUERY_EMULATOR_HOST"); host && !host->empty()) {
    auto e = validate_endpoint(*host, "BIGQUERY_EMULATOR_HOST");
    if (!e) return fail(e.error());
    config.endpoint = std::move(*e);
    config.anonymous = true;
  }
  if (auth_none) config.anonymous = true;
  return config;
}

std::string display_url(const Config& config) {
  std::string out = "bigquery://" + config.project;
  if (!config.dataset.empty()) out += "/" + config.dataset;
  out += "?location=" + config.location;
  if (config.endpoint != kDefaultEndpoint) out += "&endpoint=" + config.endpoint;
  if (config.anonymous) out += "&auth=none";
  return out;
}

}  // namespace rebound::bigquery
