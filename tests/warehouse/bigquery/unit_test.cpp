// The BigQuery back end's pure pieces: error classification (reason first),
// JWT signing checked with OpenSSL, ADC discovery, bigquery:// URLs, job ids,
// SQL translation and the multipart body.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "rebound/testing/matchers.hpp"
#include "rebound/warehouse/bigquery/api_error.hpp"
#include "rebound/warehouse/bigquery/client.hpp"
#include "rebound/warehouse/bigquery/config.hpp"
#include "rebound/warehouse/bigquery/credentials.hpp"
#include "rebound/warehouse/bigquery/jobs.hpp"
#include "rebound/warehouse/bigquery/jwt.hpp"
#include "rebound/warehouse/bigquery/sql.hpp"
#include "rebound/warehouse/bigquery/upload.hpp"
#include "test_keys.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::bigquery {
namespace {

using nlohmann::json;

std::string bq_error(int code, std::string_view reason, std::string_view message) {
  return json{{"error",
               {{"code", code},
                {"message", message},
                {"errors", {{{"message", message}, {"domain", "global"}, {"reason", reason}}}},
                {"status", "X"}}}}
      .dump();
}

Env env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(BigQueryClassify, ReasonDecidesBeforeStatus) {
  struct Case {
    int status;
    const char* reason;
    ErrorClass expected;
  };
  const Case cases[] = {
      {403, "rateLimitExceeded", ErrorClass::rate_limited},
      {400, "rateLimitExceeded", ErrorClass::rate_limited},
      {403, "quotaExceeded", ErrorClass::quota_exceeded},
      {500, "backendError", ErrorClass::transient},
      {503, "backendError", ErrorClass::transient},
      {500, "internalError", ErrorClass::transient},
      {502, "badGateway", ErrorClass::transient},
      {500, "invalid", ErrorClass::permanent},  // a 500 with a permanent reason is not retried
      {400, "invalidQuery", ErrorClass::non_retriable},
      {404, "notFound", ErrorClass::permanent},
      {403, "accessDenied", ErrorClass::non_retriable},
      {403, "responseTooLarge", ErrorClass::non_retriable},
      {409, "duplicate", ErrorClass::permanent},
  };
  for (const Case& c : cases) {
    Error e = error_from_response(c.status, bq_error(c.status, c.reason, "m"), "op");
    EXPECT_EQ(e.error_class, c.expected) << c.status << " " << c.reason;
    EXPECT_EQ(e.code, c.reason);
    EXPECT_EQ(e.source, "bigquery");
  }
}

TEST(BigQueryClassify, NoReasonFallsBackToStatus) {
  EXPECT_EQ(error_from_response(503, "<html>Service Unavailable</html>", "op").error_class,
            ErrorClass::transient);
  EXPECT_EQ(error_from_response(429, "", "op").error_class, ErrorClass::rate_limited);
  EXPECT_EQ(error_from_response(400, "{}", "op").error_class, ErrorClass::permanent);
  Error html = error_from_response(502, "<html>\r\nbad\tgateway</html>", "jobs.get x");
  EXPECT_EQ(html.message, "jobs.get x: HTTP 502: <html>  bad gateway</html>");
}

TEST(BigQueryClassify, TextsBigQuerySendsUnderGenericReasons) {
  Error serialize = error_from_response(
      400,
      bq_error(400, "invalidQuery",
               "Could not serialize access to table p:d.t due to concurrent update"),
      "merge");
  EXPECT_EQ(serialize.error_class, ErrorClass::serialization_conflict);
  Error buffer = error_from_response(
      400,
      bq_error(400, "badRequest",
               "UPDATE or DELETE statement over table p.d.t would affect rows in the streaming "
               "buffer, which is not supported"),
      "merge");
  EXPECT_EQ(buffer.error_class, ErrorClass::non_retriable);
  EXPECT_NE(buffer.message.find("streaming buffer"), std::string::npos);  // BigQuery's words
}

TEST(BigQueryClassify, JobErrorsAndRetryReasons) {
  Error e = job_error(json{{"reason", "jobBackendError"}, {"message", "try again"}}, "merge_x_a1");
  EXPECT_EQ(e.error_class, ErrorClass::transient);
  EXPECT_NE(e.message.find("merge_x_a1"), std::string::npos);
  for (const char* r : {"jobBackendError", "jobInternalError", "jobRateLimitExceeded",
                        "backendError", "internalError", "rateLimitExceeded"}) {
    EXPECT_TRUE(is_job_retry_reason(r)) << r;
  }
  for (const char* r : {"invalid", "stopped", "duplicate", "notFound", "quotaExceeded", ""}) {
    EXPECT_FALSE(is_job_retry_reason(r)) << r;
  }
  Error failed = error_from_response(400, bq_error(400, "backendError", "m"), "jobs.query");
  EXPECT_TRUE(is_failed_job_error(failed));
  EXPECT_FALSE(is_failed_job_error(
      error_from_response(503, bq_error(503, "backendError", "m"), "jobs.query")));
}

TEST(BigQueryClassify, OAuthErrorShape) {
  ApiError e = parse_error_body(
      400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})");
  EXPECT_EQ(e.reason, "invalid_grant");
  EXPECT_EQ(e.message, "Invalid JWT Signature.");
}

TEST(Jwt, Base64UrlRoundTripsWithoutPadding) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\x00\x01\xfe\xff"}) {
    EXPECT_EQ(base64url_decode(base64url(s)).value(), s);
  }
  EXPECT_FALSE(base64url_decode("a b"));
}

TEST(Jwt, SignedTokenVerifiesWithThePublicKeyAndCarriesTheClaims) {
  const auto& key = test::test_key();
  auto jwt = make_jwt({.issuer = "sa@p.iam.gserviceaccount.com",
                       .subject = {},
                       .audience = "http://127.0.0.1:1/token",
                       .scope = std::string(kBigQueryScope),
                       .issued_at = 1'700'000'000,
                       .expires_at = 1'700'003'600},
                      key.private_pem, "kid-1");
  ASSERT_THAT(jwt, IsOk());
  json claims = test::verify_jwt(*jwt, key.public_pem);
  ASSERT_TRUE(claims.is_object()) << "signature did not verify";
  EXPECT_EQ(claims["iss"], "sa@p.iam.gserviceaccount.com");
  EXPECT_EQ(claims["aud"], "http://127.0.0.1:1/token");
  EXPECT_EQ(claims["exp"].get<std::int64_t>() - claims["iat"].get<std::int64_t>(), 3600);
  // A tampered payload fails verification.
  std::string tampered = *jwt;
  tampered[tampered.find('.') + 2] ^= 1;
  EXPECT_TRUE(test::verify_jwt(tampered, key.public_pem).is_null());
}

TEST(Jwt, BadKeyIsAClearErrorThatQuotesNothing) {
  const std::string secretish = "-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END";
  auto jwt = make_jwt({.issuer = "a", .scope = "s", .issued_at = 1, .expires_at = 2}, secretish);
  ASSERT_FALSE(jwt);
  EXPECT_EQ(jwt.error().error_class, ErrorClass::permanent);
  EXPECT_THAT(jwt, HasErrorMessage(Not(HasSubstr("TOPSECRET"))));
}

class TempFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (std::filesystem::temp_directory_path() / "rebound-bq-XXXXXX").string();
    dir_ = ::mkdtemp(t.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  std::filesystem::path dir_;
};

using Adc = TempFiles;

TEST_F(Adc, ServiceAccountFileFromTheEnvironment) {
  const std::string path = write("sa.json", json{{"type", "service_account"},
                                                 {"client_email", "sa@p.iam.gserviceaccount.com"},
                                                 {"private_key", "PEM-SECRET"},
                                                 {"private_key_id", "k1"},
                                                 {"token_uri", "http://127.0.0.1:9/token"},
                                                 {"project_id", "p"}}
                                                .dump());
  auto c = find_default_credentials(env_of({{"GOOGLE_APPLICATION_CREDENTIALS", path}}));
  ASSERT_THAT(c, IsOk());
  const auto& key = std::get<ServiceAccountKey>(*c);
  EXPECT_EQ(key.client_email, "sa@p.iam.gserviceaccount.com");
  EXPECT_EQ(key.token_uri, "http://127.0.0.1:9/token");
  EXPECT_EQ(describe(*c), "service account sa@p.iam.gserviceaccount.com (key " + path + ")");
  EXPECT_EQ(describe(*c).find("PEM-SECRET"), std::string::npos);
}

TEST_F(Adc, GcloudFileThenMetadataServer) {
  write("gcloud/application_default_credentials.json", json{{"type", "authorized_user"},
                                                            {"client_id", "id"},
                                                            {"client_secret", "CLIENT-SECRET"},
                                                            {"refresh_token", "REFRESH-SECRET"}}
                                                           .dump());
  auto user = find_default_credentials(env_of({{"CLOUDSDK_CONFIG", (dir_ / "gcloud").string()}}));
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(std::get<AuthorizedUser>(*user).token_uri, kGoogleTokenUri);
  EXPECT_EQ(describe(*user).find("SECRET"), std::string::npos);

  auto md = find_default_credentials(
      env_of({{"HOME", (dir_ / "nohome").string()}, {"GCE_METADATA_HOST", "127.0.0.1:8099"}}));
  ASSERT_THAT(md, IsOk());
  EXPECT_EQ(std::get<MetadataServer>(*md).base_url, "http://127.0.0.1:8099");
  auto fallback = find_default_credentials(env_of({{"HOME", (dir_ / "nohome").string()}}));
  EXPECT_EQ(std::get<MetadataServer>(*fallback).base_url, "http://metadata.google.internal");
}

TEST_F(Adc, BrokenFilesAreHardErrorsNamingTheFieldNotTheSecret) {
  auto missing = find_default_credentials(
      env_of({{"GOOGLE_APPLICATION_CREDENTIALS", (dir_ / "absent.json").string()}}));
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing, HasErrorMessage(HasSubstr("absent.json")));
  auto no_key = parse_credentials_json(
      R"({"type":"authorized_user","client_id":"i","client_secret":"S3CRET"})", "f.json");
  ASSERT_FALSE(no_key);
  EXPECT_THAT(no_key, HasErrorMessage(HasSubstr("\"refresh_token\"")));
  EXPECT_THAT(no_key, HasErrorMessage(Not(HasSubstr("S3CRET"))));
  auto external = parse_credentials_json(R"({"type":"external_account"})", "f.json");
  ASSERT_FALSE(external);
  EXPECT_THAT(external, HasErrorMessage(HasSubstr("external_account")));
}

TEST(BigQueryUrl, ParsesProjectDatasetAndCanonicalLocation) {
  auto c = parse_url("bigquery://My-Proj/stats?location=eu", env_of({}));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->project, "my-proj");
  EXPECT_EQ(c->dataset, "stats");
  EXPECT_EQ(c->location, "EU");
  EXPECT_EQ(c->endpoint, kDefaultEndpoint);
  EXPECT_FALSE(c->anonymous);
  EXPECT_EQ(parse_url("bigquery://p/d?location=Europe-West1", env_of({}))->location,
            "europe-west1");
  EXPECT_EQ(parse_url("bigquery://p/d", env_of({}))->location, "US");
}

TEST(BigQueryUrl, EmulatorHostMovesTheEndpointAndTurnsTokensOff) {
  auto c =
      parse_url("bigquery://p/d", env_of({{"BIGQUERY_EMULATOR_HOST", "http://127.0.0.1:9050/"}}));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:9050");
  EXPECT_TRUE(c->anonymous);
  // endpoint= moves requests but keeps authentication.
  auto e = parse_url("bigquery://p/d?endpoint=http%3A%2F%2F127.0.0.1%3A7", env_of({}));
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->endpoint, "http://127.0.0.1:7");
  EXPECT_FALSE(e->anonymous);
  EXPECT_TRUE(parse_url("bigquery://p/d?auth=none", env_of({}))->anonymous);
  EXPECT_EQ(display_url(*e), "bigquery://p/d?location=US&endpoint=http://127.0.0.1:7");
}

TEST(BigQueryUrl, BadInputNamesWhatWasWrong) {
  auto scheme = parse_url("bigquery://p/d", env_of({{"BIGQUERY_EMULATOR_HOST", "127.0.0.1:9050"}}));
  ASSERT_FALSE(scheme);
  EXPECT_THAT(scheme, HasErrorMessage(HasSubstr("needs a scheme")));
  auto param = parse_url("bigquery://p/d?locaton=EU", env_of({}));
  ASSERT_FALSE(param);
  EXPECT_THAT(param, HasErrorMessage(HasSubstr("unknown parameter \"locaton\"")));
  EXPECT_FALSE(parse_url("bigquery://p_x/d", env_of({})));
  EXPECT_FALSE(parse_url("bigquery://p/d-x", env_of({})));
  EXPECT_FALSE(parse_url("bigquery://p/d?auth=maybe", env_of({})));
}

TEST(JobIds, DeterministicPerOperationAndAttempt) {
  const std::string uuid = random_uuid();
  EXPECT_TRUE(std::regex_match(
      uuid, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << uuid;
  EXPECT_NE(random_uuid(), uuid);
  EXPECT_EQ(make_job_id("merge", "u-1", 2), "merge_u-1_a2");
  EXPECT_EQ(make_job_id("load stats.box", "u", 1), "load_stats_box_u_a1");
  EXPECT_TRUE(std::regex_match(make_job_id("x", uuid, 9), std::regex("[A-Za-z0-9_-]{1,1024}")));
}

TEST(Sql, PortableDialectBecomesGoogleSql) {
  auto s = translate_sql(R"(SELECT "name", '$1 "x"' FROM "t" WHERE id = $2 AND n = $10;)");
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->sql, R"(SELECT `name`, '$1 "x"' FROM `t` WHERE id = @p2 AND n = @p10)");
  EXPECT_EQ(s->max_placeholder, 10);
  EXPECT_EQ(translate_sql("SELECT 1 AS one; -- the answer\n")->sql, "SELECT 1 AS one");
  auto two = translate_sql("SELECT 1; DROP TABLE `t`");
  ASSERT_FALSE(two);
  EXPECT_FALSE(two.error().retriable());
  EXPECT_EQ(translate_sql("SELECT 'it''s; fine'")->sql, "SELECT 'it''s; fine'");
  EXPECT_FALSE(translate_sql("  -- nothing\n"));
}

TEST(Sql, ParametersAreTypedAndNamed) {
  const warehouse::Value values[] = {std::int64_t{-5}, 0.1, true, std::string("x"),
                                     warehouse::Null{}};
  json p = query_parameters(values);
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(
      p[0],
      json::parse(
          R"({"name":"p1","parameterType":{"type":"INT64"},"parameterValue":{"value":"-5"}})"));
  EXPECT_EQ(p[1]["parameterValue"]["value"], "0.1");
  EXPECT_EQ(p[2]["parameterValue"]["value"], "true");
  EXPECT_EQ(p[3]["parameterType"]["type"], "STRING");
  EXPECT_FALSE(p[4]["parameterValue"].contains("value"));  // a typed NULL
}

TEST(Upload, MultipartBodyIsPythonsLayoutByteForByte) {
  const std::string body = multipart_body("B", R"({"a":1})", "{\"id\":1}\n");
  EXPECT_EQ(body,
            "--B\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n{\"a\":1}\r\n"
            "--B\r\ncontent-type: */*\r\n\r\n{\"id\":1}\n\r\n--B--");
  const std::string boundary = multipart_boundary("data");
  EXPECT_TRUE(std::regex_match(boundary, std::regex("={15}[0-9]{19}==")));
}

TEST(Upload, RangeHeaderParsing) {
  EXPECT_EQ(parse_range_header("bytes=0-262143"), 262144u);
  EXPECT_EQ(parse_range_header("bytes=0-0"), 1u);
  EXPECT_FALSE(parse_range_header("bytes=1-5"));
  EXPECT_FALSE(parse_range_header("bytes=0-"));
  EXPECT_FALSE(parse_range_header("0-5"));
}

TEST(ClientCache, OneClientPerCanonicalProjectAndLocation) {
  ::setenv("BIGQUERY_EMULATOR_HOST", "http://127.0.0.1:9", 1);  // no credentials needed
  const std::size_t before = client_count();
  auto a = client("My-Proj", "eu");
  ASSERT_THAT(a, IsOk());
  auto b = client(" my-proj", "EU");
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(client_count(), before + 1);
  EXPECT_EQ((*a)->config().location, "EU");
  EXPECT_EQ((*a)->config().endpoint, "http://127.0.0.1:9");
  EXPECT_TRUE((*a)->config().anonymous);
  auto region = client("my-proj", "Europe-West1");
  ASSERT_TRUE(region);
  EXPECT_EQ((*region)->config().location, "europe-west1");
  EXPECT_EQ(client_count(), before + 2);
  auto bad = client("my_proj", "EU");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad, HasErrorMessage(HasSubstr("my_proj")));
  ::unsetenv("BIGQUERY_EMULATOR_HOST");
}

}  // namespace
}  // namespace rebound::bigquery
