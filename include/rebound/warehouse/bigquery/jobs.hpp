// Jobs — BigQuery jobs run exactly once per logical operation, whatever the
// network and the service do (contract §3, §4.5).
//
//   rebound::bigquery::Jobs jobs(rest, {});
//   auto done = jobs.run("merge", {{"query", {{"query", sql}, {"useLegacySql", false}}}});
//   if (!done) return fail(done.error());   // classified; names the job id
//   (*done)["statistics"]["query"]["dmlStats"];
//
// One run():
//   1. picks the job id `<op>_<uuid>_a<n>` (uuid per run, n per attempt) and
//      submits the job (jobs.insert, or the caller's upload) with
//      jobReference.location; the submission is retried with the same id
//      (RestClient);
//   2. a 409 for that id means an earlier send of ours got through: the job
//      is adopted through jobs.get, whose 404s are retried for
//      `visibility_window` (python-bigquery#2134: 404 right after a 409) and
//      whose labels must match this operation's — never a second job;
//   3. polls jobs.get ?location= with backoff (poll_initial ×1.5 up to
//      poll_maximum) until DONE; past `timeout` it calls jobs.cancel and fails;
//   4. DONE without errorResult is success. DONE with errorResult in
//      is_job_retry_reason() — confirmed by jobs.get, never inferred from an
//      ambiguous HTTP error — is re-run as attempt n+1 with a new id, after a
//      full-jitter pause, at most max_attempts runs. Any other errorResult is
//      returned classified (serialization conflicts and quota errors go to the
//      caller's policy, which re-runs the whole unit).
// Sleeps go through the RestClient's injected sleeper; time through its clock.
//
// Thread safety: thread-safe (run() may be called concurrently; counters are atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rebound/warehouse/bigquery/rest_client.hpp"

namespace rebound::bigquery {

struct JobOptions {
  Duration poll_initial = std::chrono::milliseconds{200};
  Duration poll_maximum = std::chrono::seconds{5};
  double poll_multiplier = 1.5;
  Duration visibility_window = std::chrono::seconds{200};  // jobs.get 404s tolerated
  Duration timeout = std::chrono::minutes{30};             // per run; then jobs.cancel
  int max_attempts = 5;                                    // job (re-)runs per run()
  Duration rerun_initial = std::chrono::seconds{1};
  Duration rerun_maximum = std::chrono::seconds{60};
};

struct JobCounters {
  std::atomic<std::uint64_t> submitted{0};  // job attempts started (ids used)
  std::atomic<std::uint64_t> adopted{0};    // 409s resolved by adopting our own job
  std::atomic<std::uint64_t> reruns{0};     // failed jobs re-run with a new id
  std::atomic<std::uint64_t> polls{0};      // jobs.get calls
  std::atomic<std::uint64_t> cancelled{0};  // jobs.cancel calls
};

// A random RFC 4122 version-4 UUID (lowercase, 36 chars).
[[nodiscard]] std::string random_uuid();
// `<op>_<uuid>_a<attempt>`; op characters outside [A-Za-z0-9_-] become '_'.
[[nodiscard]] std::string make_job_id(std::string_view op, std::string_view uuid, int attempt);

class Jobs {
 public:
  // Submits a job resource; must hand a 409 back as a response (accept it).
  using Submit = std::function<Result<http::Response>(const nlohmann::json& job)>;
  using IdSource = std::function<std::string()>;

  Jobs(std::shared_ptr<RestClient> rest, JobOptions options, IdSource ids = random_uuid);

  // Runs one logical job (see the header comment). Returns the final Job
  // resource (DONE, no errorResult), or the classified error.
  [[nodiscard]] Result<nlohmann::json> run(std::string_view op, const nlohmann::json& configuration,
                                           const Submit& submit = {});

  // jobs.insert, accepting 409.
  [[nodiscard]] Result<http::Response> insert(const nlohmann::json& job);
  // jobs.get ?location=; 404s retried for visibility_window when `tolerate_404`.
  [[nodiscard]] Result<nlohmann::json> get(const std::string& job_id, bool tolerate_404);
  // jobs.cancel ?location= (best effort).
  [[nodiscard]] Status cancel(const std::string& job_id);

  [[nodiscard]] const JobCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] RestClient& rest() const noexcept { return *rest_; }

 private:
  [[nodiscard]] Result<nlohmann::json> wait(const std::string& job_id, nlohmann::json state,
                                            TimePoint deadline);
  [[nodiscard]] Result<nlohmann::json> adopt(const std::string& job_id,
                                             const nlohmann::json& labels);

  std::shared_ptr<RestClient> rest_;
  JobOptions options_;
  IdSource ids_;
  JobCounters counters_;
};

// j[name] when j is an object that has it, else a null (never throws, never inserts).
[[nodiscard]] const nlohmann::json& member(const nlohmann::json& j, std::string_view name);
// "DONE" / "RUNNING" / "PENDING" / "" of a Job resource.
[[nodiscard]] std::string job_state(const nlohmann::json& job);
// An int64 carried as a JSON string (or number); 0 when absent.
[[nodiscard]] std::int64_t int64_field(const nlohmann::json& j, std::string_view name);

}  // namespace rebound::bigquery
