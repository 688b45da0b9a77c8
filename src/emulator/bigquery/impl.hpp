// Emulator::Impl — the state behind the emulator: store, jobs, upload
// sessions, requestIds, streaming buffers, fault rules, tokens and the
// request log, all guarded by one mutex. Split over emulator.cpp (control
// plane), routes.cpp (REST dispatch, datasets, tables), jobs.cpp (jobs and
// their lifecycle), uploads.cpp, faults.cpp and auth.cpp.
//
// Thread safety: every member is guarded by `mu` unless it says otherwise.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <regex>
#include <set>

#include "rebound/emulator/bigquery/emulator.hpp"
#include "rebound/emulator/http_server.hpp"
#include "store.hpp"

namespace rebound::emulator::bigquery {

namespace detail {

using rebound::emulator::Fault;
using rebound::emulator::Reply;
using rebound::emulator::ServerRequest;

enum class JobState { pending, running, done };

struct Job {
  std::string project;
  std::string location;
  std::string id;
  std::string type;  // QUERY or LOAD
  json configuration;
  std::int64_t creation_ms = 0;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  JobState state = JobState::pending;
  int pending_left = 0;
  int running_left = 0;
  std::int64_t latency_ms = 0;  // virtual time RUNNING must last at least
  std::string load_data;
  std::optional<StatementPlan> plan;
  std::optional<BqError> error;  // errorResult once DONE
  json warnings = json::array();
  QueryOutcome result;
  LoadOutcome load;
  // Fault-driven behaviour.
  std::optional<BqError> forced_failure;
  json forced_warnings = json::array();
  int not_found_left = 0;   // jobs.get answers 404 this many more times
  int incomplete_left = 0;  // query long-polls answer jobComplete:false this many more times
  bool cancelled = false;
  bool committed = false;
  std::uint64_t start_seq = 0;
  std::uint64_t end_seq = 0;
};

// A parsed fault rule (the JSON format is in docs/emulator-bigquery.md).
struct FaultRule {
  std::string method;  // empty: any
  std::regex path;
  std::string path_text;
  std::string body_contains;
  int nth = 1;    // first matching call that fires (1-based)
  int times = 1;  // how many times it fires (0: forever)
  double probability = 1.0;
  json action;   // {"kind": …, …}
  int seen = 0;  // matching calls so far
  int fired = 0;
};

struct UploadSession {
  std::string project;
  json job;  // the Job resource sent at initiate
  std::string data;
  std::int64_t created_ms = 0;
  bool expired = false;
  bool done = false;
  std::string job_key;
};

struct BufferEntry {
  std::int64_t until_ms;
  std::int64_t inserted_ms;
  std::int64_t rows;
  std::int64_t bytes;
};

// What a request's matched fault rules ask for, gathered before dispatch.
struct FaultPlan {
  std::optional<Reply> immediate;  // answer this instead of processing
  std::optional<Fault> after;      // process, then this transport fault
  std::optional<std::chrono::milliseconds> delay;
  bool invalid_json = false;
  json job_effects = json::array();  // actions applied to the job the request creates
  std::string names;                 // for the log
};

}  // namespace detail

struct Emulator::Impl {
  Options options;
  std::unique_ptr<rebound::emulator::HttpServer> server;

  mutable std::mutex mu;
  std::condition_variable changed;  // a job advanced; long polls wake
  bool stopping = false;            // set by ~Emulator: long polls return at once
  std::unique_ptr<detail::Store> store;
  std::int64_t clock_offset_ms = 0;
  std::optional<std::int64_t> frozen_ms;
  std::uint64_t seq = 0;
  std::mt19937_64 rng;
  std::map<std::string, std::shared_ptr<detail::Job>> jobs;  // key: p \n LOC \n id
  std::map<std::string, std::pair<std::string, std::int64_t>>
      request_ids;  // key ⇒ (job key, expiry)
  std::map<std::string, detail::UploadSession> uploads;
  std::map<std::string, std::vector<detail::BufferEntry>> buffers;  // storage name ⇒ entries
  std::map<std::string, std::map<std::string, std::int64_t>>
      insert_ids;                                                 // storage name ⇒ id ⇒ expiry
  std::map<std::string, std::deque<std::int64_t>> table_updates;  // rate limit window
  std::vector<detail::FaultRule> fault_rules;
  std::map<std::string, std::int64_t> tokens;  // access token ⇒ expiry ms
  static constexpr std::size_t kLogLimit = 10000;
  std::deque<LoggedRequest> log;  // the last kLogLimit requests

  // emulator.cpp
  [[nodiscard]] std::int64_t now() const;  // needs mu
  [[nodiscard]] std::string random_id(std::string_view prefix);
  [[nodiscard]] detail::Reply json_reply(int status, const detail::json& body) const;
  [[nodiscard]] detail::Reply error_reply(const detail::BqError& e) const;
  [[nodiscard]] detail::Reply handle(const detail::ServerRequest& request);
  // The control plane under /__emulator/ (docs/emulator-bigquery.md), one
  // step per route; nullopt: the route has no such method.
  [[nodiscard]] detail::Reply control(const detail::ServerRequest& request);
  [[nodiscard]] std::optional<detail::Reply> control_faults(const std::string& method,
                                                            const std::string& body);
  [[nodiscard]] detail::Reply control_clock(const std::string& method, const detail::json& body);
  [[nodiscard]] std::optional<detail::Reply> control_requests(const std::string& method);
  [[nodiscard]] detail::Reply control_sql(const detail::json& body);
  [[nodiscard]] detail::Reply control_seed(const detail::json& body);
  [[nodiscard]] detail::BqResult<void> seed_table(const std::string& project,
                                                  const detail::json& table);
  void reset_locked();

  // routes.cpp
  [[nodiscard]] detail::Reply dispatch(const detail::ServerRequest& request,
                                       const std::string& path,
                                       const std::map<std::string, std::string>& query,
                                       detail::FaultPlan& faults,
                                       std::unique_lock<std::mutex>& lock);
  [[nodiscard]] detail::json table_json(const detail::TableInfo& info);
  [[nodiscard]] detail::Reply tables_route(const std::string& method,
                                           const std::vector<std::string>& seg,
                                           const std::map<std::string, std::string>& query,
                                           const std::string& body);
  [[nodiscard]] detail::Reply insert_all(const detail::TableRef& ref, const std::string& body);
  [[nodiscard]] std::int64_t buffered_rows(const std::string& storage_name);

  // jobs.cpp
  [[nodiscard]] detail::BqResult<std::shared_ptr<detail::Job>> create_job(
      const std::string& project, detail::json job, std::string load_data,
      const detail::FaultPlan& faults);
  // create_job's parts: each returns the error that refuses the request.
  [[nodiscard]] std::optional<detail::BqError> configure_query(detail::Job& job,
                                                               std::string& location);
  [[nodiscard]] std::optional<detail::BqError> configure_load(detail::Job& job,
                                                              std::string& location,
                                                              std::string load_data);
  [[nodiscard]] std::optional<detail::BqError> check_table_limits(const detail::Job& job);
  [[nodiscard]] std::shared_ptr<detail::Job> find_job(const std::string& project,
                                                      const std::string& id,
                                                      const std::string& location);
  [[nodiscard]] detail::json job_json(const detail::Job& job) const;
  void observe(detail::Job& job);
  void settle(detail::Job& job);
  void finish(detail::Job& job);
  [[nodiscard]] std::optional<detail::BqError> run_effects(detail::Job& job);
  // Long-polls until DONE or `timeout` (real time, while the clock runs).
  void drive(std::unique_lock<std::mutex>& lock, detail::Job& job,
             std::chrono::milliseconds timeout);
  [[nodiscard]] detail::Reply jobs_route(const std::string& method, const std::string& project,
                                         const std::vector<std::string>& seg,
                                         const std::map<std::string, std::string>& query,
                                         const std::string& body, detail::FaultPlan& faults,
                                         std::unique_lock<std::mutex>& lock);
  [[nodiscard]] detail::Reply query_route(const std::string& project, const std::string& body,
                                          detail::FaultPlan& faults,
                                          std::unique_lock<std::mutex>& lock);
  [[nodiscard]] detail::Reply query_results(detail::Job& job,
                                            const std::map<std::string, std::string>& query,
                                            std::unique_lock<std::mutex>& lock);
  [[nodiscard]] detail::Reply query_response(const detail::Job& job, std::size_t start,
                                             std::optional<std::size_t> max_results,
                                             bool int64_timestamps) const;
  void apply_job_faults(detail::Job& job, const detail::json& effects);

  // uploads.cpp
  [[nodiscard]] detail::Reply upload_route(const detail::ServerRequest& request,
                                           const std::string& project,
                                           const std::map<std::string, std::string>& query,
                                           detail::FaultPlan& faults,
                                           std::unique_lock<std::mutex>& lock);

  [[nodiscard]] detail::Reply upload_multipart(const detail::ServerRequest& request,
                                               const std::string& project,
                                               detail::FaultPlan& faults);
  [[nodiscard]] detail::Reply upload_initiate(const detail::ServerRequest& request,
                                              const std::string& project);
  [[nodiscard]] detail::Reply upload_put(const detail::ServerRequest& request,
                                         const std::string& id, detail::FaultPlan& faults);

  // faults.cpp
  [[nodiscard]] detail::BqResult<std::vector<detail::FaultRule>> parse_faults(
      const std::string& text) const;
  [[nodiscard]] detail::FaultPlan match_faults(const detail::ServerRequest& request);

  // auth.cpp
  [[nodiscard]] std::optional<detail::Reply> auth_route(const detail::ServerRequest& request,
                                                        const std::string& path,
                                                        detail::FaultPlan& faults);
  [[nodiscard]] bool authorized(const detail::ServerRequest& request);
};

namespace detail {
// "max_results" ⇒ "maxResults"; other names unchanged.
[[nodiscard]] std::string camel_case(std::string_view name);
[[nodiscard]] std::map<std::string, std::string> parse_query(std::string_view query);
[[nodiscard]] std::string sha256_hex(std::string_view data);
[[nodiscard]] std::string upper_location(std::string_view location);
[[nodiscard]] std::optional<std::int64_t> to_int(const json& v);
}  // namespace detail

}  // namespace rebound::emulator::bigquery
