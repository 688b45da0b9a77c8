// One test per fault group of contract §6.6 (status, body, side effects or
// none), the modelled DML conflicts, quota and rate limit, and the control
// plane. Faults are armed through Emulator::add_faults or POST /__emulator/faults.
#include "bq_fixture.hpp"

#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::emulator::bigquery::test {
namespace {

const json kT =
    json::array({{{"name", "id"}, {"type", "INTEGER"}}, {{"name", "v"}, {"type", "STRING"}}});

class BqFaults : public BqTest {
 protected:
  void SetUp() override {
    BqTest::SetUp();
    make_dataset("ds");
    make_table("ds", "t", kT);
  }
  void arm(const json& rules) {
    auto s = emu_->add_faults(json{{"faults", rules}}.dump());
    ASSERT_THAT(s, IsOk());
  }
  std::int64_t count() {
    return rows("SELECT COUNT(*) AS n FROM ds.t")[0]["n"].get<std::int64_t>();
  }
  std::string last_fault() { return emu_->requests().back().fault; }
};

TEST_F(BqFaults, Group1ServerErrorsInJsonAndUnstructuredVariantsCreateNothing) {
  arm({{{"method", "POST"},
        {"path", "/jobs$"},
        {"times", 1},
        {"action", {{"kind", "error"}, {"status", 503}, {"reason", "backendError"}}}},
       {{"method", "POST"},
        {"path", "/jobs$"},
        {"nth", 2},
        {"times", 1},
        {"action", {{"kind", "error"}, {"status", 502}, {"body", "html"}}}}});
  const std::string insert = query_job("j", "INSERT INTO ds.t (id) VALUES (1)").dump();
  auto first = raw_call("POST", "/bigquery/v2/projects/p/jobs", insert);
  ASSERT_EQ(first.status, 503) << first.body;
  EXPECT_EQ(first.j["error"]["errors"][0]["reason"], "backendError");
  EXPECT_EQ(first.j["error"]["status"], "UNAVAILABLE");
  EXPECT_EQ(last_fault(), "error");
  auto second = raw_call("POST", "/bigquery/v2/projects/p/jobs", insert);
  EXPECT_EQ(second.status, 502);
  EXPECT_TRUE(second.j.is_discarded()) << "the unstructured variant is HTML";
  EXPECT_NE(second.body.find("<html>"), std::string::npos);
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/j?location=US").status, 404) << "no job was created";
  auto third =
      post("/bigquery/v2/projects/p/jobs", query_job("j", "INSERT INTO ds.t (id) VALUES (1)"));
  EXPECT_EQ(third.status, 200) << "the rules are spent";
}

TEST_F(BqFaults, Group2RateAndQuotaErrorsAnd429WithoutReasons) {
  arm({{{"path", "/queries$"},
        {"times", 1},
        {"action", {{"kind", "error"}, {"status", 403}, {"reason", "rateLimitExceeded"}}}},
       {{"path", "/queries$"},
        {"nth", 2},
        {"times", 1},
        {"action", {{"kind", "error"}, {"status", 403}, {"reason", "quotaExceeded"}}}},
       {{"path", "/queries$"},
        {"nth", 3},
        {"times", 1},
        {"action", {{"kind", "error"}, {"status", 429}}}}});
  auto rate = query("SELECT 1");
  EXPECT_EQ(rate.status, 403);
  EXPECT_EQ(rate.j["error"]["errors"][0]["reason"], "rateLimitExceeded");
  EXPECT_TRUE(rate.j["error"]["message"].get<std::string>().starts_with(
      "Exceeded rate limits: too many table update operations"));
  auto quota = query("SELECT 1");
  EXPECT_EQ(quota.j["error"]["errors"][0]["reason"], "quotaExceeded");
  EXPECT_TRUE(quota.j["error"]["message"].get<std::string>().starts_with("Quota exceeded:"));
  auto bare = raw_call("POST", "/bigquery/v2/projects/p/queries",
                       R"({"query":"SELECT 1","useLegacySql":false})");
  EXPECT_EQ(bare.status, 429);
  EXPECT_FALSE(bare.j["error"].contains("errors"));
  EXPECT_EQ(bare.j["error"]["status"], "RESOURCE_EXHAUSTED");
}

TEST_F(BqFaults, Group3PermanentErrors) {
  arm({{{"path", "/tables/t$"},
        {"method", "GET"},
        {"times", 3},
        {"action", {{"kind", "error"}, {"status", 403}, {"reason", "accessDenied"}}}}});
  auto denied = get("/bigquery/v2/projects/p/datasets/ds/tables/t");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.j["error"]["errors"][0]["reason"], "accessDenied");
  emu_->clear_faults();
  arm({{{"path", "/queries$"},
        {"action", {{"kind", "error"}, {"status", 401}, {"reason", "unauthorized"}}}}});
  auto unauth = raw_call("POST", "/bigquery/v2/projects/p/queries",
                         R"({"query":"SELECT 1","useLegacySql":false})");
  EXPECT_EQ(unauth.status, 401);
  EXPECT_EQ(unauth.j["error"]["status"], "UNAUTHENTICATED");
}

TEST_F(BqFaults, Group4ConflictWhenNothingExistsAndLate404AfterIt) {
  arm({{{"path", "/jobs$"}, {"times", 1}, {"action", {{"kind", "duplicate"}}}}});
  auto dup = post("/bigquery/v2/projects/p/jobs", query_job("ghost", "SELECT 1"));
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.j["error"]["message"], "Already Exists: Job p:US.ghost");
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/ghost?location=US").status, 404) << "nothing exists";

  ASSERT_EQ(
      post("/bigquery/v2/projects/p/jobs", query_job("real", "INSERT INTO ds.t (id) VALUES (1)"))
          .status,
      200);
  arm({{{"path", "/jobs$"},
        {"times", 1},
        {"action", {{"kind", "duplicate"}, {"getNotFound", 2}}}}});
  EXPECT_EQ(
      post("/bigquery/v2/projects/p/jobs", query_job("real", "INSERT INTO ds.t (id) VALUES (1)"))
          .status,
      409);
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/real?location=US").status, 404);
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/real?location=US").status, 404);
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/real?location=US").status, 200);
}

TEST_F(BqFaults, Group5FailedQueryJobSurfacesAsHttp400WhileJobsGetShowsErrorResult) {
  arm({{{"path", "/queries$"},
        {"times", 1},
        {"action", {{"kind", "failJob"}, {"reason", "jobBackendError"}}}}});
  auto failed = query("INSERT INTO ds.t (id) VALUES (1)", {{"timeoutMs", 1000}});
  EXPECT_EQ(failed.status, 400);
  EXPECT_EQ(failed.j["error"]["errors"][0]["reason"], "jobBackendError");
  EXPECT_EQ(count(), 0);
  // Find the job through jobs.list and confirm with jobs.get, as clients must.
  auto list = get("/bigquery/v2/projects/p/jobs");
  json job;
  for (const json& j : list.j["jobs"]) {
    if (j["configuration"]["query"]["query"] == "INSERT INTO ds.t (id) VALUES (1)") job = j;
  }
  ASSERT_FALSE(job.is_null());
  auto confirmed = get("/bigquery/v2/projects/p/jobs/" +
                       job["jobReference"]["jobId"].get<std::string>() + "?location=US");
  EXPECT_EQ(confirmed.j["status"]["state"], "DONE");
  EXPECT_EQ(confirmed.j["status"]["errorResult"]["reason"], "jobBackendError");
  auto results = get("/bigquery/v2/projects/p/queries/" +
                     job["jobReference"]["jobId"].get<std::string>() + "?location=US");
  EXPECT_EQ(results.status, 400);
  EXPECT_EQ(results.j["error"]["errors"][0]["reason"], "jobBackendError");
}

TEST_F(BqFaults, Group6FailedJobHasNoEffectForEveryReason) {
  for (const std::string reason : {"backendError", "jobInternalError", "jobRateLimitExceeded",
                                   "invalid", "stopped", "duplicate", "notFound"}) {
    arm({{{"path", "/jobs$"},
          {"times", 1},
          {"action", {{"kind", "failJob"}, {"reason", reason}}}}});
    const std::string id = "f_" + reason;
    ASSERT_EQ(
        post("/bigquery/v2/projects/p/jobs", query_job(id, "INSERT INTO ds.t (id) VALUES (1)"))
            .status,
        200);
    json done = wait_done(id);
    EXPECT_EQ(done["status"]["errorResult"]["reason"], reason);
    EXPECT_EQ(count(), 0) << reason;
  }
  arm({{{"path", "/upload/"},
        {"times", 1},
        {"action", {{"kind", "failJob"}, {"preset", "invalidLoad"}}}}});
  ASSERT_EQ(upload_multipart(load_job("l", "ds", "t"), "{\"id\":1}\n").status, 200);
  json done = wait_done("l");
  EXPECT_EQ(done["status"]["errors"].size(), 3u);
  EXPECT_EQ(done["status"]["errorResult"]["reason"], "invalid");
  EXPECT_EQ(count(), 0);
}

TEST_F(BqFaults, Group7WarningsOnASuccessfulJob) {
  arm({{{"path", "/jobs$"},
        {"action",
         {{"kind", "warnings"},
          {"errors", json::array({{{"reason", "invalid"}, {"message", "minor"}}})}}}}});
  ASSERT_EQ(post("/bigquery/v2/projects/p/jobs", query_job("w", "INSERT INTO ds.t (id) VALUES (1)"))
                .status,
            200);
  json done = wait_done("w");
  EXPECT_FALSE(done["status"].contains("errorResult"));
  EXPECT_EQ(done["status"]["errors"][0]["message"], "minor");
  EXPECT_EQ(count(), 1);
}

TEST_F(BqFaults, Group8SlowJobStaysPendingAndQueriesAnswerIncomplete) {
  arm({{{"path", "/jobs$"},
        {"times", 1},
        {"action", {{"kind", "slowJob"}, {"pendingPolls", 3}, {"runningPolls", 2}}}}});
  ASSERT_EQ(post("/bigquery/v2/projects/p/jobs", query_job("slow", "SELECT 1")).status, 200);
  std::vector<std::string> states;
  for (int i = 0; i < 5; ++i)
    states.push_back(get("/bigquery/v2/projects/p/jobs/slow?location=US").j["status"]["state"]);
  EXPECT_EQ(states, (std::vector<std::string>{"PENDING", "PENDING", "RUNNING", "RUNNING", "DONE"}));

  arm({{{"path", "/queries$"},
        {"times", 1},
        {"action", {{"kind", "slowJob"}, {"incompleteResponses", 2}}}}});
  auto first = query("SELECT 1", {{"timeoutMs", 100}});
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.j["jobComplete"], false);
  EXPECT_FALSE(first.j.contains("rows"));
  const std::string id = first.j["jobReference"]["jobId"];
  EXPECT_EQ(get("/bigquery/v2/projects/p/queries/" + id + "?location=US").j["jobComplete"], false);
  auto done = get("/bigquery/v2/projects/p/queries/" + id + "?location=US");
  EXPECT_EQ(done.j["jobComplete"], true);
  EXPECT_EQ(done.j["rows"][0]["f"][0]["v"], "1");
}

TEST_F(BqFaults, Group9LateVisibilityAfterASuccessfulInsert) {
  arm({{{"path", "/jobs$"}, {"times", 1}, {"action", {{"kind", "lateVisibility"}, {"polls", 2}}}}});
  ASSERT_EQ(
      post("/bigquery/v2/projects/p/jobs", query_job("late", "INSERT INTO ds.t (id) VALUES (1)"))
          .status,
      200);
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/late?location=US").status, 404);
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/late?location=US").status, 404);
  EXPECT_EQ(wait_done("late")["status"]["state"], "DONE");
  EXPECT_EQ(count(), 1);
}

TEST_F(BqFaults, Group10AcceptThenDropRunsTheWorkExactlyOnceAndTheRetryIsAdopted) {
  start(Options{.project = "p", .pending_polls = 0, .running_polls = 0, .frozen_clock_ms = kT0});
  fresh_connections();
  make_dataset("ds");
  make_table("ds", "t", kT);
  arm({{{"method", "POST"},
        {"path", "/jobs$"},
        {"times", 1},
        {"action", {{"kind", "acceptThenDrop"}}}},
       {{"method", "POST"},
        {"path", "/queries$"},
        {"bodyContains", "r-1"},
        {"times", 1},
        {"action", {{"kind", "acceptThenDrop"}, {"reset", true}}}},
       {{"method", "POST"},
        {"path", "/queries$"},
        {"bodyContains", "VALUES (3)"},
        {"times", 1},
        {"action", {{"kind", "acceptThenDrop"}}}},
       {{"method", "POST"},
        {"path", "/upload/"},
        {"times", 1},
        {"action", {{"kind", "acceptThenDrop"}}}},
       {{"method", "POST"},
        {"path", "/tables$"},
        {"times", 1},
        {"action", {{"kind", "acceptThenDrop"}}}},
       {{"method", "DELETE"},
        {"path", "/tables/"},
        {"times", 1},
        {"action", {{"kind", "acceptThenDrop"}}}}});
  // jobs.insert: the job ran; the retry with the same id is 409 and jobs.get adopts it.
  auto lost =
      post("/bigquery/v2/projects/p/jobs", query_job("a1", "INSERT INTO ds.t (id) VALUES (1)"));
  EXPECT_TRUE(lost.transport_error) << lost.status << " " << lost.body << " " << lost.error;
  EXPECT_EQ(
      post("/bigquery/v2/projects/p/jobs", query_job("a1", "INSERT INTO ds.t (id) VALUES (1)"))
          .status,
      409);
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/a1?location=US").j["status"]["state"], "DONE");
  EXPECT_EQ(count(), 1);
  // jobs.query with a requestId: the retry returns the same job, no re-run.
  EXPECT_TRUE(query("INSERT INTO ds.t (id) VALUES (2)", {{"requestId", "r-1"}}).transport_error);
  auto adopted = query("INSERT INTO ds.t (id) VALUES (2)", {{"requestId", "r-1"}});
  EXPECT_EQ(adopted.status, 200) << adopted.body;
  EXPECT_EQ(count(), 2);
  // Without a requestId the dropped query still ran once (and a blind retry would run it again).
  EXPECT_TRUE(query("INSERT INTO ds.t (id) VALUES (3)").transport_error);
  EXPECT_EQ(count(), 3);
  // Multipart upload: the load job exists and ran.
  EXPECT_TRUE(upload_multipart(load_job("up1", "ds", "t"), "{\"id\":4}\n").transport_error);
  EXPECT_EQ(upload_multipart(load_job("up1", "ds", "t"), "{\"id\":4}\n").status, 409);
  EXPECT_EQ(count(), 4);
  // tables.insert / tables.delete: done although unanswered.
  const json t2{{"tableReference", {{"projectId", "p"}, {"datasetId", "ds"}, {"tableId", "t2"}}},
                {"schema", {{"fields", kT}}}};
  EXPECT_TRUE(post("/bigquery/v2/projects/p/datasets/ds/tables", t2).transport_error);
  EXPECT_EQ(post("/bigquery/v2/projects/p/datasets/ds/tables", t2).status, 409);
  EXPECT_TRUE(call("DELETE", "/bigquery/v2/projects/p/datasets/ds/tables/t2").transport_error);
  EXPECT_EQ(call("DELETE", "/bigquery/v2/projects/p/datasets/ds/tables/t2").status, 404);
  int unanswered = 0;
  for (const auto& r : emu_->requests()) unanswered += r.status == 0 && r.fault == "acceptThenDrop";
  EXPECT_EQ(unanswered, 6) << "the log shows no reply for each dropped request";
}

TEST_F(BqFaults, Group11EarlyDropHasNoEffect) {
  fresh_connections();
  arm({{{"path", "/jobs$"},
        {"times", 1},
        {"action", {{"kind", "dropBeforeProcessing"}, {"reset", true}}}}});
  EXPECT_TRUE(
      post("/bigquery/v2/projects/p/jobs", query_job("e", "INSERT INTO ds.t (id) VALUES (1)"))
          .transport_error);
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/e?location=US").status, 404);
  EXPECT_EQ(post("/bigquery/v2/projects/p/jobs", query_job("e", "INSERT INTO ds.t (id) VALUES (1)"))
                .status,
            200);
  wait_done("e");
  EXPECT_EQ(count(), 1);
}

TEST_F(BqFaults, Group12SlowTruncatedAndInvalidResponsesAfterTheWorkIsDone) {
  fresh_connections();
  arm({{{"path", "/jobs$"}, {"times", 1}, {"action", {{"kind", "delay"}, {"ms", 1500}}}},
       {{"path", "/jobs$"}, {"nth", 2}, {"times", 1}, {"action", {{"kind", "truncate"}}}},
       {{"path", "/jobs$"}, {"nth", 3}, {"times", 1}, {"action", {{"kind", "invalidJson"}}}}});
  auto slow = call("POST", "/bigquery/v2/projects/p/jobs", query_job("d1", "SELECT 1").dump(), {},
                   std::chrono::milliseconds{300});
  EXPECT_TRUE(slow.transport_error) << "the client timed out";
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/d1?location=US").status, 200)
      << "the job exists anyway";
  auto cut = post("/bigquery/v2/projects/p/jobs", query_job("d2", "SELECT 1"));
  EXPECT_TRUE(cut.transport_error || cut.j.is_discarded());
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/d2?location=US").status, 200);
  auto garbage = post("/bigquery/v2/projects/p/jobs", query_job("d3", "SELECT 1"));
  EXPECT_EQ(garbage.status, 200);
  EXPECT_TRUE(garbage.j.is_discarded());
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/d3?location=US").status, 200);
}

TEST_F(BqFaults, Group14DmlErrorPresetsOnTheNthDml) {
  arm({{{"path", "/queries$"},
        {"bodyContains", "UPDATE"},
        {"nth", 2},
        {"times", 1},
        {"action", {{"kind", "failJob"}, {"preset", "serialize"}}}}});
  ASSERT_EQ(query("INSERT INTO ds.t (id, v) VALUES (1, 'a')").status, 200);
  EXPECT_EQ(query("UPDATE ds.t SET v = 'b' WHERE id = 1").status, 200);
  auto second = query("UPDATE ds.t SET v = 'c' WHERE id = 1");
  EXPECT_EQ(second.status, 400);
  EXPECT_EQ(second.j["error"]["message"],
            "Could not serialize access to table p:ds.t due to concurrent update");
  EXPECT_EQ(rows("SELECT v FROM ds.t")[0]["v"], "b");
  arm({{{"path", "/queries$"},
        {"bodyContains", "DELETE"},
        {"action", {{"kind", "failJob"}, {"preset", "streamingBuffer"}}}},
       {{"path", "/queries$"},
        {"bodyContains", "MERGE"},
        {"action", {{"kind", "failJob"}, {"preset", "mergeDuplicate"}}}}});
  auto del = query("DELETE FROM ds.t WHERE id = 1");
  EXPECT_EQ(del.j["error"]["message"],
            "UPDATE or DELETE statement over table p.ds.t would affect rows in the streaming "
            "buffer, which is not supported");
  auto merge = query("MERGE ds.t T USING ds.t S ON T.id = S.id WHEN MATCHED THEN DELETE");
  EXPECT_EQ(merge.j["error"]["message"],
            "UPDATE/MERGE must match at most one source row for each target row");
  EXPECT_EQ(count(), 1);
}

TEST_F(BqFaults, ProbabilityRulesAreDeterministicUnderTheSeed) {
  auto pattern = [&](std::uint64_t seed) {
    Options o = default_options();
    o.seed = seed;
    start(o);
    arm({{{"path", "/queries$"},
          {"times", 0},
          {"probability", 0.5},
          {"action", {{"kind", "error"}, {"status", 503}, {"reason", "backendError"}}}}});
    std::string out;
    for (int i = 0; i < 16; ++i) out += query("SELECT 1").status == 503 ? 'x' : '.';
    return out;
  };
  const std::string a = pattern(42);
  EXPECT_EQ(a, pattern(42));
  EXPECT_NE(a.find('x'), std::string::npos);
  EXPECT_NE(a.find('.'), std::string::npos);
}

TEST_F(BqFaults, BadRulesAreRejectedWithTheReason) {
  auto bad =
      emu_->add_faults(R"({"faults":[{"path":"(","action":{"kind":"error","status":500}}]})");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad, HasErrorMessage(HasSubstr("bad path regex")));
  auto kind = emu_->add_faults(R"({"faults":[{"action":{"kind":"explode"}}]})");
  ASSERT_FALSE(kind);
  EXPECT_THAT(kind, HasErrorMessage(HasSubstr("explode")));
}

TEST_F(BqFaults, ControlPlaneArmsFaultsMovesTheClockResetsAndShowsTheLog) {
  auto armed = post(
      "/__emulator/faults",
      {{"faults",
        json::array(
            {{{"path", "/queries$"},
              {"action", {{"kind", "error"}, {"status", 500}, {"reason", "internalError"}}}}})}});
  EXPECT_EQ(armed.status, 200);
  EXPECT_EQ(query("SELECT 1").status, 500);
  EXPECT_EQ(call("DELETE", "/__emulator/faults").status, 200);
  EXPECT_EQ(query("SELECT 1").status, 200);
  auto clock = post("/__emulator/clock", {{"advanceMs", 1000}});
  EXPECT_EQ(clock.j["nowMs"], std::to_string(kT0 + 1000));
  auto log = get("/__emulator/requests");
  ASSERT_GE(log.j["requests"].size(), 2u);
  EXPECT_EQ(log.j["requests"][log.j["requests"].size() - 2]["status"], 500);
  EXPECT_EQ(log.j["requests"][log.j["requests"].size() - 2]["fault"], "error");
  auto sql = post("/__emulator/sql", {{"query", "SELECT COUNT(*) AS n FROM ds.t"}});
  EXPECT_EQ(sql.j["rows"][0]["n"], 0);
  EXPECT_EQ(post("/__emulator/sql", {{"query", "DELETE FROM ds.t WHERE true"}}).status, 400);
  auto seeded =
      post("/__emulator/seed", {{"tables", json::array({{{"datasetId", "ds"},
                                                         {"tableId", "s"},
                                                         {"schema", {{"fields", kT}}},
                                                         {"rows", json::array({{{"id", 1}}})}}})}});
  EXPECT_EQ(seeded.status, 200) << seeded.body;
  EXPECT_EQ(rows("SELECT COUNT(*) AS n FROM ds.s")[0]["n"], 1);
  EXPECT_EQ(post("/__emulator/reset", json::object()).status, 200);
  EXPECT_EQ(get("/bigquery/v2/projects/p/datasets/ds").status, 404);
}

// ---- BigQuery's concurrency and quotas, modelled ----

TEST_F(BqFaults, OverlappingDmlJobsOnOneTableFailTheLaterOneWhenConflictsAreOn) {
  Options o = default_options();
  o.dml_conflicts = true;
  start(o);
  make_dataset("ds");
  make_table("ds", "t", kT);
  ASSERT_EQ(query("INSERT INTO ds.t (id, v) VALUES (1, 'a')").status, 200);
  ASSERT_EQ(post("/bigquery/v2/projects/p/jobs",
                 query_job("m1", "UPDATE ds.t SET v = 'one' WHERE id = 1"))
                .status,
            200);
  ASSERT_EQ(post("/bigquery/v2/projects/p/jobs",
                 query_job("m2", "UPDATE ds.t SET v = 'two' WHERE id = 1"))
                .status,
            200);
  // Both RUNNING, then m1 finishes first and wins; m2 overlapped it and fails.
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/m1?location=US").j["status"]["state"], "RUNNING");
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/m2?location=US").j["status"]["state"], "RUNNING");
  EXPECT_FALSE(wait_done("m1")["status"].contains("errorResult"));
  json m2 = wait_done("m2");
  EXPECT_EQ(m2["status"]["errorResult"]["message"],
            "Could not serialize access to table p:ds.t due to concurrent update");
  EXPECT_EQ(rows("SELECT v FROM ds.t")[0]["v"], "one");
  // Sequential DML does not conflict.
  ASSERT_EQ(post("/bigquery/v2/projects/p/jobs",
                 query_job("m3", "UPDATE ds.t SET v = 'three' WHERE id = 1"))
                .status,
            200);
  EXPECT_FALSE(wait_done("m3")["status"].contains("errorResult"));
}

TEST_F(BqFaults, PerTableDmlCapAndUpdateRateLimit) {
  Options o = default_options();
  o.max_dml_jobs_per_table = 2;
  start(o);
  make_dataset("ds");
  make_table("ds", "t", kT);
  ASSERT_EQ(
      post("/bigquery/v2/projects/p/jobs", query_job("q1", "INSERT INTO ds.t (id) VALUES (1)"))
          .status,
      200);
  ASSERT_EQ(
      post("/bigquery/v2/projects/p/jobs", query_job("q2", "INSERT INTO ds.t (id) VALUES (2)"))
          .status,
      200);
  auto third =
      post("/bigquery/v2/projects/p/jobs", query_job("q3", "INSERT INTO ds.t (id) VALUES (3)"));
  EXPECT_EQ(third.status, 403);
  EXPECT_EQ(third.j["error"]["errors"][0]["reason"], "quotaExceeded");
  EXPECT_EQ(third.j["error"]["message"],
            "Quota exceeded: Your table exceeded quota for total number of dml jobs writing to a "
            "table, pending + running");
  wait_done("q1");
  EXPECT_EQ(
      post("/bigquery/v2/projects/p/jobs", query_job("q3", "INSERT INTO ds.t (id) VALUES (3)"))
          .status,
      200);

  o.max_dml_jobs_per_table = 0;
  o.table_updates_per_window = 2;
  start(o);
  make_dataset("ds");
  make_table("ds", "t", kT);
  EXPECT_EQ(query("INSERT INTO ds.t (id) VALUES (1)").status, 200);
  EXPECT_EQ(query("INSERT INTO ds.t (id) VALUES (2)").status, 200);
  auto limited = query("INSERT INTO ds.t (id) VALUES (3)");
  EXPECT_EQ(limited.status, 403);
  EXPECT_EQ(limited.j["error"]["errors"][0]["reason"], "rateLimitExceeded");
  emu_->advance_clock(std::chrono::seconds{11});
  EXPECT_EQ(query("INSERT INTO ds.t (id) VALUES (3)").status, 200);
  EXPECT_EQ(count(), 3);
}

}  // namespace
}  // namespace rebound::emulator::bigquery::test
