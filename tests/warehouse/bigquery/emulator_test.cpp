// The BigQuery back end end to end against rebound's in-process BigQuery
// emulator: every retryable reason, each job-level failure, accept-then-drop
// on every job-creating call (one job id per operation, rows exact),
// 404-after-409, slow PENDING, resumable upload recovery, token refresh on
// 401 and near expiry, service-account and metadata-server auth against the
// emulator's auth mode, and concurrent writers under DML conflicts and
// quotas. Every sleep goes to a FakeClock: zero wall time.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "rebound/emulator/bigquery/emulator.hpp"
#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/batch_writer.hpp"
#include "rebound/warehouse/bigquery/bigquery_warehouse.hpp"
#include "test_keys.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::bigquery {
namespace {

namespace emu = rebound::emulator::bigquery;
using nlohmann::json;

constexpr std::int64_t kT0 = 1'764'547'200'000;  // 2025-12-01, the emulator's frozen clock

class OnEmulator : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  // Paths the fault rules match (jobs.insert's path also ends the upload path).
  static constexpr const char* kInsert = "^/bigquery/v2/projects/p/jobs$";
  static constexpr const char* kUpload = "^/upload/";

  void start(emu::Options options) {
    // JWTs are dated by the fake clock's wall time: keep it on the emulator's.
    clock_.set_wall(std::chrono::system_clock::time_point{std::chrono::milliseconds{kT0}});
    options.project = "p";
    if (!options.frozen_clock_ms) options.frozen_clock_ms = kT0;
    emu_.reset();
    auto e = emu::Emulator::start(std::move(options));
    ASSERT_THAT(e, IsOk());
    emu_ = std::move(*e);
  }

  std::shared_ptr<Client> client(Credentials credentials = Anonymous{}, UploadOptions upload = {}) {
    const bool anonymous = std::holds_alternative<Anonymous>(credentials);
    auto c = Client::make({.config = {.project = "p",
                                      .dataset = "d",
                                      .location = "US",
                                      .endpoint = emu_->url(),
                                      .anonymous = anonymous},
                           .credentials = std::move(credentials),
                           .env = process_env(),
                           .rest = {.retry = request_retry_policy(),
                                    .request_timeout = std::chrono::seconds{20},
                                    .clock = &clock_,
                                    .sleeper = &clock_,
                                    .seed = 1},
                           .jobs = {},
                           .upload = upload,
                           .tokens = {},
                           .http = nullptr});
    EXPECT_THAT(c, IsOk());
    return *c;
  }
  std::shared_ptr<warehouse::Warehouse> open(std::shared_ptr<Client> c = nullptr) {
    client_ = c ? c : client();
    return make_bigquery_warehouse(client_, {.dataset = "d"}).value();
  }
  warehouse::BatchWriter writer(std::shared_ptr<warehouse::Warehouse> wh,
                                const std::string& table) {
    return warehouse::BatchWriter::make(wh, {.table = table,
                                             .keys = {"id"},
                                             .create_table = true,
                                             .policy = warehouse::default_write_policy(),
                                             .clock = &clock_,
                                             .sleeper = &clock_})
        .value();
  }
  void faults(const json& rules) {
    auto st = emu_->add_faults(json{{"faults", rules}}.dump());
    ASSERT_THAT(st, IsOk());
  }
  json rows_of(const std::string& sql) {
    auto r = emu_->query_json(sql);
    EXPECT_THAT(r, IsOk());
    return r ? json::parse(*r) : json::array();
  }
  std::int64_t count(const std::string& table) {
    json r = rows_of("SELECT count(*) AS n FROM d." + table);
    return r.empty() ? -1 : r[0]["n"].get<std::int64_t>();
  }
  static std::vector<json> batch(int from, int to, const std::string& tag = "v") {
    std::vector<json> out;
    for (int i = from; i < to; ++i) out.push_back({{"id", i}, {"name", tag + std::to_string(i)}});
    return out;
  }
  // Requests whose path ends with `suffix` (and method matches, when given).
  std::vector<emu::LoggedRequest> logged(const std::string& method, const std::string& suffix) {
    std::vector<emu::LoggedRequest> out;
    for (auto& r : emu_->requests()) {
      if ((method.empty() || r.method == method) && r.path.ends_with(suffix)) out.push_back(r);
    }
    return out;
  }
  // Writes 0..n, then asserts every key is there exactly once with its value.
  void write_and_check(const std::string& table, int n = 50) {
    auto wh = open(client_);
    auto out = writer(wh, table).write(batch(0, n));
    ASSERT_THAT(out, IsOk());
    EXPECT_EQ(count(table), n);
    json r = rows_of("SELECT count(DISTINCT id) AS k, min(name) AS lo FROM d." + table);
    EXPECT_EQ(r[0]["k"], n);
  }

  testing::FakeClock clock_;
  std::unique_ptr<emu::Emulator> emu_;
  std::shared_ptr<Client> client_;
};

TEST_F(OnEmulator, EveryRetryableReasonOnEveryCallIsRetriedAndRowsAreExact) {
  const json reasons =
      json::array({json{{"status", 500}, {"reason", "backendError"}},
                   json{{"status", 503}, {"reason", "backendError"}},
                   json{{"status", 500}, {"reason", "internalError"}},
                   json{{"status", 502}, {"reason", "badGateway"}},
                   json{{"status", 403}, {"reason", "rateLimitExceeded"}}, json{{"status", 429}},
                   json{{"status", 503}, {"body", "html"}}});
  int t = 0;
  for (const json& r : reasons) {
    SCOPED_TRACE(r.dump());
    client_ = client();
    json action = r;
    action["kind"] = "error";
    faults({{{"method", "POST"}, {"path", kInsert}, {"times", 1}, {"action", action}},
            {{"method", "POST"}, {"path", kUpload}, {"times", 1}, {"action", action}},
            {{"method", "POST"}, {"path", "/tables$"}, {"times", 1}, {"action", action}},
            {{"method", "GET"}, {"path", "/jobs/"}, {"times", 1}, {"action", action}}});
    write_and_check("reasons_" + std::to_string(t++));
    emu_->clear_faults();
  }
}

TEST_F(OnEmulator, QuotaExceededWaitsUnderTheQuotaRuleThenSucceeds) {
  client_ = client();
  faults({{{"method", "POST"},
           {"path", kInsert},
           {"times", 2},
           {"action", {{"kind", "error"}, {"status", 403}, {"reason", "quotaExceeded"}}}}});
  auto wh = open(client_);
  auto out = writer(wh, "quota").write(batch(0, 10));
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out.report.retry.failures_of(ErrorClass::quota_exceeded), 2);
  EXPECT_EQ(count("quota"), 10);
  const auto sleeps = clock_.sleeps();
  EXPECT_EQ(std::count_if(sleeps.begin(), sleeps.end(),
                          [](Duration d) { return d >= std::chrono::seconds{1}; }),
            2);  // the quota rule's long waits, one per failure (polls are shorter)
}

TEST_F(OnEmulator, RetryableJobFailuresAreReRunWithANewIdAndRowsAreExact) {
  int t = 0;
  for (const char* reason : {"jobBackendError", "jobInternalError", "jobRateLimitExceeded",
                             "backendError", "internalError", "rateLimitExceeded"}) {
    SCOPED_TRACE(reason);
    client_ = client();
    faults({{{"method", "POST"},
             {"path", kInsert},
             {"times", 1},
             {"action", {{"kind", "failJob"}, {"reason", reason}}}},
            {{"method", "POST"},
             {"path", kUpload},
             {"times", 1},
             {"action", {{"kind", "failJob"}, {"reason", reason}}}}});
    write_and_check("jobfail_" + std::to_string(t++));
    EXPECT_EQ(client_->jobs().counters().reruns.load(), 2u);  // the load and the MERGE
    emu_->clear_faults();
  }
}

TEST_F(OnEmulator, SerializationConflictReRunsTheWholeUnit) {
  client_ = client();
  faults({{{"method", "POST"},
           {"path", kInsert},
           {"times", 2},
           {"action", {{"kind", "failJob"}, {"preset", "serialize"}}}}});
  auto wh = open(client_);
  auto out = writer(wh, "serial").write(batch(0, 20));
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out.report.retry.failures_of(ErrorClass::serialization_conflict), 2);
  EXPECT_EQ(out.report.retry.attempts, 3);
  EXPECT_EQ(count("serial"), 20);
}

TEST_F(OnEmulator, PermanentJobFailuresSurfaceWithNothingWrittenAndNoStagingLeft) {
  auto wh = open();
  ASSERT_TRUE(writer(wh, "perm").write(batch(0, 5)));
  faults({{{"method", "POST"},
           {"path", kInsert},
           {"times", 1},
           {"action", {{"kind", "failJob"}, {"preset", "streamingBuffer"}}}}});
  auto out = writer(wh, "perm").write(batch(0, 10, "changed"));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.status.error().error_class, ErrorClass::non_retriable);
  EXPECT_THAT(out, HasErrorMessage(HasSubstr("streaming buffer")));
  EXPECT_EQ(out.report.retry.attempts, 1);
  EXPECT_EQ(count("perm"), 5);
  EXPECT_EQ(rows_of("SELECT name FROM d.perm WHERE id = 1")[0]["name"], "v1");
  // Every staging table created was deleted (the delete runs on the failure path too).
  int created = 0, deleted = 0;
  for (const auto& r : emu_->requests()) {
    if (r.method == "POST" && r.path.ends_with("/tables") && r.status == 200 &&
        r.body_head.find("rebound_stage_") != std::string::npos) {
      ++created;
    }
    if (r.method == "DELETE" && r.path.find("/tables/rebound_stage_") != std::string::npos &&
        r.status / 100 == 2) {
      ++deleted;
    }
  }
  EXPECT_EQ(created, 2);
  EXPECT_EQ(deleted, created);
}

TEST_F(OnEmulator, JobFailuresThatRetryCannotFixAreNotReRun) {
  auto wh = open();
  ASSERT_TRUE(writer(wh, "final").write(batch(0, 5)));
  for (const json& action : {json{{"kind", "failJob"}, {"preset", "invalidLoad"}},
                             json{{"kind", "failJob"}, {"reason", "stopped"}},
                             json{{"kind", "failJob"}, {"reason", "notFound"}},
                             json{{"kind", "failJob"}, {"reason", "duplicate"}},
                             json{{"kind", "failJob"}, {"preset", "mergeDuplicate"}}}) {
    SCOPED_TRACE(action.dump());
    client_ = client();
    wh = open(client_);
    const bool on_load = action.value("preset", "") == "invalidLoad";
    faults({{{"method", "POST"}, {"path", on_load ? kUpload : kInsert}, {"action", action}}});
    auto out = writer(wh, "final").write(batch(0, 10, "changed"));
    ASSERT_FALSE(out);
    EXPECT_FALSE(out.status.error().retriable()) << out.status.error().describe();
    EXPECT_EQ(client_->jobs().counters().reruns.load(), 0u);
    EXPECT_EQ(out.report.retry.attempts, 1);
    EXPECT_EQ(count("final"), 5);  // a failed job has no effect
    emu_->clear_faults();
  }
}

TEST_F(OnEmulator, FailedJobBehindJobsQueryIsReRunWithANewRequestId) {
  auto wh = open();
  ASSERT_TRUE(writer(wh, "q400").write(batch(0, 3)));
  faults({{{"method", "POST"},
           {"path", "/queries$"},
           {"times", 1},
           {"action", {{"kind", "error"}, {"status", 400}, {"reason", "jobBackendError"}}}}});
  const warehouse::Value args[] = {std::int64_t{1}};
  auto n = wh->execute(R"(UPDATE "q400" SET name = 'x' WHERE id = $1)", args);
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, 1);
  const auto sent = logged("POST", "/queries");
  ASSERT_EQ(sent.size(), 2u);
  auto request_id = [](const emu::LoggedRequest& r) {
    const auto at = r.body_head.find("\"requestId\":\"");
    return at == std::string::npos ? std::string{} : r.body_head.substr(at + 13, 36);
  };
  EXPECT_FALSE(request_id(sent[0]).empty());
  EXPECT_NE(request_id(sent[0]), request_id(sent[1]));  // a re-run, not a resend
}

TEST_F(OnEmulator, BrokenResponsesToJobInsertsNeverRunASecondJob) {
  int t = 0;
  for (const json& action : {json{{"kind", "truncate"}}, json{{"kind", "invalidJson"}},
                             json{{"kind", "dropBeforeProcessing"}},
                             json{{"kind", "acceptThenDrop"}, {"reset", true}}}) {
    SCOPED_TRACE(action.dump());
    client_ = client();
    faults({{{"method", "POST"}, {"path", kInsert}, {"times", 1}, {"action", action}}});
    write_and_check("broken_" + std::to_string(t++));
    EXPECT_EQ(client_->jobs().counters().submitted.load(), 2u);
    emu_->clear_faults();
  }
}

TEST_F(OnEmulator, AcceptThenDropOnEveryJobCreatingCallRunsExactlyOneJob) {
  int t = 0;
  for (const char* path : {kInsert, kUpload, "/tables$", "/tables/rebound_stage_"}) {
    SCOPED_TRACE(path);
    client_ = client();
    const std::string method = std::string(path).starts_with("/tables/") ? "DELETE" : "POST";
    faults({{{"method", method},
             {"path", path},
             {"times", 1},
             {"action", {{"kind", "acceptThenDrop"}}}}});
    const std::string table = "drop_" + std::to_string(t++);
    write_and_check(table);
    // One id per operation: the load and the MERGE each used one job id.
    EXPECT_EQ(client_->jobs().counters().submitted.load(), 2u);
    if (std::string(path) == kInsert || std::string(path) == kUpload) {
      EXPECT_EQ(client_->jobs().counters().adopted.load(), 1u);  // the retry met our own job
    }
    // Writing the same rows again changes nothing (an upsert, never an append).
    write_and_check(table);
    emu_->clear_faults();
  }
}

TEST_F(OnEmulator, AcceptThenDropOnJobsQueryIsDeduplicatedByRequestId) {
  auto wh = open();
  ASSERT_TRUE(writer(wh, "rq").write(batch(0, 3)));
  faults({{{"method", "POST"},
           {"path", "/queries$"},
           {"times", 1},
           {"action", {{"kind", "acceptThenDrop"}}}}});
  const warehouse::Value args[] = {std::int64_t{100}, std::string("new")};
  auto n = wh->execute(R"(INSERT INTO "rq" (id, name) VALUES ($1, $2))", args);
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(count("rq"), 4);  // inserted once, though the request was sent twice
  auto sent = logged("POST", "/queries");
  ASSERT_EQ(sent.size(), 2u);
}

TEST_F(OnEmulator, NotFoundRightAfterAConflictIsWaitedOut) {
  client_ = client();
  faults({{{"method", "POST"},
           {"path", kInsert},
           {"times", 1},
           {"action", {{"kind", "acceptThenDrop"}}}},
          {{"method", "POST"},
           {"path", kInsert},
           {"nth", 2},
           {"times", 1},
           {"action", {{"kind", "duplicate"}, {"getNotFound", 3}}}}});
  write_and_check("late404");
  EXPECT_EQ(client_->jobs().counters().adopted.load(), 1u);
}

TEST_F(OnEmulator, SlowPendingJobsArePolledWithBackoff) {
  client_ = client();
  faults({{{"method", "POST"},
           {"path", kInsert},
           {"times", 1},
           {"action", {{"kind", "slowJob"}, {"pendingPolls", 6}, {"runningPolls", 2}}}}});
  write_and_check("slow");
  EXPECT_GE(client_->jobs().counters().polls.load(), 8u);
  const auto sleeps = clock_.sleeps();
  ASSERT_GE(sleeps.size(), 3u);
  EXPECT_LT(sleeps[0], sleeps[2]);  // growing, not a fixed delay
}

TEST_F(OnEmulator, ResumableUploadsRecoverFromFailedChunksShortRangesAndExpiry) {
  const UploadOptions small{.multipart_limit = 1024,
                            .chunk_bytes = kResumableQuantum,
                            .max_restarts = 3,
                            .max_chunk_failures = 8};
  const json cases =
      json::array({json::array(),
                   json::array({json{{"method", "PUT"},
                                     {"path", kUpload},
                                     {"nth", 2},
                                     {"times", 1},
                                     {"action", {{"kind", "error"}, {"status", 503}}}}}),
                   json::array({json{{"method", "POST"},
                                     {"path", kUpload},
                                     {"times", 1},
                                     {"action", {{"kind", "shortRange"}}}}}),
                   json::array({json{{"method", "POST"},
                                     {"path", kUpload},
                                     {"times", 1},
                                     {"action", {{"kind", "expireUpload"}}}}}),
                   json::array({json{{"method", "PUT"},
                                     {"path", kUpload},
                                     {"nth", 3},
                                     {"times", 1},
                                     {"action", {{"kind", "acceptThenDrop"}}}}})});
  int t = 0;
  for (const json& rules : cases) {
    SCOPED_TRACE(rules.dump());
    client_ = client(Anonymous{}, small);
    if (!rules.empty()) faults(rules);
    // ~700 KiB of rows: three 256 KiB chunks.
    std::vector<json> rows;
    for (int i = 0; i < 6000; ++i) {
      rows.push_back({{"id", i}, {"name", std::string(100, static_cast<char>('a' + i % 26))}});
    }
    const std::string table = "big_" + std::to_string(t++);
    auto wh = open(client_);
    auto out = writer(wh, table).write(rows);
    ASSERT_THAT(out, IsOk());
    EXPECT_EQ(count(table), 6000);
    EXPECT_GE(logged("PUT", "").size(), 3u);
    emu_->clear_faults();
  }
}

TEST_F(OnEmulator, ConcurrentWritersUnderDmlConflictsAndQuotasLandEveryKeyOnce) {
  start(
      {.pending_polls = 1, .running_polls = 2, .dml_conflicts = true, .max_dml_jobs_per_table = 4});
  auto wh = open();
  constexpr int kWriters = 8, kRows = 20;
  std::vector<std::thread> threads;
  std::vector<warehouse::WriteOutcome> outcomes(kWriters);
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back(
        [&, w] { outcomes[w] = writer(wh, "shared").write(batch(w * kRows, (w + 1) * kRows)); });
  }
  for (auto& t : threads) t.join();
  int conflicts = 0;
  for (const auto& o : outcomes) {
    ASSERT_THAT(o, IsOk());
    conflicts += o.report.retry.failures_of(ErrorClass::serialization_conflict) +
                 o.report.retry.failures_of(ErrorClass::quota_exceeded);
  }
  EXPECT_EQ(count("shared"), kWriters * kRows);
  RecordProperty("conflicts_and_quota_failures", conflicts);
}

// --- auth against the emulator's auth mode --------------------------------

class AuthOnEmulator : public OnEmulator {
 protected:
  void SetUp() override {
    start({.require_auth = true,
           .service_account_public_key_pem = test::test_key().public_pem,
           .refresh_tokens = {"1/refresh-me"}});
  }
  ServiceAccountKey key() const {
    return {.client_email = "sa@p.iam.gserviceaccount.com",
            .private_key = test::test_key().private_pem,
            .private_key_id = "k1",
            .token_uri = emu_->url() + "/token",
            .project_id = "p",
            .origin = "key.json"};
  }
};

TEST_F(AuthOnEmulator, ServiceAccountJwtIsExchangedAndUsed) {
  client_ = client(key());
  write_and_check("sa");
  EXPECT_EQ(client_->rest().tokens()->fetches(), 1u);
  for (const auto& r : emu_->requests()) {
    if (r.path.find("/projects/") != std::string::npos) {
      EXPECT_TRUE(r.had_authorization) << r.path;
    }
  }
}

TEST_F(AuthOnEmulator, AuthorizedUserAndMetadataServer) {
  client_ = client(AuthorizedUser{.client_id = "cid",
                                  .client_secret = "cs",
                                  .refresh_token = "1/refresh-me",
                                  .token_uri = emu_->url() + "/token",
                                  .quota_project_id = {},
                                  .origin = "adc.json"});
  write_and_check("user");
  client_ = client(MetadataServer{.base_url = emu_->url()});
  write_and_check("metadata");
}

TEST_F(AuthOnEmulator, Unauthenticated401RefreshesOnceAndNearExpiryRefreshesAhead) {
  client_ = client(key());
  faults({{{"method", "GET"},
           {"path", "/tables/"},
           {"times", 1},
           {"action", {{"kind", "error"}, {"status", 401}, {"reason", "unauthorized"}}}}});
  write_and_check("r401");
  EXPECT_EQ(client_->rest().tokens()->fetches(), 2u);
  clock_.advance(std::chrono::minutes{56});  // inside the 5-minute margin
  emu_->advance_clock(std::chrono::minutes{56});
  write_and_check("r401");
  EXPECT_EQ(client_->rest().tokens()->fetches(), 3u);
}

TEST_F(AuthOnEmulator, TokenEndpointFailuresAndWrongKeys) {
  faults({{{"method", "POST"},
           {"path", "^/token$"},
           {"times", 1},
           {"action", {{"kind", "error"}, {"status", 500}}}}});
  client_ = client(key());
  write_and_check("tok500");
  EXPECT_EQ(client_->rest().tokens()->fetches(), 1u);
  // A key the emulator does not trust: invalid_grant, permanent, nothing written.
  ServiceAccountKey other = key();
  other.client_email = "intruder@p.iam.gserviceaccount.com";
  other.private_key = [] {
    EVP_PKEY* k = EVP_RSA_gen(2048);
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string pem(data, static_cast<std::size_t>(n));
    BIO_free(b);
    EVP_PKEY_free(k);
    return pem;
  }();
  auto wh = open(client(other));
  auto out = writer(wh, "intruder").write(batch(0, 3));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.status.error().error_class, ErrorClass::permanent);
  EXPECT_THAT(out, HasErrorMessage(Not(HasSubstr("PRIVATE KEY"))));
}

}  // namespace
}  // namespace rebound::bigquery
