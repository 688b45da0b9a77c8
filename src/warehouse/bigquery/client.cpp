// bigquery::Client and the process-wide keyed cache. See client.hpp.
#include "rebound/warehouse/bigquery/client.hpp"

#include "rebound/pool/keyed_cache.hpp"

namespace rebound::bigquery {

Result<std::shared_ptr<Client>> Client::make(ClientOptions options) {
  Credentials credentials = Anonymous{};
  if (!options.config.anonymous) {
    if (options.credentials) {
      credentials = std::move(*options.credentials);
    } else {
      auto found = find_default_credentials(options.env);
      if (!found) return fail(std::move(found.error()));
      credentials = std::move(*found);
    }
    if (std::holds_alternative<Anonymous>(credentials)) options.config.anonymous = true;
  }
  auto http = options.http;
  if (!http) {
    auto made = make_http_client();
    if (!made) return fail(std::move(made.error()));
    http = std::move(*made);
  }
  std::shared_ptr<TokenSource> tokens;
  if (!options.config.anonymous) {
    if (!options.tokens.clock) options.tokens.clock = options.rest.clock;
    if (!options.tokens.sleeper) options.tokens.sleeper = options.rest.sleeper;
    auto made = TokenSource::make(std::move(credentials), http, std::move(options.tokens));
    if (!made) return fail(std::move(made.error()));
    tokens = std::move(*made);
  }
  auto rest = RestClient::make(std::move(options.config), std::move(tokens), std::move(http),
                               std::move(options.rest));
  if (!rest) return fail(std::move(rest.error()));
  auto uploader = Uploader::make(*rest, options.upload);
  if (!uploader) return fail(std::move(uploader.error()));
  return std::make_shared<Client>(std::move(*rest), std::move(*uploader), options.jobs,
                                  std::move(options.ids));
}

Client::Client(std::shared_ptr<RestClient> rest, Uploader uploader, JobOptions jobs,
               Jobs::IdSource ids)
    : rest_(rest), uploader_(std::move(uploader)), jobs_(std::move(rest), jobs, std::move(ids)) {}

std::string Client::identity() const {
  if (rest_->config().anonymous || !rest_->tokens()) return "anonymous (no token)";
  return describe(rest_->tokens()->credentials());
}

namespace {

using Cache = pool::KeyedCache<pool::ClientKey, Client, pool::ClientKeyHash>;

// The cached clients: endpoint from BIGQUERY_EMULATOR_HOST, credentials from ADC.
Result<std::shared_ptr<Client>> create_cached(const pool::ClientKey& key) {
  Config config;
  config.project = key.project();
  config.location = key.location();
  const Env env = process_env();
  if (auto host = env("BIGQUERY_EMULATOR_HOST"); host && !host->empty()) {
    auto endpoint = validate_endpoint(*host, "BIGQUERY_EMULATOR_HOST");
    if (!endpoint) return fail(endpoint.error());
    config.endpoint = std::move(*endpoint);
    config.anonymous = true;
  }
  return Client::make({.config = std::move(config)});
}

Cache& cache() {
  // Deliberately leaked: clients handed out may outlive static destruction.
  static auto* const instance = new std::shared_ptr<Cache>(
      Cache::make({.create = create_cached, .conflicts = nullptr, .on_conflict = nullptr}).value());
  return **instance;
}

}  // namespace

Result<std::shared_ptr<Client>> client(std::string_view project, std::string_view location) {
  return cache().client(project, location);
}

std::size_t client_count() { return cache().client_count(); }

}  // namespace rebound::bigquery
