// The BigQuery REST protocol against real loopback HTTP servers: token
// fetching and refresh, 401 refresh-and-retry, reason-first request retries,
// job adoption after a 409, confirmed job re-runs, cancel at the deadline,
// and the resumable upload state machine. Zero wall time: every sleep goes
// to a FakeClock.
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "rebound/emulator/http_server.hpp"
#include "rebound/testing/fake_clock.hpp"
#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/bigquery/api_error.hpp"
#include "rebound/warehouse/bigquery/jobs.hpp"
#include "rebound/warehouse/bigquery/rest_client.hpp"
#include "rebound/warehouse/bigquery/token_source.hpp"
#include "rebound/warehouse/bigquery/upload.hpp"
#include "test_keys.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::bigquery {
namespace {

using nlohmann::json;
using rebound::emulator::Fault;
using rebound::emulator::HttpServer;
using rebound::emulator::Reply;
using rebound::emulator::ServerRequest;

std::string form_value(const std::string& body, const std::string& name) {
  const std::string key = name + "=";
  std::size_t pos = 0;
  while ((pos = body.find(key, pos)) != std::string::npos) {
    if (pos == 0 || body[pos - 1] == '&') {
      const auto end = body.find('&', pos);
      return body.substr(pos + key.size(),
                         end == std::string::npos ? std::string::npos : end - pos - key.size());
    }
    pos += key.size();
  }
  return {};
}

Reply json_reply(int status, const json& body) {
  Reply r = Reply::text(status, body.dump());
  r.headers.emplace_back("Content-Type", "application/json; charset=UTF-8");
  return r;
}

Reply bq_error(int status, std::string_view reason, std::string_view message) {
  return json_reply(
      status, {{"error",
                {{"code", status},
                 {"message", message},
                 {"errors", {{{"message", message}, {"domain", "global"}, {"reason", reason}}}}}}});
}

class Protocol : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = HttpServer::start().value();
    http_ = make_http_client(4).value();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  std::shared_ptr<TokenSource> tokens(Credentials creds) {
    return TokenSource::make(std::move(creds), http_,
                             {.refresh_ahead = std::chrono::minutes{5},
                              .scope = std::string(kBigQueryScope),
                              .retry = token_retry_policy(),
                              .request_timeout = std::chrono::seconds{5},
                              .clock = &clock_,
                              .sleeper = &clock_,
                              .seed = 1})
        .value();
  }
  ServiceAccountKey service_account() const {
    return {.client_email = "sa@p.iam.gserviceaccount.com",
            .private_key = test::test_key().private_pem,
            .private_key_id = "k1",
            .token_uri = base() + "/token",
            .project_id = "p",
            .origin = "test-key.json"};
  }
  std::shared_ptr<RestClient> rest(std::shared_ptr<TokenSource> t = nullptr) {
    Config config{.project = "p",
                  .dataset = "d",
                  .location = "EU",
                  .endpoint = base(),
                  .anonymous = t == nullptr};
    return RestClient::make(config, std::move(t), http_,
                            {.retry = request_retry_policy(),
                             .request_timeout = std::chrono::seconds{5},
                             .clock = &clock_,
                             .sleeper = &clock_,
                             .seed = 7})
        .value();
  }
  // A token endpoint that checks the JWT and issues tok-1, tok-2, …
  void serve_tokens(int lifetime_s = 3600) {
    server_->set_handler([this, lifetime_s](const ServerRequest& r) {
      if (r.path != "/token") return Reply::status_only(404);
      if (form_value(r.body, "grant_type") !=
          "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
        return json_reply(400, {{"error", "unsupported_grant_type"}});
      }
      json claims = test::verify_jwt(form_value(r.body, "assertion"), test::test_key().public_pem);
      if (!claims.is_object() || claims["aud"] != base() + "/token") {
        return json_reply(
            400, {{"error", "invalid_grant"}, {"error_description", "Invalid JWT Signature."}});
      }
      std::lock_guard lock(mu_);
      return json_reply(200, {{"access_token", "tok-" + std::to_string(++issued_)},
                              {"expires_in", lifetime_s},
                              {"token_type", "Bearer"}});
    });
  }

  testing::FakeClock clock_;
  std::unique_ptr<HttpServer> server_;
  std::shared_ptr<http::Client> http_;
  std::mutex mu_;
  int issued_ = 0;
};

TEST_F(Protocol, ServiceAccountTokenIsCachedAndRefreshedFiveMinutesAhead) {
  serve_tokens();
  auto t = tokens(service_account());
  EXPECT_EQ(t->token().value(), "tok-1");
  clock_.advance(std::chrono::minutes{54});
  EXPECT_EQ(t->token().value(), "tok-1");  // 6 minutes left: still good
  clock_.advance(std::chrono::minutes{2});
  EXPECT_EQ(t->token().value(), "tok-2");  // 4 minutes left: refreshed ahead
  EXPECT_EQ(t->fetches(), 2u);
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(Protocol, ShortLivedTokensAreRefreshedEveryCall) {
  serve_tokens(/*lifetime_s=*/60);  // expires_in 60 < refresh_ahead
  auto t = tokens(service_account());
  EXPECT_EQ(t->token().value(), "tok-1");
  EXPECT_EQ(t->token().value(), "tok-2");
}

TEST_F(Protocol, TokenEndpointFailuresAreRetriedAsGoogleAuthDoes) {
  server_->script("/token", {Reply::status_only(500), Reply::status_only(503),
                             json_reply(200, {{"access_token", "ok"}, {"expires_in", 3600}})});
  auto t = tokens(service_account());
  EXPECT_EQ(t->token().value(), "ok");
  EXPECT_EQ(server_->requests_served(), 3u);
  EXPECT_EQ(clock_.sleeps().size(), 2u);
}

TEST_F(Protocol, InvalidGrantIsPermanentAndLeaksNothing) {
  server_->script("/token", {json_reply(400, {{"error", "invalid_grant"},
                                              {"error_description", "Invalid JWT Signature."}})});
  auto t = tokens(service_account());
  auto token = t->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().error_class, ErrorClass::permanent);
  EXPECT_THAT(token, HasErrorMessage(HasSubstr("Invalid JWT Signature.")));
  EXPECT_EQ(server_->requests_served(), 1u);
  const std::string assertion = form_value(server_->requests().at(0).body, "assertion");
  ASSERT_FALSE(assertion.empty());
  EXPECT_THAT(token, HasErrorMessage(Not(HasSubstr(assertion.substr(0, 40)))));
  EXPECT_THAT(token, HasErrorMessage(Not(HasSubstr("PRIVATE KEY"))));
}

TEST_F(Protocol, AuthorizedUserRefreshTokenGrant) {
  server_->set_handler([](const ServerRequest& r) {
    if (form_value(r.body, "grant_type") != "refresh_token" ||
        form_value(r.body, "refresh_token") != "1%2Fr3fresh") {
      return json_reply(400, {{"error", "invalid_grant"}});
    }
    return json_reply(200, {{"access_token", "user-tok"}, {"expires_in", "3599"}});
  });
  auto t = tokens(AuthorizedUser{.client_id = "cid",
                                 .client_secret = "csecret",
                                 .refresh_token = "1/r3fresh",
                                 .token_uri = base() + "/token",
                                 .quota_project_id = {},
                                 .origin = "adc.json"});
  EXPECT_EQ(t->token().value(), "user-tok");
}

TEST_F(Protocol, MetadataServerNeedsTheFlavorHeader) {
  server_->set_handler([](const ServerRequest& r) {
    if (r.path != "/computeMetadata/v1/instance/service-accounts/default/token") {
      return Reply::status_only(404);
    }
    if (r.header("Metadata-Flavor").value_or("") != "Google") return Reply::status_only(403);
    Reply reply = json_reply(200, {{"access_token", "md-tok"}, {"expires_in", 3600}});
    reply.headers.emplace_back("Metadata-Flavor", "Google");
    return reply;
  });
  auto t = tokens(MetadataServer{.base_url = base()});
  EXPECT_EQ(t->token().value(), "md-tok");
}

TEST_F(Protocol, A401RefreshesTheTokenOnceAndResends) {
  serve_tokens();
  std::vector<std::string> seen;
  auto handler = [&](const ServerRequest& r) {
    if (r.path == "/token") return Reply{};  // unused: replaced below
    std::lock_guard lock(mu_);
    seen.push_back(r.header("Authorization").value_or(""));
    if (seen.size() == 1) {
      return json_reply(401, {{"error",
                               {{"code", 401},
                                {"message",
                                 "Request had invalid "
                                 "authentication credentials"},
                                {"status", "UNAUTHENTICATED"}}}});
    }
    return json_reply(200, {{"kind", "bigquery#table"}});
  };
  auto token_handler = [this](const ServerRequest& r) {
    std::lock_guard lock(mu_);
    return json_reply(200,
                      {{"access_token", "tok-" + std::to_string(++issued_)}, {"expires_in", 3600}});
    (void)r;
  };
  server_->set_handler(
      [&](const ServerRequest& r) { return r.path == "/token" ? token_handler(r) : handler(r); });
  auto client = rest(tokens(service_account()));
  auto r = client->send(
      {.method = "GET", .url = client->api("/datasets/d/tables/t"), .operation = "tables.get d.t"});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(seen, (std::vector<std::string>{"Bearer tok-1", "Bearer tok-2"}));
  EXPECT_TRUE(clock_.sleeps().empty());  // a refresh, not a backoff
}

TEST_F(Protocol, RetryableReasonsAreResentAndOthersSurfaceAtOnce) {
  server_->script("/bigquery/v2/projects/p/datasets/d/tables/a",
                  {bq_error(503, "backendError", "b"), bq_error(403, "rateLimitExceeded", "r"),
                   json_reply(200, {{"id", "p:d.a"}})});
  server_->script("/bigquery/v2/projects/p/datasets/d/tables/q",
                  {bq_error(403, "quotaExceeded", "Quota exceeded: Your table exceeded quota")});
  server_->script("/bigquery/v2/projects/p/datasets/d/tables/i",
                  {bq_error(500, "invalid", "a 500 that says invalid")});
  auto client = rest();
  auto ok = client->send({.url = client->api("/datasets/d/tables/a"), .operation = "get a"});
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(clock_.sleeps().size(), 2u);
  auto quota = client->send({.url = client->api("/datasets/d/tables/q"), .operation = "get q"});
  ASSERT_FALSE(quota);
  EXPECT_EQ(quota.error().error_class, ErrorClass::quota_exceeded);
  auto invalid = client->send({.url = client->api("/datasets/d/tables/i"), .operation = "get i"});
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().error_class, ErrorClass::permanent);
  EXPECT_EQ(server_->requests_served(), 5u);                                          // 3 + 1 + 1
  for (const auto& r : server_->requests()) EXPECT_FALSE(r.header("Authorization"));  // anonymous
}

// A scripted jobs endpoint: per-test behaviour for insert and get.
class JobsProtocol : public Protocol {
 protected:
  Jobs jobs(JobOptions options = {}) {
    int n = 0;
    return Jobs(rest(), options, [n]() mutable { return "u" + std::to_string(++n); });
  }
  std::vector<ServerRequest> requests_to(std::string_view path_part) const {
    std::vector<ServerRequest> out;
    for (auto& r : server_->requests()) {
      if (r.path.find(path_part) != std::string::npos) out.push_back(r);
    }
    return out;
  }
  static json job(const std::string& id, const std::string& state, json error = nullptr) {
    json j = {{"jobReference", {{"projectId", "p"}, {"jobId", id}, {"location", "EU"}}},
              {"status", {{"state", state}}},
              {"statistics", {{"creationTime", "1"}}}};
    if (!error.is_null()) j["status"]["errorResult"] = error;
    return j;
  }
};

TEST_F(JobsProtocol, LostInsertResponseIsAdoptedThrough409AndLate404s) {
  int gets = 0;
  server_->set_handler([&](const ServerRequest& r) {
    std::lock_guard lock(mu_);
    if (r.method == "POST" && r.path == "/bigquery/v2/projects/p/jobs") {
      static int inserts = 0;
      if (++inserts == 1) return Reply::with_fault(Fault::drop);  // accepted, reply lost
      return bq_error(409, "duplicate", "Already Exists: Job p:EU.merge_u1_a1");
    }
    if (r.path == "/bigquery/v2/projects/p/jobs/merge_u1_a1") {
      EXPECT_EQ(r.query, "location=EU");
      if (++gets <= 2) return bq_error(404, "notFound", "Not found: Job p:EU.merge_u1_a1");
      return json_reply(200, job("merge_u1_a1", "DONE"));
    }
    return Reply::status_only(404);
  });
  auto j = jobs();
  auto done = j.run("merge", {{"query", {{"query", "MERGE …"}, {"useLegacySql", false}}}});
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(j.counters().adopted.load(), 1u);
  EXPECT_EQ(j.counters().submitted.load(), 1u);  // one job id, never a second job
  auto inserts = requests_to("/projects/p/jobs");
  for (const auto& r : inserts) {
    if (r.method != "POST") continue;
    auto body = json::parse(r.body);
    EXPECT_EQ(body["jobReference"]["jobId"], "merge_u1_a1");
    EXPECT_EQ(body["jobReference"]["location"], "EU");
    EXPECT_EQ(body["configuration"]["query"]["useLegacySql"], false);
  }
}

TEST_F(JobsProtocol, RetryableJobFailureIsReRunWithANewIdAfterJobsGetConfirms) {
  server_->set_handler([&](const ServerRequest& r) {
    if (r.method == "POST" && r.path == "/bigquery/v2/projects/p/jobs") {
      auto id = json::parse(r.body)["jobReference"]["jobId"].get<std::string>();
      return json_reply(200, job(id, "PENDING"));
    }
    const std::string id = r.path.substr(r.path.rfind('/') + 1);
    if (id.ends_with("_a1")) {
      return json_reply(200, job(id, "DONE", {{"reason", "jobBackendError"}, {"message", "m"}}));
    }
    return json_reply(200, job(id, "DONE"));
  });
  auto j = jobs();
  auto done = j.run("load", {{"load", json::object()}});
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ((*done)["jobReference"]["jobId"], "load_u1_a2");
  EXPECT_EQ(j.counters().reruns.load(), 1u);
}

TEST_F(JobsProtocol, PermanentJobFailureIsNotReRun) {
  server_->set_handler([&](const ServerRequest& r) {
    if (r.method == "POST") {
      auto id = json::parse(r.body)["jobReference"]["jobId"].get<std::string>();
      return json_reply(200, job(id, "DONE", {{"reason", "invalid"}, {"message", "bad row"}}));
    }
    const std::string id = r.path.substr(r.path.rfind('/') + 1);
    return json_reply(200, job(id, "DONE", {{"reason", "invalid"}, {"message", "bad row"}}));
  });
  auto j = jobs();
  auto done = j.run("load", {{"load", json::object()}});
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().error_class, ErrorClass::permanent);
  EXPECT_THAT(done, HasErrorMessage(HasSubstr("bad row")));
  EXPECT_EQ(j.counters().submitted.load(), 1u);
}

TEST_F(JobsProtocol, SlowPendingIsPolledWithBackoffAndCancelledAtTheDeadline) {
  server_->set_handler([&](const ServerRequest& r) {
    if (r.path.ends_with("/cancel"))
      return json_reply(200, {{"kind", "bigquery#jobCancelResponse"}});
    if (r.method == "POST") {
      auto id = json::parse(r.body)["jobReference"]["jobId"].get<std::string>();
      return json_reply(200, job(id, "PENDING"));
    }
    return json_reply(200, job("q_u1_a1", "PENDING"));
  });
  auto j = jobs({.poll_initial = std::chrono::milliseconds{200},
                 .poll_maximum = std::chrono::seconds{5},
                 .timeout = std::chrono::seconds{30}});
  auto done = j.run("q", {{"query", {{"query", "SELECT 1"}}}});
  ASSERT_FALSE(done);
  EXPECT_THAT(done, HasErrorMessage(HasSubstr("jobs.cancel was sent")));
  EXPECT_EQ(j.counters().cancelled.load(), 1u);
  auto sleeps = clock_.sleeps();
  ASSERT_GE(sleeps.size(), 3u);
  EXPECT_EQ(sleeps[0], std::chrono::milliseconds{200});
  EXPECT_EQ(sleeps[1], std::chrono::milliseconds{300});  // x1.5
  EXPECT_EQ(requests_to("/cancel").at(0).query, "location=EU");
}

// A resumable-upload session that keeps what it is sent, with scripted faults.
class Resumable : public Protocol {
 protected:
  void SetUp() override {
    Protocol::SetUp();
    server_->set_handler([this](const ServerRequest& r) { return serve(r); });
  }
  Reply serve(const ServerRequest& r) {
    std::lock_guard lock(mu_);
    if (r.method == "POST") {
      ++sessions_;
      stored_.clear();
      Reply reply = Reply::status_only(200);
      reply.headers.emplace_back(
          "Location", base() + "/upload/session?upload_id=s" + std::to_string(sessions_));
      return reply;
    }
    ++puts_;
    if (expire_at_put_ == puts_) return Reply::status_only(404);
    if (fail_at_put_ == puts_) return Reply::status_only(503);
    const std::string range = r.header("Content-Range").value_or("");
    if (range.starts_with("bytes */")) return status_reply();
    const auto dash = range.find('-');
    const std::size_t first = std::stoull(range.substr(6, dash - 6));
    if (first == stored_.size()) stored_ += r.body;
    if (short_range_at_put_ == puts_) stored_.resize(stored_.size() - 1000);
    if (stored_.size() == total_) return json_reply(200, job_);
    return status_reply();
  }
  Reply status_reply() const {
    Reply reply = Reply::status_only(308);
    if (!stored_.empty()) {
      reply.headers.emplace_back("Range", "bytes=0-" + std::to_string(stored_.size() - 1));
    }
    return reply;
  }
  Result<http::Response> upload(const std::string& data) {
    total_ = data.size();
    auto up = Uploader::make(rest(), {.multipart_limit = 1024,
                                      .chunk_bytes = kResumableQuantum,
                                      .max_restarts = 3,
                                      .max_chunk_failures = 8})
                  .value();
    return up.upload(job_, data);
  }

  json job_ = {{"jobReference", {{"projectId", "p"}, {"jobId", "load_u_a1"}, {"location", "EU"}}},
               {"configuration", {{"load", json::object()}}}};
  std::string stored_;
  std::size_t total_ = 0;
  int sessions_ = 0, puts_ = 0;
  int fail_at_put_ = -1, expire_at_put_ = -1, short_range_at_put_ = -1;
};

std::string payload(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i) s += "{\"id\":" + std::to_string(i) + "}\n";
  s.resize(n);
  return s;
}

TEST_F(Resumable, ChunksOf256KiBFollowThe308Range) {
  const std::string data = payload(3 * kResumableQuantum + 123);
  auto r = upload(data);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(stored_, data);
  EXPECT_EQ(puts_, 4);
  EXPECT_EQ(sessions_, 1);
}

TEST_F(Resumable, AFailedChunkIsRecoveredWithAStatusQuery) {
  fail_at_put_ = 2;
  const std::string data = payload(3 * kResumableQuantum);
  auto r = upload(data);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(stored_, data);
  EXPECT_EQ(sessions_, 1);
  EXPECT_EQ(clock_.sleeps().size(), 1u);
  bool queried = false;
  for (const auto& req : server_->requests()) {
    queried |= req.header("Content-Range").value_or("") == "bytes */" + std::to_string(data.size());
  }
  EXPECT_TRUE(queried);
}

TEST_F(Resumable, AShortRangeResendsTheMissingTail) {
  short_range_at_put_ = 1;
  const std::string data = payload(2 * kResumableQuantum + 10);
  auto r = upload(data);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(stored_, data);
  // Chunk 1 was kept 1000 bytes short: chunk 2 starts 1000 bytes early, so
  // the bytes still fit three PUTs — and none is lost.
  EXPECT_EQ(puts_, 3);
  EXPECT_EQ(server_->requests().at(2).header("Content-Range").value_or(""),
            "bytes " + std::to_string(kResumableQuantum - 1000) + "-" +
                std::to_string(2 * kResumableQuantum - 1001) + "/" + std::to_string(data.size()));
}

TEST_F(Resumable, AnExpiredSessionRestartsFromByteZero) {
  expire_at_put_ = 2;
  const std::string data = payload(2 * kResumableQuantum + 10);
  auto r = upload(data);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(stored_, data);
  EXPECT_EQ(sessions_, 2);
}

TEST_F(Resumable, SmallUploadsAreOneMultipartPost) {
  server_->set_handler([this](const ServerRequest& r) {
    EXPECT_EQ(r.query, "uploadType=multipart");
    EXPECT_TRUE(r.header("Content-Type").value_or("").starts_with("multipart/related; boundary="));
    EXPECT_FALSE(r.header("Expect"));
    return json_reply(200, job_);
  });
  auto r = upload("{\"id\":1}\n");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(server_->requests_served(), 1u);
}

}  // namespace
}  // namespace rebound::bigquery
