// Resumable uploads (308 + Range, `bytes */*` recovery, the 256 KiB rule,
// expiry, fault group 13), auth mode (/token with RS256 assertions and
// refresh tokens, metadata routes, Bearer checks, fault group 15), and the
// transport details: chunked request bodies and Expect: 100-continue.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bq_fixture.hpp"

#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::emulator::bigquery::test {
namespace {

const json kT =
    json::array({{{"name", "id"}, {"type", "INTEGER"}}, {{"name", "v"}, {"type", "STRING"}}});
constexpr std::size_t kQuantum = 256 * 1024;

class BqUploads : public BqTest {
 protected:
  void SetUp() override {
    BqTest::SetUp();
    make_dataset("ds");
  }
  void arm(const json& rules) {
    auto s = emu_->add_faults(json{{"faults", rules}}.dump());
    ASSERT_THAT(s, IsOk());
  }
  // Initiates a session; returns the session path (from Location).
  std::string initiate(const std::string& job_id) {
    auto c = call(
        "POST", "/upload/bigquery/v2/projects/p/jobs?uploadType=resumable",
        load_job(job_id, "ds", "t", {{"schema", {{"fields", kT}}}}).dump(),
        {{"Content-Type", "application/json; charset=UTF-8"}, {"X-Upload-Content-Type", "*/*"}});
    EXPECT_EQ(c.status, 200) << c.body;
    EXPECT_EQ(c.body, "");
    const auto location = c.response.header("Location").value_or("");
    EXPECT_NE(location.find("upload_id="), std::string::npos);
    return location.substr(emu_->url().size());
  }
  Call put(const std::string& session, const std::string& range, const std::string& body) {
    return call("PUT", session, body,
                {{"Content-Range", range}, {"Content-Type", "application/octet-stream"}});
  }
  // NDJSON rows padded past `bytes` in total.
  static std::string data(std::size_t bytes) {
    std::string out;
    for (int i = 0; out.size() < bytes; ++i) {
      out += "{\"id\": " + std::to_string(i) + ", \"v\": \"" + std::string(100, 'x') + "\"}\n";
    }
    return out;
  }
  static std::string range(std::size_t a, std::size_t b, std::string total) {
    return "bytes " + std::to_string(a) + "-" + std::to_string(b) + "/" + total;
  }
  std::int64_t count() {
    return rows("SELECT COUNT(*) AS n FROM ds.t")[0]["n"].get<std::int64_t>();
  }
};

TEST_F(BqUploads, ResumableUploadInChunksWithStatusQueryThenFinalPutCreatesTheJob) {
  const std::string d = data(kQuantum + 1000);
  const std::string session = initiate("r1");
  auto first = put(session, range(0, kQuantum - 1, "*"), d.substr(0, kQuantum));
  EXPECT_EQ(first.status, 308);
  EXPECT_EQ(first.response.header("Range").value_or(""), "bytes=0-262143");
  EXPECT_FALSE(first.response.header("Location").has_value());
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/r1?location=US").status, 404)
      << "no job before the final PUT";
  auto status = put(session, "bytes */*", "");
  EXPECT_EQ(status.status, 308);
  EXPECT_EQ(status.response.header("Range").value_or(""), "bytes=0-262143");
  auto last =
      put(session, range(kQuantum, d.size() - 1, std::to_string(d.size())), d.substr(kQuantum));
  ASSERT_EQ(last.status, 200) << last.body;
  EXPECT_EQ(last.j["jobReference"]["jobId"], "r1");
  wait_done("r1");
  EXPECT_EQ(count(), static_cast<std::int64_t>(std::count(d.begin(), d.end(), '\n')));
  // A repeated final PUT returns the same job; a new session for the id is a 409 at the final PUT.
  EXPECT_EQ(
      put(session, range(kQuantum, d.size() - 1, std::to_string(d.size())), d.substr(kQuantum))
          .status,
      200);
  const std::string again = initiate("r1");
  EXPECT_EQ(put(again, range(0, 9, "10"), d.substr(0, 10)).status, 409);
}

TEST_F(BqUploads, NonFinalChunkOffTheQuantumIs400AndAnEmptySessionHasNoRange) {
  const std::string session = initiate("r2");
  auto status = put(session, "bytes */*", "");
  EXPECT_EQ(status.status, 308);
  EXPECT_FALSE(status.response.header("Range").has_value());
  EXPECT_EQ(put(session, range(0, 99, "*"), std::string(100, 'x')).status, 400);
}

TEST_F(BqUploads, Group13ShortRangeNoRangeChunkErrorAndExpiredSessions) {
  const std::string d = data(2 * kQuantum + 10);
  arm({{{"method", "PUT"},
        {"times", 1},
        {"action", {{"kind", "shortRange"}, {"lagBytes", 1000}}}}});
  const std::string session = initiate("r3");
  auto short_range = put(session, range(0, kQuantum - 1, "*"), d.substr(0, kQuantum));
  EXPECT_EQ(short_range.response.header("Range").value_or(""),
            "bytes=0-" + std::to_string(kQuantum - 1000 - 1));
  // The client resends from the acknowledged offset (the overlap is dropped).
  auto resent = put(session, range(kQuantum - 1000, 2 * kQuantum - 1, "*"),
                    d.substr(kQuantum - 1000, kQuantum + 1000));
  EXPECT_EQ(resent.status, 400) << "the resent chunk is not a quantum multiple";
  auto aligned = put(session, range(kQuantum - 1000, 2 * kQuantum - 1000 - 1, "*"),
                     d.substr(kQuantum - 1000, kQuantum));
  EXPECT_EQ(aligned.status, 308);
  EXPECT_EQ(aligned.response.header("Range").value_or(""),
            "bytes=0-" + std::to_string(2 * kQuantum - 1000 - 1));

  arm({{{"method", "PUT"},
        {"times", 1},
        {"action", {{"kind", "error"}, {"status", 503}, {"reason", "backendError"}}}}});
  EXPECT_EQ(put(session, range(2 * kQuantum - 1000, d.size() - 1, std::to_string(d.size())),
                d.substr(2 * kQuantum - 1000))
                .status,
            503);
  auto recovered = put(session, "bytes */*", "");
  EXPECT_EQ(recovered.response.header("Range").value_or(""),
            "bytes=0-" + std::to_string(2 * kQuantum - 1000 - 1));
  EXPECT_EQ(put(session, range(2 * kQuantum - 1000, d.size() - 1, std::to_string(d.size())),
                d.substr(2 * kQuantum - 1000))
                .status,
            200);
  wait_done("r3");
  EXPECT_EQ(count(), static_cast<std::int64_t>(std::count(d.begin(), d.end(), '\n')));

  arm({{{"method", "PUT"}, {"times", 1}, {"action", {{"kind", "noRange"}}}}});
  const std::string restart = initiate("r4");
  auto no_range = put(restart, range(0, kQuantum - 1, "*"), d.substr(0, kQuantum));
  EXPECT_EQ(no_range.status, 308);
  EXPECT_FALSE(no_range.response.header("Range").has_value()) << "restart at 0";

  arm({{{"method", "PUT"}, {"times", 1}, {"action", {{"kind", "expireUpload"}}}}});
  const std::string doomed = initiate("r5");
  auto expired = put(doomed, range(0, 9, "10"), d.substr(0, 10));
  EXPECT_EQ(expired.status, 404);
  EXPECT_EQ(put(doomed, "bytes */*", "").status, 404);
  EXPECT_EQ(get("/bigquery/v2/projects/p/jobs/r5?location=US").status, 404) << "no job exists";

  const std::string old = initiate("r6");
  emu_->advance_clock(std::chrono::hours{24 * 7 + 1});
  EXPECT_EQ(put(old, range(0, 9, "10"), d.substr(0, 10)).status, 404);
}

// ---- transport ----

std::string raw_exchange(int port, const std::string& head, const std::string& body,
                         bool wait_continue) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "connect failed";
  std::string out;
  auto recv_some = [&] {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    return n > 0;
  };
  (void)::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  if (wait_continue) {
    while (out.find("\r\n\r\n") == std::string::npos && recv_some()) {
    }
  }
  (void)::send(fd, body.data(), body.size(), MSG_NOSIGNAL);
  while (recv_some()) {
  }
  ::close(fd);
  return out;
}

TEST_F(BqUploads, ChunkedMultipartBodyAfter100ContinueIsAccepted) {
  make_table("ds", "t", kT);
  const std::string payload =
      multipart(load_job("chunked", "ds", "t"), "{\"id\": 1}\n{\"id\": 2}\n", "b0undary");
  std::string chunked;
  for (std::size_t i = 0; i < payload.size(); i += 50) {
    const std::string piece = payload.substr(i, 50);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    chunked += std::string(size) + "\r\n" + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  const std::string head =
      "POST /upload/bigquery/v2/projects/p/jobs?uploadType=multipart HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: multipart/related; boundary=b0undary\r\nTransfer-Encoding: chunked\r\n"
      "Expect: 100-continue\r\nConnection: close\r\n\r\n";
  const std::string reply = raw_exchange(emu_->port(), head, chunked, true);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200")) << reply;
  wait_done("chunked");
  EXPECT_EQ(count(), 2);
}

// ---- auth ----

struct KeyPair {
  EVP_PKEY* key = nullptr;
  ~KeyPair() { EVP_PKEY_free(key); }
  std::string public_pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  }
};

std::string b64url(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  for (char& c : out) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string sign_jwt(EVP_PKEY* key, const json& claims) {
  const std::string input = b64url(json{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "k1"}}.dump()) +
                            "." + b64url(claims.dump());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  return input + "." + b64url(sig);
}

class BqAuth : public BqTest {
 protected:
  void SetUp() override {
    key_.key = EVP_RSA_gen(2048);
    other_.key = EVP_RSA_gen(2048);
    ASSERT_NE(key_.key, nullptr);
    Options o = default_options();
    o.require_auth = true;
    o.service_account_public_key_pem = key_.public_pem();
    o.refresh_tokens = {"1//refresh-me"};
    start(o);
  }
  json claims(std::int64_t iat_s, std::int64_t lifetime_s = 3600) {
    return {{"iss", "sa@p.iam.gserviceaccount.com"},
            {"scope", "https://www.googleapis.com/auth/bigquery"},
            {"aud", "https://oauth2.googleapis.com/token"},
            {"iat", iat_s},
            {"exp", iat_s + lifetime_s}};
  }
  Call token_request(const std::string& form) {
    return call("POST", "/token", form, {{"Content-Type", "application/x-www-form-urlencoded"}});
  }
  Call jwt_grant(const std::string& jwt) {
    return token_request(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + jwt);
  }
  Call bq_get(const std::string& token) {
    return call("GET", "/bigquery/v2/projects/p/datasets", "",
                {{"Authorization", "Bearer " + token}});
  }
  void arm(const json& rules) {
    auto s = emu_->add_faults(json{{"faults", rules}}.dump());
    ASSERT_THAT(s, IsOk());
  }
  KeyPair key_;
  KeyPair other_;
  const std::int64_t now_s_ = kT0 / 1000;
};

TEST_F(BqAuth, BigQueryRoutesNeedATokenFromTheTokenEndpoint) {
  auto anonymous = get("/bigquery/v2/projects/p/datasets");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.j["error"]["status"], "UNAUTHENTICATED");
  auto granted = jwt_grant(sign_jwt(key_.key, claims(now_s_)));
  ASSERT_EQ(granted.status, 200) << granted.body;
  EXPECT_EQ(granted.j["token_type"], "Bearer");
  EXPECT_EQ(granted.j["expires_in"], 3600);
  const std::string token = granted.j["access_token"];
  EXPECT_EQ(bq_get(token).status, 200);
  EXPECT_EQ(bq_get("made-up").status, 401);
  emu_->advance_clock(std::chrono::seconds{3601});
  EXPECT_EQ(bq_get(token).status, 401) << "tokens expire on the virtual clock";
  for (const auto& r : emu_->requests()) {
    EXPECT_EQ(r.body_head.find("assertion"), std::string::npos) << "assertions never reach the log";
  }
}

TEST_F(BqAuth, AssertionsAreCheckedForSignatureAudienceLifetimeAndScope) {
  EXPECT_EQ(jwt_grant(sign_jwt(other_.key, claims(now_s_))).j["error"], "invalid_grant");
  json wrong_aud = claims(now_s_);
  wrong_aud["aud"] = "https://example.com/token";
  EXPECT_EQ(jwt_grant(sign_jwt(key_.key, wrong_aud)).j["error"], "invalid_grant");
  EXPECT_EQ(jwt_grant(sign_jwt(key_.key, claims(now_s_, 7200))).j["error"], "invalid_grant");
  EXPECT_EQ(jwt_grant(sign_jwt(key_.key, claims(now_s_ - 7200))).j["error"], "invalid_grant")
      << "expired";
  json no_scope = claims(now_s_);
  no_scope["scope"] = "https://www.googleapis.com/auth/drive";
  EXPECT_EQ(jwt_grant(sign_jwt(key_.key, no_scope)).status, 400);
  EXPECT_EQ(token_request("grant_type=password").j["error"], "unsupported_grant_type");
  // A self-signed JWT (google-cloud-cpp's default) is accepted as the Bearer itself.
  EXPECT_EQ(bq_get(sign_jwt(key_.key, claims(now_s_))).status, 200);
}

TEST_F(BqAuth, RefreshTokenGrantsAndMetadataRoutes) {
  auto ok = token_request(
      "grant_type=refresh_token&client_id=c&client_secret=s&refresh_token=1%2F%2Frefresh-me");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(bq_get(ok.j["access_token"]).status, 200);
  EXPECT_EQ(token_request("grant_type=refresh_token&client_id=c&client_secret=s&refresh_token=nope")
                .j["error"],
            "invalid_grant");
  const std::string path = "/computeMetadata/v1/instance/service-accounts/default/token";
  EXPECT_EQ(get(path).status, 403) << "Metadata-Flavor is required";
  auto md = call("GET", path, "", {{"Metadata-Flavor", "Google"}});
  ASSERT_EQ(md.status, 200);
  EXPECT_EQ(md.response.header("Metadata-Flavor").value_or(""), "Google");
  EXPECT_EQ(bq_get(md.j["access_token"]).status, 200);
  auto info = call("GET", "/computeMetadata/v1/instance/service-accounts/default/?recursive=true",
                   "", {{"Metadata-Flavor", "Google"}});
  EXPECT_EQ(info.j["email"], "emulator@rebound.invalid");
}

TEST_F(BqAuth, Group15TokenAndMetadataFaults) {
  arm({{{"path", "^/token$"},
        {"times", 1},
        {"action", {{"kind", "error"}, {"status", 500}, {"body", "empty"}}}},
       {{"path", "^/token$"},
        {"nth", 2},
        {"times", 1},
        {"action", {{"kind", "tokenExpiresIn"}, {"seconds", 60}}}},
       {{"path", "^/token$"},
        {"nth", 3},
        {"times", 1},
        {"action", {{"kind", "oauthError"}, {"error", "invalid_grant"}}}}});
  const std::string jwt = sign_jwt(key_.key, claims(now_s_));
  EXPECT_EQ(jwt_grant(jwt).status, 500);
  auto short_lived = jwt_grant(jwt);
  ASSERT_EQ(short_lived.status, 200);
  EXPECT_EQ(short_lived.j["expires_in"], 60);
  auto refused = jwt_grant(jwt);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.j["error"], "invalid_grant");
  emu_->advance_clock(std::chrono::seconds{61});
  EXPECT_EQ(bq_get(short_lived.j["access_token"]).status, 401) << "the 60 s token forces a refresh";

  arm({{{"path", "^/computeMetadata/"},
        {"times", 1},
        {"action", {{"kind", "error"}, {"status", 404}, {"body", "empty"}}}},
       {{"path", "^/computeMetadata/"},
        {"nth", 2},
        {"times", 1},
        {"action", {{"kind", "omitMetadataFlavor"}}}}});
  const std::string path = "/computeMetadata/v1/instance/service-accounts/default/token";
  EXPECT_EQ(call("GET", path, "", {{"Metadata-Flavor", "Google"}}).status, 404);
  auto bare = call("GET", path, "", {{"Metadata-Flavor", "Google"}});
  EXPECT_EQ(bare.status, 200);
  EXPECT_FALSE(bare.response.header("Metadata-Flavor").has_value());
}

}  // namespace
}  // namespace rebound::emulator::bigquery::test
