// bigquery::Emulator — a local BigQuery REST v2 server on 127.0.0.1 that
// behaves like the real service where it matters to a retrying client (jobs
// that go PENDING → RUNNING → DONE, the exact 409 for a reused job id,
// requestId dedup, resumable uploads, DML conflicts and quotas) and
// misbehaves on demand (fault rules: docs/emulator-bigquery.md). Data lives in SQLite:
// in memory, or in a file under Options::data_dir that survives a restart.
//
//   using namespace rebound::emulator::bigquery;
//   auto bq = Emulator::start({.project = "p", .pending_polls = 1, .running_polls = 1}).value();
//   client->post(bq->url() + "/bigquery/v2/projects/p/datasets",
//                R"({"datasetReference":{"datasetId":"ds"}})");
//   bq->add_faults(R"({"faults":[{"method":"POST","path":"/jobs$",
//                      "action":{"kind":"acceptThenDrop"}}]})");
//   bq->advance_clock(std::chrono::minutes{16});  // requestIds and buffers expire
//
// The wire contract it follows is docs/emulator-bigquery.md (which points at
// the BigQuery contract); what it does not model is listed there too.
//
// Thread safety: thread-safe. Requests are served one thread per connection;
// the catalog, jobs and SQLite share one mutex, so effects are serialised.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rebound/core/error.hpp"

namespace rebound::emulator::bigquery {

// Behaviours the contract marks *unconfirmed*: each is a switch, defaults
// are the contract's recommendation.
struct Unconfirmed {
  // Reasons carried by the modelled DML failures (HTTP 400 when surfaced).
  std::string serialize_reason = "invalidQuery";
  std::string streaming_buffer_reason = "invalidQuery";
  std::string merge_duplicate_reason = "invalidQuery";
  // Invalid SQL: false ⇒ the job is created and ends DONE + invalidQuery;
  // true ⇒ jobs.insert itself answers 400 invalidQuery.
  bool invalid_sql_fails_insert = false;
  // A load into a missing dataset (or a missing table under CREATE_NEVER):
  // true ⇒ 404 from jobs.insert; false ⇒ the job ends DONE + notFound.
  bool missing_table_fails_insert = true;
  // Resumable uploads: where a duplicate job id surfaces (initiate or final PUT).
  bool duplicate_at_initiate = false;
  // An unknown or expired upload session: 404, or 410 when true.
  bool expired_upload_is_410 = false;
  // errorResult.location of a bad uploaded record.
  std::string upload_error_location = "upload";
  // "Not found: Job {p}:{LOC}.{id}" when true, "Not found: Job {p}:{id}" otherwise.
  bool not_found_job_with_location = true;
  // Include "status" in error bodies (google-cloud-rust's payloads carry it).
  bool error_status_field = true;
  std::string unauthenticated_message =
      "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
      "cookie or other valid authentication credential.";
};

struct Options {
  std::string project = "emulator-project";  // the default project (others are accepted too)
  std::string data_dir;                      // empty: in memory
  int port = 0;                              // 0: any free port
  std::uint64_t seed = 1;                    // fault probabilities
  // Job timing: a job stays PENDING for `pending_polls` observations
  // (jobs.get, or one long-poll step), then RUNNING for `running_polls`
  // and at least `job_latency` of virtual time, then DONE.
  int pending_polls = 1;
  int running_polls = 1;
  std::chrono::milliseconds job_latency{0};
  // Two mutating DML jobs on one table whose RUNNING windows overlap: the
  // one finishing later fails with "Could not serialize access…".
  bool dml_conflicts = false;
  int max_dml_jobs_per_table = 20;  // pending + running; more ⇒ 403 quotaExceeded (0: no cap)
  // Table update operations allowed per window; more ⇒ 403 rateLimitExceeded (0: no limit).
  int table_updates_per_window = 0;
  std::chrono::milliseconds table_update_window{std::chrono::seconds{10}};
  std::chrono::milliseconds streaming_buffer_duration{std::chrono::seconds{90}};
  std::chrono::milliseconds request_id_ttl{std::chrono::minutes{15}};
  std::chrono::milliseconds upload_session_ttl{std::chrono::hours{24 * 7}};
  // Virtual clock: nullopt ⇒ real time (plus advance_clock offsets); a value
  // ⇒ frozen at that Unix ms until advance_clock/set_clock move it.
  std::optional<std::int64_t> frozen_clock_ms;
  // Auth: BigQuery routes need a Bearer token issued by /token or the
  // metadata routes (or a self-signed JWT) when set.
  bool require_auth = false;
  std::string service_account_public_key_pem;  // verifies RS256 assertions
  std::vector<std::string> refresh_tokens;     // accepted refresh_token grants
  int token_lifetime_s = 3600;
  Unconfirmed unconfirmed;
};

// One served request, as the control endpoint GET /__emulator/requests shows it.
struct LoggedRequest {
  std::string method;
  std::string path;
  std::string query;
  std::string content_type;
  bool had_authorization = false;
  std::string body_sha256;  // hex
  std::string body_head;    // the first KiB
  int status = 0;           // 0 when no reply was sent
  std::string fault;        // the applied fault's kind, or empty
};

class Emulator {
 public:
  // Validates the options, opens the store and starts serving. Errors are
  // permanent and name the bad option (port in use, unreadable key, …).
  [[nodiscard]] static Result<std::unique_ptr<Emulator>> start(Options options);

  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // "http://127.0.0.1:PORT" (no trailing slash).
  [[nodiscard]] std::string url() const;
  [[nodiscard]] int port() const noexcept;
  [[nodiscard]] const Options& options() const noexcept;

  // Arms fault rules from {"faults":[…]} (faults.hpp). Errors name the bad rule.
  [[nodiscard]] Status add_faults(const std::string& json);
  void clear_faults();
  // Drops every dataset, table, job, upload session, requestId and fault.
  void reset();
  // Virtual clock (Unix ms).
  [[nodiscard]] std::int64_t now_ms() const;
  void advance_clock(std::chrono::milliseconds by);
  void set_clock(std::int64_t unix_ms);  // freezes the clock at this time

  // The last 10 000 requests served, oldest first.
  [[nodiscard]] std::vector<LoggedRequest> requests() const;
  // Runs a read-only SELECT on the store (GoogleSQL subset) and returns the
  // rows as JSON text ([{"col":value,…},…]); for test assertions.
  [[nodiscard]] Result<std::string> query_json(const std::string& sql) const;

  struct Impl;

 private:
  explicit Emulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rebound::emulator::bigquery
