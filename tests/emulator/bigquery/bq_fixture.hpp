// Shared fixture for the BigQuery emulator tests: an emulator on loopback
// and rebound's own HTTP client with retries off (every attempt is visible),
// plus helpers for JSON calls, multipart bodies and polling a job to DONE.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "rebound/core/headers.hpp"
#include "rebound/emulator/bigquery/emulator.hpp"
#include "rebound/http/client.hpp"
#include "rebound/testing/matchers.hpp"

using rebound::testing::IsOk;

namespace rebound::emulator::bigquery::test {

using json = nlohmann::json;

struct Call {
  int status = 0;
  std::string body;
  json j;
  http::Response response;
  bool transport_error = false;
  std::string error;
};

class BqTest : public ::testing::Test {
 protected:
  void SetUp() override { start(default_options()); }

  // A client that opens a new connection per request: a dropped reply then
  // surfaces as a transport error instead of libcurl's silent re-send on a
  // reused connection.
  void fresh_connections() {
    RetryPolicy none = policies::transient();
    none.max_attempts = 1;
    client_ =
        http::Client::make(
            {.total_timeout = std::chrono::seconds{20}, .reuse_connections = false, .retry = none})
            .value();
  }

  static Options default_options() {
    return Options{.project = "p", .pending_polls = 1, .running_polls = 1, .frozen_clock_ms = kT0};
  }

  void start(Options options) {
    emu_.reset();
    auto emu = Emulator::start(std::move(options));
    ASSERT_THAT(emu, IsOk());
    emu_ = std::move(*emu);
    if (!client_) {
      RetryPolicy none = policies::transient();
      none.max_attempts = 1;
      auto client = http::Client::make({.total_timeout = std::chrono::seconds{20}, .retry = none});
      ASSERT_THAT(client, IsOk());
      client_ = *client;
    }
  }

  Call call(const std::string& method, const std::string& path, const std::string& body = "",
            Headers headers = {}, std::optional<Duration> timeout = std::nullopt) {
    if (!body.empty() && headers.empty()) headers = {{"Content-Type", "application/json"}};
    auto r = client_->send({.method = method,
                            .url = emu_->url() + path,
                            .headers = headers,
                            .body = body,
                            .idempotency = http::Idempotency::not_idempotent,
                            .timeout = timeout});
    Call c;
    const bool status_error = !r && r.error().source == "http" && !r.error().code.empty() &&
                              r.error().code.find_first_not_of("0123456789") == std::string::npos;
    if (status_error) {
      // rebound's client turns 5xx/429/408 into errors without the body; the
      // status is kept (raw_call() reads such bodies).
      c.status = std::stoi(r.error().code);
      c.error = r.error().describe();
      c.j = json::parse("", nullptr, false);
      return c;
    }
    if (!r) {
      c.transport_error = true;
      c.error = r.error().describe();
      return c;
    }
    c.status = r->status;
    c.body = r->body;
    c.j = json::parse(r->body, nullptr, false);
    c.response = *r;
    return c;
  }

  // One HTTP/1.1 exchange on a fresh socket (Connection: close): status and
  // body of any reply, including the 5xx/429 bodies rebound's client drops.
  Call raw_call(const std::string& method, const std::string& path, const std::string& body) {
    Call c;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(emu_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      c.transport_error = true;
      return c;
    }
    const std::string request =
        method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    const auto head_end = out.find("\r\n\r\n");
    if (out.size() < 12 || head_end == std::string::npos) {
      c.transport_error = true;
      return c;
    }
    c.status = std::stoi(out.substr(9, 3));
    c.body = out.substr(head_end + 4);
    c.j = json::parse(c.body, nullptr, false);
    return c;
  }

  Call post(const std::string& path, const json& body) { return call("POST", path, body.dump()); }
  Call get(const std::string& path) { return call("GET", path); }

  void make_dataset(const std::string& ds, const std::string& location = "US") {
    auto c = post("/bigquery/v2/projects/p/datasets",
                  {{"datasetReference", {{"datasetId", ds}}}, {"location", location}});
    ASSERT_EQ(c.status, 200) << c.body;
  }

  void make_table(const std::string& ds, const std::string& table, const json& fields) {
    auto c = post("/bigquery/v2/projects/p/datasets/" + ds + "/tables",
                  {{"tableReference", {{"projectId", "p"}, {"datasetId", ds}, {"tableId", table}}},
                   {"schema", {{"fields", fields}}}});
    ASSERT_EQ(c.status, 200) << c.body;
  }

  // jobs.query with useLegacySql:false; returns the call.
  Call query(const std::string& sql, json extra = json::object()) {
    json body{{"query", sql}, {"useLegacySql", false}};
    body.update(extra);
    return post("/bigquery/v2/projects/p/queries", body);
  }

  // Polls jobs.get until DONE (bounded); returns the final job.
  json wait_done(const std::string& job_id, const std::string& location = "US") {
    json job;
    for (int i = 0; i < 20; ++i) {
      auto c = get("/bigquery/v2/projects/p/jobs/" + job_id + "?location=" + location);
      if (c.status != 200) continue;
      job = c.j;
      if (job["status"]["state"] == "DONE") return job;
    }
    ADD_FAILURE() << "job " << job_id << " never reached DONE: " << job.dump();
    return job;
  }

  json rows(const std::string& sql) {
    auto r = emu_->query_json(sql);
    EXPECT_THAT(r, IsOk());
    return r ? json::parse(*r) : json::array();
  }

  static std::string multipart(
      const json& job, const std::string& data,
      const std::string& boundary = "===============7330845974216740156==") {
    return "--" + boundary + "\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n" +
           job.dump() + "\r\n--" + boundary + "\r\ncontent-type: */*\r\n\r\n" + data + "\r\n--" +
           boundary + "--";
  }

  Call upload_multipart(const json& job, const std::string& data) {
    const std::string boundary = "===============7330845974216740156==";
    return call("POST", "/upload/bigquery/v2/projects/p/jobs?uploadType=multipart",
                multipart(job, data, boundary),
                {{"Content-Type", "multipart/related; boundary=\"" + boundary + "\""}});
  }

  static json load_job(const std::string& id, const std::string& ds, const std::string& table,
                       json extra = json::object()) {
    json load{{"destinationTable", {{"projectId", "p"}, {"datasetId", ds}, {"tableId", table}}},
              {"sourceFormat", "NEWLINE_DELIMITED_JSON"}};
    load.update(extra);
    return {{"jobReference", {{"projectId", "p"}, {"jobId", id}, {"location", "US"}}},
            {"configuration", {{"load", load}}}};
  }

  static json query_job(const std::string& id, const std::string& sql) {
    return {{"jobReference", {{"projectId", "p"}, {"jobId", id}, {"location", "US"}}},
            {"configuration", {{"query", {{"query", sql}, {"useLegacySql", false}}}}}};
  }

  static constexpr std::int64_t kT0 = 1764590400000;  // 2025-12-01T12:00:00Z
  std::unique_ptr<Emulator> emu_;
  std::shared_ptr<http::Client> client_;
};

}  // namespace rebound::emulator::bigquery::test
