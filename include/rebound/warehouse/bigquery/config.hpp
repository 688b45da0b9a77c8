// config — where a bigquery:// URL points: project, dataset, location,
// endpoint, and whether requests carry a token.
//
//   auto c = rebound::bigquery::parse_url("bigquery://my-proj/stats?location=eu",
//                                         rebound::bigquery::process_env()).value();
//   c.project == "my-proj"; c.dataset == "stats"; c.location == "EU";
//   c.endpoint == "https://bigquery.googleapis.com"; c.anonymous == false;
//
// Parameters: location= (default US; canonicalised like the client cache:
// eu -> EU, Europe-West1 -> europe-west1), endpoint= (scheme://host[:port];
// moves requests, keeps authentication), auth=none (no token: an emulator).
// BIGQUERY_EMULATOR_HOST (scheme required, as python-bigquery reads it) sets
// the endpoint and turns tokens off, unless endpoint= names another one.
// Unknown parameters and malformed names are permanent errors naming them.
//
// Thread safety: value type and pure functions.
#pragma once

#include <string>
#include <string_view>

#include "rebound/core/error.hpp"
#include "rebound/warehouse/bigquery/credentials.hpp"

namespace rebound::bigquery {

inline constexpr std::string_view kDefaultEndpoint = "https://bigquery.googleapis.com";

struct Config {
  std::string project;
  std::string dataset;                                   // the default dataset (may be empty)
  std::string location = "US";                           // canonical
  std::string endpoint = std::string(kDefaultEndpoint);  // no trailing '/'
  bool anonymous = false;                                // true: no token is fetched or sent
};

[[nodiscard]] Result<Config> parse_url(std::string_view url, const Env& env);

// Checks an endpoint: http:// or https://, a host, no path/query. Returns it
// without a trailing '/'.
[[nodiscard]] Result<std::string> validate_endpoint(std::string_view endpoint,
                                                    std::string_view where);

// bigquery://project/dataset?location=EU[&endpoint=…][&auth=none]
[[nodiscard]] std::string display_url(const Config& config);

}  // namespace rebound::bigquery
