// Conformance with Google's official clients against an in-process emulator:
// the Node.js @google-cloud/bigquery 9.3.0 package (installed here by the
// test with `npm ci` from the committed lockfile) and the bq command of
// google-cloud-cli. Each creates a table, loads NDJSON (Node: multipart; bq:
// resumable), runs a MERGE, reads the rows back and sees a 409 for a reused
// job id. A missing client is a GTEST_SKIP with the reason, never a pass.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bq_fixture.hpp"

namespace rebound::emulator::bigquery::test {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

Outcome run(const std::string& command) {
  Outcome r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool have(const std::string& program) { return run("command -v " + program).exit_code == 0; }

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

class Conformance : public BqTest {
 protected:
  void SetUp() override {
    // Real clients poll with real sleeps: keep jobs quick and the clock running.
    start(Options{.project = "p", .pending_polls = 1, .running_polls = 1});
  }
};

TEST_F(Conformance, NodeClient) {
  if (!have("node") || !have("npm")) GTEST_SKIP() << "SKIPPED: node or npm is not installed";
  const std::string dir = REBOUND_NODE_CONFORMANCE_DIR;
  if (!std::filesystem::exists(dir + "/node_modules/@google-cloud/bigquery/package.json")) {
    const Outcome install =
        run("cd " + quote(dir) + " && npm ci --no-audit --no-fund --loglevel=error");
    if (install.exit_code != 0) {
      GTEST_SKIP() << "SKIPPED: npm ci could not install @google-cloud/bigquery 9.3.0 (offline?):\n"
                   << install.output;
    }
  }
  const Outcome node = run("cd " + quote(dir) + " && node conformance.js " + emu_->url());
  EXPECT_EQ(node.exit_code, 0) << node.output;
  EXPECT_NE(node.output.find("PASS"), std::string::npos) << node.output;
  bool multipart = false;
  bool with_request_id = false;
  for (const auto& r : emu_->requests()) {
    multipart = multipart || r.query.find("uploadType=multipart") != std::string::npos;
    with_request_id = with_request_id || (r.path.ends_with("/queries") &&
                                          r.body_head.find("requestId") != std::string::npos);
  }
  EXPECT_TRUE(multipart) << "table.load used a multipart upload";
  EXPECT_TRUE(with_request_id) << "query() used jobs.query with a requestId";
}

TEST_F(Conformance, BqCommand) {
  if (!have("bq")) GTEST_SKIP() << "SKIPPED: the bq command (google-cloud-cli) is not installed";
  const std::string discovery =
      "/usr/lib/google-cloud-sdk/platform/bq/discovery_next/bigquery.json";
  if (!std::filesystem::exists(discovery)) {
    GTEST_SKIP() << "SKIPPED: bq's discovery document is missing at " << discovery;
  }
  const auto home =
      std::filesystem::temp_directory_path() / ("rebound-bq-" + std::to_string(::getpid()));
  std::filesystem::create_directories(home);
  const std::string env = "HOME=" + quote(home.string()) +
                          " CLOUDSDK_CONFIG=" + quote((home / "gcloud").string()) + " ";
  const std::string bq = env + "bq --api " + emu_->url() +
                         " --project_id=p --oauth_access_token=emulator-token --headless"
                         " --nouse_gce_service_account --location=US --discovery_file=" +
                         discovery + " ";
  Outcome mk = run(bq + "mk --dataset p:bqds");
  ASSERT_EQ(mk.exit_code, 0) << mk.output;
  ASSERT_EQ(run(bq + "mk --table bqds.orders id:INTEGER,name:STRING").exit_code, 0);
  ASSERT_EQ(run(bq + "query --nouse_legacy_sql \"INSERT INTO bqds.orders (id, name) VALUES (1, "
                     "'old'), (9, 'keep')\"")
                .exit_code,
            0);
  const auto data = home / "data.json";
  std::ofstream(data) << "{\"id\": 1, \"name\": \"new\"}\n{\"id\": 2, \"name\": \"two\"}\n";
  Outcome load = run(bq + "load --source_format=NEWLINE_DELIMITED_JSON --replace bqds.orders_tmp " +
                     quote(data.string()) + " id:INTEGER,name:STRING");
  ASSERT_EQ(load.exit_code, 0) << load.output;
  Outcome merge =
      run(bq +
          "query --nouse_legacy_sql \"MERGE bqds.orders T USING bqds.orders_tmp S ON T.id = S.id "
          "WHEN MATCHED THEN UPDATE SET name = S.name WHEN NOT MATCHED THEN INSERT ROW\"");
  ASSERT_EQ(merge.exit_code, 0) << merge.output;
  Outcome read_out = run(
      bq +
      "query --nouse_legacy_sql --format=json \"SELECT id, name FROM bqds.orders ORDER BY id\"");
  ASSERT_EQ(read_out.exit_code, 0) << read_out.output;
  const auto open = read_out.output.find('[');
  ASSERT_NE(open, std::string::npos) << read_out.output;
  EXPECT_EQ(
      json::parse(read_out.output.substr(open), nullptr, false),
      json::parse(R"([{"id":"1","name":"new"},{"id":"2","name":"two"},{"id":"9","name":"keep"}])"))
      << read_out.output;
  ASSERT_EQ(run(bq + "query --nouse_legacy_sql --job_id=bq_fixed \"SELECT 1\"").exit_code, 0);
  Outcome again = run(bq + "query --nouse_legacy_sql --job_id=bq_fixed \"SELECT 1\"");
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("Already Exists: Job p:US.bq_fixed"), std::string::npos)
      << again.output;
  bool resumable = false;
  for (const auto& r : emu_->requests())
    resumable = resumable || r.query.find("uploadType=resumable") != std::string::npos;
  EXPECT_TRUE(resumable) << "bq load used the resumable protocol";
  std::filesystem::remove_all(home);
}

}  // namespace
}  // namespace rebound::emulator::bigquery::test
