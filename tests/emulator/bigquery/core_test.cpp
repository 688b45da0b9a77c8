// The emulator's REST surface driven by rebound's own HTTP client: datasets,
// tables, the job lifecycle, the exact 409, multipart loads, jobs.query and
// getQueryResults, MERGE, error bodies, both prefixes and snake_case names.
#include "bq_fixture.hpp"

namespace rebound::emulator::bigquery::test {
namespace {

const json kOrders = json::array({{{"name", "id"}, {"type", "INTEGER"}, {"mode", "REQUIRED"}},
                                  {{"name", "name"}, {"type", "STRING"}}});

TEST_F(BqTest, DatasetAndTableLifecycleWithExactErrorBodies) {
  make_dataset("ds");
  auto dup =
      post("/bigquery/v2/projects/p/datasets", {{"datasetReference", {{"datasetId", "ds"}}}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.j["error"]["errors"][0]["reason"], "duplicate");
  EXPECT_EQ(dup.j["error"]["message"], "Already Exists: Dataset p:ds");

  auto created =
      post("/projects/p/datasets/ds/tables",  // the prefix-less form Node uses
           {{"tableReference", {{"projectId", "p"}, {"datasetId", "ds"}, {"tableId", "t"}}},
            {"schema", {{"fields", kOrders}}},
            {"expirationTime", std::to_string(kT0 + 60000)}});
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.j["id"], "p:ds.t");
  EXPECT_EQ(created.j["numRows"], "0");
  EXPECT_EQ(created.j["location"], "US");
  EXPECT_EQ(created.j["expirationTime"], std::to_string(kT0 + 60000));
  EXPECT_EQ(created.j["creationTime"], std::to_string(kT0));

  auto again =
      post("/bigquery/v2/projects/p/datasets/ds/tables",
           {{"tableReference", {{"projectId", "p"}, {"datasetId", "ds"}, {"tableId", "t"}}}});
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(
      again.body,
      R"({"error":{"code":409,"errors":[{"domain":"global","message":"Already Exists: Table p:ds.t","reason":"duplicate"}],"message":"Already Exists: Table p:ds.t","status":"ALREADY_EXISTS"}})");

  auto got = get("/bigquery/v2/projects/p/datasets/ds/tables/t");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.j["schema"]["fields"][0]["mode"], "REQUIRED");

  auto no_ds =
      post("/bigquery/v2/projects/p/datasets/nope/tables",
           {{"tableReference", {{"projectId", "p"}, {"datasetId", "nope"}, {"tableId", "t"}}}});
  EXPECT_EQ(no_ds.status, 404);
  EXPECT_EQ(no_ds.j["error"]["message"], "Not found: Dataset p:nope");
  EXPECT_EQ(no_ds.j["error"]["status"], "NOT_FOUND");

  auto del = call("DELETE", "/bigquery/v2/projects/p/datasets/ds/tables/t");
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(del.body, "");
  EXPECT_EQ(call("DELETE", "/bigquery/v2/projects/p/datasets/ds/tables/t").status, 404);
  EXPECT_EQ(get("/bigquery/v2/projects/p/datasets/ds/tables/t").status, 404);
}

TEST_F(BqTest, TablesExpireLazilyOnTheVirtualClock) {
  make_dataset("ds");
  auto created =
      post("/bigquery/v2/projects/p/datasets/ds/tables",
           {{"tableReference", {{"projectId", "p"}, {"datasetId", "ds"}, {"tableId", "t"}}},
            {"schema", {{"fields", kOrders}}},
            {"expirationTime", std::to_string(kT0 + 60000)}});
  ASSERT_EQ(created.status, 200);
  emu_->advance_clock(std::chrono::seconds{59});
  EXPECT_EQ(get("/bigquery/v2/projects/p/datasets/ds/tables/t").status, 200);
  emu_->advance_clock(std::chrono::seconds{2});
  EXPECT_EQ(get("/bigquery/v2/projects/p/datasets/ds/tables/t").status, 404);
}

TEST_F(BqTest, QueryJobGoesPendingRunningDoneAndAppliesEffectsOnceAtDone) {
  make_dataset("ds");
  make_table("ds", "t", kOrders);
  auto inserted =
      post("/bigquery/v2/projects/p/jobs",
           query_job("j1", "INSERT INTO `p.ds.t` (id, name) VALUES (1, 'a'), (2, 'b')"));
  ASSERT_EQ(inserted.status, 200) << inserted.body;
  EXPECT_EQ(inserted.j["status"]["state"], "PENDING");
  EXPECT_EQ(inserted.j["id"], "p:US.j1");
  EXPECT_EQ(inserted.j["configuration"]["jobType"], "QUERY");
  EXPECT_EQ(inserted.j["statistics"]["creationTime"], std::to_string(kT0));
  EXPECT_FALSE(inserted.j["statistics"].contains("startTime"));
  EXPECT_EQ(rows("SELECT COUNT(*) AS n FROM ds.t")[0]["n"], 0) << "no effect before DONE";

  auto running = get("/bigquery/v2/projects/p/jobs/j1?location=US");
  EXPECT_EQ(running.j["status"]["state"], "RUNNING");
  EXPECT_TRUE(running.j["statistics"].contains("startTime"));
  EXPECT_EQ(rows("SELECT COUNT(*) AS n FROM ds.t")[0]["n"], 0);

  auto done = get("/bigquery/v2/projects/p/jobs/j1?location=US");
  EXPECT_EQ(done.j["status"]["state"], "DONE");
  EXPECT_FALSE(done.j["status"].contains("errorResult"));
  EXPECT_EQ(done.j["statistics"]["endTime"], std::to_string(kT0));
  EXPECT_EQ(done.j["statistics"]["query"]["statementType"], "INSERT");
  EXPECT_EQ(done.j["statistics"]["query"]["numDmlAffectedRows"], "2");
  EXPECT_EQ(done.j["statistics"]["query"]["dmlStats"]["insertedRowCount"], "2");
  EXPECT_EQ(rows("SELECT COUNT(*) AS n FROM ds.t")[0]["n"], 2);
  get("/bigquery/v2/projects/p/jobs/j1?location=US");  // more polls change nothing
  EXPECT_EQ(rows("SELECT COUNT(*) AS n FROM ds.t")[0]["n"], 2);
}

TEST_F(BqTest, ReusedJobIdIsTheExact409AndWrongLocationIs404) {
  make_dataset("ds");
  ASSERT_EQ(post("/bigquery/v2/projects/p/jobs", query_job("job_1234567890", "SELECT 1")).status,
            200);
  auto dup = post("/bigquery/v2/projects/p/jobs", query_job("job_1234567890", "SELECT 2"));
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(
      dup.body,
      R"({"error":{"code":409,"errors":[{"domain":"global","message":"Already Exists: Job p:US.job_1234567890","reason":"duplicate"}],"message":"Already Exists: Job p:US.job_1234567890","status":"ALREADY_EXISTS"}})");
  auto wrong = get("/bigquery/v2/projects/p/jobs/job_1234567890?location=EU");
  EXPECT_EQ(wrong.status, 404);
  EXPECT_EQ(wrong.j["error"]["message"], "Not found: Job p:EU.job_1234567890");
  EXPECT_EQ(get("/projects/p/jobs/job_1234567890?location=us").status, 200)
      << "location is case-insensitive";
  auto bad_id = post("/bigquery/v2/projects/p/jobs", query_job("bad id!", "SELECT 1"));
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_EQ(bad_id.j["error"]["errors"][0]["reason"], "invalid");
}

TEST_F(BqTest, MultipartLoadThenMergeThenReadBack) {
  make_dataset("staging");
  make_dataset("prod");
  make_table("prod", "orders", kOrders);
  ASSERT_EQ(query("INSERT INTO prod.orders (id, name) VALUES (1, 'old'), (9, 'keep')").status, 200);

  const std::string ndjson = "{\"id\": 1, \"name\": \"new\"}\n{\"id\": \"2\", \"name\": \"two\"}\n";
  auto up = upload_multipart(load_job("load_1", "staging", "orders_tmp",
                                      {{"schema", {{"fields", kOrders}}},
                                       {"writeDisposition", "WRITE_TRUNCATE"},
                                       {"createDisposition", "CREATE_IF_NEEDED"}}),
                             ndjson);
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(up.j["configuration"]["jobType"], "LOAD");
  json done = wait_done("load_1");
  EXPECT_FALSE(done["status"].contains("errorResult")) << done.dump();
  EXPECT_EQ(done["statistics"]["load"]["outputRows"], "2");
  EXPECT_EQ(done["statistics"]["load"]["inputFileBytes"], std::to_string(ndjson.size()));

  auto merged = query(
      "MERGE `p.prod.orders` T USING `p.staging.orders_tmp` S ON T.id = S.id "
      "WHEN MATCHED THEN UPDATE SET name = S.name WHEN NOT MATCHED THEN INSERT ROW");
  ASSERT_EQ(merged.status, 200) << merged.body;
  EXPECT_EQ(merged.j["jobComplete"], true);
  EXPECT_EQ(merged.j["numDmlAffectedRows"], "2");
  EXPECT_EQ(merged.j["dmlStats"]["updatedRowCount"], "1");
  EXPECT_EQ(merged.j["dmlStats"]["insertedRowCount"], "1");

  auto read = query("SELECT id, name FROM prod.orders ORDER BY id");
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.j["totalRows"], "3");
  EXPECT_EQ(read.j["schema"]["fields"][0]["type"], "INTEGER");
  EXPECT_EQ(read.j["rows"][0], json::parse(R"({"f":[{"v":"1"},{"v":"new"}]})"));
  EXPECT_EQ(read.j["rows"][1], json::parse(R"({"f":[{"v":"2"},{"v":"two"}]})"));
  EXPECT_EQ(read.j["rows"][2], json::parse(R"({"f":[{"v":"9"},{"v":"keep"}]})"));
}

TEST_F(BqTest, MergeRunsEveryClauseKindAgainstThePreMergeMatchSet) {
  make_dataset("ds");
  const json fields = json::array({{{"name", "id"}, {"type", "INT64"}},
                                   {{"name", "v"}, {"type", "STRING"}},
                                   {{"name", "flag"}, {"type", "BOOL"}}});
  make_table("ds", "t", fields);
  make_table("ds", "s", fields);
  ASSERT_EQ(query("INSERT INTO ds.t (id, v, flag) VALUES "
                  "(1,'t1',false),(2,'t2',false),(3,'t3',false),(4,'t4',false)")
                .status,
            200);
  ASSERT_EQ(query("INSERT INTO ds.s (id, v, flag) VALUES "
                  "(1,'s1',true),(2,'gone',true),(5,'s5',true),(6,'skip',true)")
                .status,
            200);
  auto merged = query(
      "MERGE INTO ds.t AS T USING (SELECT * FROM ds.s) AS S ON T.id = S.id "
      "WHEN MATCHED AND S.v = 'gone' THEN DELETE "
      "WHEN MATCHED THEN UPDATE SET T.v = S.v, flag = S.flag "
      "WHEN NOT MATCHED BY TARGET AND S.v != @skip THEN INSERT (id, v, flag) VALUES (S.id, S.v, "
      "S.flag) "
      "WHEN NOT MATCHED BY SOURCE AND T.id = 3 THEN UPDATE SET v = 'unmatched' "
      "WHEN NOT MATCHED BY SOURCE THEN DELETE",
      {{"parameterMode", "NAMED"},
       {"queryParameters", json::array({{{"name", "skip"},
                                         {"parameterType", {{"type", "STRING"}}},
                                         {"parameterValue", {{"value", "skip"}}}}})}});
  ASSERT_EQ(merged.status, 200) << merged.body;
  EXPECT_EQ(merged.j["dmlStats"]["updatedRowCount"], "2");   // 1 matched, 3 by source
  EXPECT_EQ(merged.j["dmlStats"]["deletedRowCount"], "2");   // 2 matched 'gone', 4 by source
  EXPECT_EQ(merged.j["dmlStats"]["insertedRowCount"], "1");  // 5 (6 filtered by @skip)
  EXPECT_EQ(
      rows("SELECT id, v, flag FROM ds.t ORDER BY id"),
      json::parse(
          R"([{"id":1,"v":"s1","flag":1},{"id":3,"v":"unmatched","flag":0},{"id":5,"v":"s5","flag":1}])"));
  auto read = query("SELECT flag FROM ds.t WHERE id = 1");
  EXPECT_EQ(read.j["rows"][0]["f"][0]["v"], "true");
  EXPECT_EQ(read.j["schema"]["fields"][0]["type"], "BOOLEAN");
}

TEST_F(BqTest, MergeWithTwoSourceRowsForOneTargetRowFailsWithNoEffect) {
  make_dataset("ds");
  make_table("ds", "t", kOrders);
  make_table("ds", "s", kOrders);
  ASSERT_EQ(query("INSERT INTO ds.t (id, name) VALUES (1, 'a')").status, 200);
  ASSERT_EQ(query("INSERT INTO ds.s (id, name) VALUES (1, 'x'), (1, 'y'), (2, 'new')").status, 200);
  auto merged = query(
      "MERGE ds.t T USING ds.s S ON T.id = S.id WHEN MATCHED THEN UPDATE SET name = S.name "
      "WHEN NOT MATCHED THEN INSERT ROW");
  EXPECT_EQ(merged.status, 400);
  EXPECT_EQ(merged.j["error"]["message"],
            "UPDATE/MERGE must match at most one source row for each target row");
  EXPECT_EQ(rows("SELECT id, name FROM ds.t"), json::parse(R"([{"id":1,"name":"a"}])"));
}

TEST_F(BqTest, UnsupportedSqlIsInvalidQueryNamingTheConstruct) {
  make_dataset("ds");
  make_table("ds", "t", kOrders);
  auto alter = query("ALTER TABLE ds.t ADD COLUMN x INT64");
  EXPECT_EQ(alter.status, 400);
  EXPECT_EQ(alter.j["error"]["errors"][0]["reason"], "invalidQuery");
  EXPECT_NE(alter.j["error"]["message"].get<std::string>().find("ALTER"), std::string::npos);
  auto unnest = query("SELECT x FROM UNNEST([1, 2]) AS x");
  EXPECT_EQ(unnest.status, 400);
  EXPECT_NE(unnest.j["error"]["message"].get<std::string>().find("not supported"),
            std::string::npos);
  auto no_where = query("UPDATE ds.t SET name = 'x'");
  EXPECT_EQ(no_where.status, 400);
  EXPECT_NE(no_where.j["error"]["message"].get<std::string>().find("WHERE"), std::string::npos);
  auto missing = query("SELECT * FROM ds.nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.j["error"]["message"], "Not found: Table p:ds.nope");
  auto legacy = post("/bigquery/v2/projects/p/queries", {{"query", "SELECT 1"}});
  EXPECT_EQ(legacy.status, 400);
  EXPECT_EQ(legacy.j["error"]["errors"][0]["reason"], "invalidQuery");
  // Via jobs.insert the job is created and fails (contract §8 default).
  auto job = post("/bigquery/v2/projects/p/jobs", query_job("bad_sql", "SELEC 1"));
  ASSERT_EQ(job.status, 200);
  json done = wait_done("bad_sql");
  EXPECT_EQ(done["status"]["errorResult"]["reason"], "invalidQuery");
}

TEST_F(BqTest, SelectOneIsNamedF0AndTypedInteger) {
  auto r = query("SELECT 1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j["schema"]["fields"][0]["name"], "f0_");
  EXPECT_EQ(r.j["schema"]["fields"][0]["type"], "INTEGER");
  EXPECT_EQ(r.j["rows"][0]["f"][0]["v"], "1");
  EXPECT_EQ(r.j["jobReference"]["location"], "US");
}

TEST_F(BqTest, GetQueryResultsPagesWithTokensAndAcceptsSnakeCase) {
  make_dataset("ds");
  make_table("ds", "t", kOrders);
  ASSERT_EQ(
      query("INSERT INTO ds.t (id, name) VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e')").status,
      200);
  ASSERT_EQ(
      post("/bigquery/v2/projects/p/jobs", query_job("sel", "SELECT id FROM ds.t ORDER BY id"))
          .status,
      200);
  auto first = get("/bigquery/v2/projects/p/queries/sel?location=US&maxResults=2&timeoutMs=1000");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.j["jobComplete"], true);
  EXPECT_EQ(first.j["totalRows"], "5");
  ASSERT_EQ(first.j["rows"].size(), 2u);
  const std::string token = first.j["pageToken"];
  auto second = get("/projects/p/queries/sel?location=US&max_results=2&page_token=" + token);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.j["rows"][0]["f"][0]["v"], "3");
  auto none = get("/bigquery/v2/projects/p/queries/sel?location=US&maxResults=0");
  EXPECT_FALSE(none.j.contains("rows"));
  EXPECT_EQ(none.j["totalRows"], "5");
  auto from4 = get("/bigquery/v2/projects/p/queries/sel?location=US&start_index=4");
  EXPECT_EQ(from4.j["rows"].size(), 1u);
}

TEST_F(BqTest, LoadWithBadRecordsFailsWithTheThreeEntryShapeAndChangesNothing) {
  make_dataset("ds");
  make_table("ds", "t", kOrders);
  const std::string data = "{\"id\": 1, \"name\": \"ok\"}\n{\"id\": 2, \"name\": 3}\n";
  ASSERT_EQ(upload_multipart(load_job("bad", "ds", "t"), data).status, 200);
  json done = wait_done("bad");
  const json& err = done["status"]["errorResult"];
  EXPECT_EQ(err["reason"], "invalid");
  EXPECT_EQ(
      err["message"],
      "Error while reading data, error message: JSON table encountered too many errors, "
      "giving up. Rows: 2; errors: 1. Please look into the errors[] collection for more details.");
  ASSERT_EQ(done["status"]["errors"].size(), 3u);
  EXPECT_EQ(done["status"]["errors"][1]["message"],
            "Error while reading data, error message: JSON processing encountered too many errors, "
            "giving up. Rows: 2; errors: 1; max bad: 0; error percent: 0");
  EXPECT_EQ(done["status"]["errors"][2]["message"],
            "Error while reading data, error message: JSON parsing error in row starting at "
            "position 24: Could not convert value to string. Field: name; Value: 3");
  EXPECT_EQ(rows("SELECT COUNT(*) AS n FROM ds.t")[0]["n"], 0);

  // Within maxBadRecords the good rows land and the bad one is counted.
  ASSERT_EQ(upload_multipart(load_job("tolerant", "ds", "t", {{"maxBadRecords", 1}}), data).status,
            200);
  json ok = wait_done("tolerant");
  EXPECT_FALSE(ok["status"].contains("errorResult"));
  EXPECT_EQ(ok["statistics"]["load"]["badRecords"], "1");
  EXPECT_EQ(rows("SELECT COUNT(*) AS n FROM ds.t")[0]["n"], 1);
}

TEST_F(BqTest, LoadDispositionsAndUnknownValues) {
  make_dataset("ds");
  make_table("ds", "t", kOrders);
  const std::string extra = "{\"id\": 1, \"name\": \"a\", \"zzz\": 1}\n";
  ASSERT_EQ(upload_multipart(load_job("u1", "ds", "t"), extra).status, 200);
  EXPECT_NE(wait_done("u1")["status"]["errors"].dump().find("No such field: zzz."),
            std::string::npos);
  ASSERT_EQ(
      upload_multipart(load_job("u2", "ds", "t", {{"ignoreUnknownValues", true}}), extra).status,
      200);
  EXPECT_FALSE(wait_done("u2")["status"].contains("errorResult"));
  ASSERT_EQ(upload_multipart(load_job("u3", "ds", "t", {{"writeDisposition", "WRITE_EMPTY"}}),
                             "{\"id\":2}\n")
                .status,
            200);
  EXPECT_EQ(wait_done("u3")["status"]["errorResult"]["reason"], "duplicate");
  ASSERT_EQ(upload_multipart(load_job("u4", "ds", "t", {{"writeDisposition", "WRITE_TRUNCATE"}}),
                             "{\"id\":7}\n{\"id\":8}\n")
                .status,
            200);
  wait_done("u4");
  EXPECT_EQ(rows("SELECT id FROM ds.t ORDER BY id"), json::parse(R"([{"id":7},{"id":8}])"));
  ASSERT_EQ(upload_multipart(load_job("u5", "ds", "t", {{"writeDisposition", "WRITE_APPEND"}}),
                             "{\"name\":\"no id\"}\n")
                .status,
            200);
  EXPECT_NE(wait_done("u5")["status"]["errors"].dump().find("Missing required field: id."),
            std::string::npos);
  auto never = upload_multipart(
      load_job("u6", "ds", "missing", {{"createDisposition", "CREATE_NEVER"}}), "{}\n");
  EXPECT_EQ(never.status, 404);
  EXPECT_EQ(never.j["error"]["message"], "Not found: Table p:ds.missing");
  auto no_ds = upload_multipart(load_job("u7", "nods", "t"), "{}\n");
  EXPECT_EQ(no_ds.status, 404);
  EXPECT_EQ(no_ds.j["error"]["message"], "Not found: Dataset p:nods");
}

TEST_F(BqTest, JobsQueryRequestIdDedupsFor15VirtualMinutes) {
  make_dataset("ds");
  make_table("ds", "t", kOrders);
  const json extra{{"requestId", "7d4f8a52-0c1e-4c4e-9d7a-8c5a0e7f1b2c"}};
  auto a = query("INSERT INTO ds.t (id) VALUES (1)", extra);
  auto b = query("INSERT INTO ds.t (id) VALUES (1)", extra);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["jobReference"], b.j["jobReference"]);
  EXPECT_EQ(rows("SELECT COUNT(*) AS n FROM ds.t")[0]["n"], 1) << "the duplicate must not re-run";
  auto other = query("INSERT INTO ds.t (id) VALUES (2)", extra);  // same id, different query
  EXPECT_NE(other.j["jobReference"], a.j["jobReference"]);
  emu_->advance_clock(std::chrono::minutes{16});
  auto later = query("INSERT INTO ds.t (id) VALUES (1)", extra);
  EXPECT_NE(later.j["jobReference"], a.j["jobReference"]);
  EXPECT_EQ(rows("SELECT COUNT(*) AS n FROM ds.t")[0]["n"], 3);
  auto too_long = query("SELECT 1", {{"requestId", std::string(37, 'x')}});
  EXPECT_EQ(too_long.status, 400);
}

TEST_F(BqTest, CancelStopsAJobWithNoEffect) {
  make_dataset("ds");
  make_table("ds", "t", kOrders);
  ASSERT_EQ(
      post("/bigquery/v2/projects/p/jobs", query_job("c1", "INSERT INTO ds.t (id) VALUES (1)"))
          .status,
      200);
  auto c = post("/bigquery/v2/projects/p/jobs/c1/cancel?location=US", json::object());
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(c.j["kind"], "bigquery#jobCancelResponse");
  EXPECT_EQ(c.j["job"]["status"]["state"], "DONE");
  EXPECT_EQ(c.j["job"]["status"]["errorResult"]["reason"], "stopped");
  EXPECT_EQ(rows("SELECT COUNT(*) AS n FROM ds.t")[0]["n"], 0);
}

TEST_F(BqTest, TabledataListAndInsertAllWithStreamingBuffer) {
  make_dataset("ds");
  make_table("ds", "t", kOrders);
  auto ins = post("/bigquery/v2/projects/p/datasets/ds/tables/t/insertAll",
                  {{"rows", json::array({{{"insertId", "a"}, {"json", {{"id", 1}, {"name", "x"}}}},
                                         {{"insertId", "b"}, {"json", {{"id", "2"}}}}})}});
  ASSERT_EQ(ins.status, 200) << ins.body;
  EXPECT_FALSE(ins.j.contains("insertErrors"));
  auto table = get("/bigquery/v2/projects/p/datasets/ds/tables/t");
  EXPECT_EQ(table.j["numRows"], "0") << "buffered rows are not in numRows";
  EXPECT_EQ(table.j["streamingBuffer"]["estimatedRows"], "2");
  auto list = get("/bigquery/v2/projects/p/datasets/ds/tables/t/data?maxResults=1");
  EXPECT_EQ(list.j["totalRows"], "2");
  EXPECT_EQ(list.j["rows"][0]["f"][0]["v"], "1");
  EXPECT_EQ(list.j["pageToken"], "1");
  // A bad row fails the request: per-row errors, the good row stopped, nothing stored.
  auto bad = post(
      "/bigquery/v2/projects/p/datasets/ds/tables/t/insertAll",
      {{"rows", json::array({{{"json", {{"id", 3}}}}, {{"json", {{"id", 4}, {"bogus", 1}}}}})}});
  ASSERT_EQ(bad.status, 200);
  ASSERT_EQ(bad.j["insertErrors"].size(), 2u);
  EXPECT_EQ(bad.j["insertErrors"][0]["index"], 1);
  EXPECT_EQ(bad.j["insertErrors"][0]["errors"][0]["location"], "bogus");
  EXPECT_EQ(bad.j["insertErrors"][1]["errors"][0]["reason"], "stopped");
  // DML over the buffer fails with BigQuery's message, until the buffer drains.
  auto upd = query("UPDATE ds.t SET name = 'y' WHERE id = 1");
  EXPECT_EQ(upd.status, 400);
  EXPECT_EQ(upd.j["error"]["message"],
            "UPDATE or DELETE statement over table p.ds.t would affect rows in the streaming "
            "buffer, which is not supported");
  emu_->advance_clock(std::chrono::seconds{91});
  EXPECT_EQ(query("UPDATE ds.t SET name = 'y' WHERE id = 1").status, 200);
  EXPECT_EQ(get("/bigquery/v2/projects/p/datasets/ds/tables/t").j["numRows"], "2");
}

TEST_F(BqTest, QueriesAcrossLocationsAre404AndLocationIsInferred) {
  make_dataset("eu", "EU");
  make_table("eu", "t", kOrders);
  auto wrong = query("SELECT * FROM eu.t", {{"location", "US"}});
  EXPECT_EQ(wrong.status, 404);
  EXPECT_EQ(wrong.j["error"]["message"], "Not found: Dataset p:eu was not found in location US");
  auto inferred = query("SELECT * FROM eu.t");
  ASSERT_EQ(inferred.status, 200) << inferred.body;
  EXPECT_EQ(inferred.j["jobReference"]["location"], "EU");
}

TEST_F(BqTest, JobCompleteFalseWhileJobLatencyHasNotPassedOnTheVirtualClock) {
  Options o = default_options();
  o.job_latency = std::chrono::seconds{5};
  start(o);
  auto first = query("SELECT 1", {{"timeoutMs", 10000}});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.j["jobComplete"], false) << "the frozen clock has not moved 5 s";
  EXPECT_EQ(first.j.size(), 3u) << "only kind, jobReference and jobComplete: " << first.body;
  const std::string id = first.j["jobReference"]["jobId"];
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/" + id + "?location=US").j["status"]["state"],
            "RUNNING");
  emu_->advance_clock(std::chrono::seconds{5});
  auto done = get("/bigquery/v2/projects/p/queries/" + id + "?location=US");
  EXPECT_EQ(done.j["jobComplete"], true);
  EXPECT_EQ(done.j["rows"][0]["f"][0]["v"], "1");
}

}  // namespace
}  // namespace rebound::emulator::bigquery::test
