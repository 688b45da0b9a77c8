// bigquery::Client — everything one (project, location) needs to talk to
// BigQuery: the pooled HTTP connections, the credentials and their token
// cache, the job runner and the uploader. And the keyed cache that makes
// sure there is one per (project, location) in the process.
//
//   auto c = rebound::bigquery::client("My-Project", "eu").value();  // cached
//   rebound::bigquery::client("my-project", "EU").value() == c;     // same client
//   rebound::bigquery::client_count();                               // 1
//   c->jobs().run("merge", {{"query", {{"query", sql}, {"useLegacySql", false}}}});
//
// client() canonicalises the spellings with pool::ClientKey (project
// lowercased; multi-regions upper-case, regions lower-case: "eu" == "EU",
// "Europe-West1" == "europe-west1"), so one project is never cached twice
// under two spellings (the reference platform's pitfall 3). The cached
// clients read the endpoint from BIGQUERY_EMULATOR_HOST and credentials from
// ADC; Client::make builds an uncached one from explicit options.
//
// Thread safety: thread-safe; share clients across threads.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "rebound/warehouse/bigquery/config.hpp"
#include "rebound/warehouse/bigquery/credentials.hpp"
#include "rebound/warehouse/bigquery/jobs.hpp"
#include "rebound/warehouse/bigquery/rest_client.hpp"
#include "rebound/warehouse/bigquery/token_source.hpp"
#include "rebound/warehouse/bigquery/upload.hpp"

namespace rebound::bigquery {

struct ClientOptions {
  Config config;
  // nullopt: Anonymous when config.anonymous, else find_default_credentials(env).
  std::optional<Credentials> credentials;
  Env env = process_env();
  RestOptions rest = {};
  JobOptions jobs = {};
  UploadOptions upload = {};
  TokenSourceOptions tokens = {};
  std::shared_ptr<http::Client> http;  // null: a BigQuery HTTP client of its own
  Jobs::IdSource ids = random_uuid;
};

class Client {
 public:
  // Errors: credentials that cannot be found or parsed, invalid options (permanent).
  [[nodiscard]] static Result<std::shared_ptr<Client>> make(ClientOptions options);

  [[nodiscard]] const Config& config() const noexcept { return rest_->config(); }
  [[nodiscard]] RestClient& rest() const noexcept { return *rest_; }
  [[nodiscard]] Jobs& jobs() noexcept { return jobs_; }
  [[nodiscard]] const Uploader& uploader() const noexcept { return uploader_; }
  // "service account … (key …)", "anonymous (no token)", … — safe to print.
  [[nodiscard]] std::string identity() const;

  Client(std::shared_ptr<RestClient> rest, Uploader uploader, JobOptions jobs, Jobs::IdSource ids);

 private:
  std::shared_ptr<RestClient> rest_;
  Uploader uploader_;
  Jobs jobs_;
};

// The process's client for (project, location), created on first use.
[[nodiscard]] Result<std::shared_ptr<Client>> client(std::string_view project,
                                                     std::string_view location = {});
// Clients cached now.
[[nodiscard]] std::size_t client_count();

}  // namespace rebound::bigquery
