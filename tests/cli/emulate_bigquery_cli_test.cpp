// `rebound emulate bigquery` end to end: the first stdout line is the base
// URL once it accepts, SIGTERM/SIGINT exit 0, --faults arms rules, --data
// survives a restart, and bad options exit 2.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rebound/http/client.hpp"
#include "rebound/testing/matchers.hpp"

namespace {

using json = nlohmann::json;
using rebound::testing::HasErrorCode;

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;
  std::string url;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out) std::fclose(out);
  }
  int stop(int sig) {
    ::kill(pid, sig);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

std::unique_ptr<Child> launch(std::vector<std::string> args) {
  int fds[2];
  if (::pipe(fds) != 0) return nullptr;
  auto child = std::make_unique<Child>();
  child->pid = ::fork();
  if (child->pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv{const_cast<char*>(REBOUND_BINARY), const_cast<char*>("emulate"),
                            const_cast<char*>("bigquery")};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(REBOUND_BINARY, argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  child->out = ::fdopen(fds[0], "r");
  char line[256] = {};
  if (std::fgets(line, sizeof line, child->out)) {
    child->url = line;
    while (!child->url.empty() && child->url.back() == '\n') child->url.pop_back();
  }
  return child;
}

std::shared_ptr<rebound::http::Client> client() {
  auto none = rebound::policies::transient();
  none.max_attempts = 1;
  return rebound::http::Client::make({.retry = none}).value();
}

TEST(EmulateCli, PrintsTheUrlFirstServesAndExitsZeroOnSigterm) {
  const auto faults = std::filesystem::temp_directory_path() /
                      ("rebound-faults-" + std::to_string(::getpid()) + ".json");
  std::ofstream(faults)
      << R"({"faults":[{"path":"/queries$","times":1,"action":{"kind":"error","status":503,"reason":"backendError"}}]})";
  auto child =
      launch({"--port", "0", "--project", "p", "--faults", faults.string(), "--seed", "3"});
  ASSERT_TRUE(child);
  ASSERT_TRUE(child->url.starts_with("http://127.0.0.1:")) << child->url;
  auto c = client();
  const json q{{"query", "SELECT 1"}, {"useLegacySql", false}};
  auto first =
      c->post(child->url + "/projects/p/queries", q.dump(), {{"Content-Type", "application/json"}});
  // rebound's client reports a 503 on a POST as a non-retried status error.
  ASSERT_FALSE(first);
  EXPECT_THAT(first, HasErrorCode("503")) << "the --faults rule fired";
  auto second =
      c->post(child->url + "/projects/p/queries", q.dump(), {{"Content-Type", "application/json"}});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(child->stop(SIGTERM), 0);
  std::filesystem::remove(faults);
}

TEST(EmulateCli, DataDirSurvivesARestartAndSigintExitsZero) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("rebound-bqdata-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto c = client();
  const auto post = [&](const std::string& url, const json& body) {
    auto r = c->post(url, body.dump(), {{"Content-Type", "application/json"}});
    return r ? r->status : -1;
  };
  {
    auto child = launch({"--data", dir.string(), "--project", "p"});
    ASSERT_TRUE(child && !child->url.empty());
    EXPECT_EQ(post(child->url + "/bigquery/v2/projects/p/datasets",
                   {{"datasetReference", {{"datasetId", "ds"}}}}),
              200);
    EXPECT_EQ(
        post(child->url + "/bigquery/v2/projects/p/queries",
             {{"query", "CREATE TABLE ds.t (id INT64, name STRING)"}, {"useLegacySql", false}}),
        200);
    EXPECT_EQ(post(child->url + "/bigquery/v2/projects/p/queries",
                   {{"query", "INSERT INTO ds.t (id, name) VALUES (1, 'kept')"},
                    {"useLegacySql", false}}),
              200);
    EXPECT_EQ(child->stop(SIGINT), 0);
  }
  auto child = launch({"--data", dir.string(), "--project", "p"});
  ASSERT_TRUE(child && !child->url.empty());
  auto r = c->post(child->url + "/bigquery/v2/projects/p/queries",
                   json{{"query", "SELECT name FROM ds.t"}, {"useLegacySql", false}}.dump(),
                   {{"Content-Type", "application/json"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["rows"][0]["f"][0]["v"], "kept") << r->body;
  EXPECT_EQ(child->stop(SIGTERM), 0);
  std::filesystem::remove_all(dir);
}

TEST(EmulateCli, BadOptionsExitTwo) {
  auto child = launch({"--faults", "/nonexistent/faults.json"});
  ASSERT_TRUE(child);
  int status = 0;
  ::waitpid(child->pid, &status, 0);
  child->pid = -1;
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
