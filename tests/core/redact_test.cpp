// redact_url / redact_header: the one place secrets leave URLs and headers.
#include "rebound/core/redact.hpp"

#include <gtest/gtest.h>

namespace rebound {
namespace {

TEST(RedactUrl, HidesPasswordButKeepsUser) {
  EXPECT_EQ(redact_url("https://bob:hunter2@api.x.io/v1"), "https://bob:***@api.x.io/v1");
}

TEST(RedactUrl, HidesSecretQueryValuesAndKeepsOthers) {
  EXPECT_EQ(redact_url("https://bob:hunter2@api.x.io/v1?token=abc&page=2"),
            "https://bob:***@api.x.io/v1?token=***&page=2");
  EXPECT_EQ(redact_url("http://h/x?page=1&API_KEY=k1&access_token=t&sig=s"),
            "http://h/x?page=1&API_KEY=***&access_token=***&sig=***");
}

TEST(RedactUrl, KeepsFragmentAndLeavesPlainUrlsAlone) {
  EXPECT_EQ(redact_url("http://h/x?password=p#frag"), "http://h/x?password=***#frag");
  EXPECT_EQ(redact_url("http://127.0.0.1:8080/status"), "http://127.0.0.1:8080/status");
  EXPECT_EQ(redact_url("http://h/x?page=2&tokens=public"), "http://h/x?page=2&tokens=public");
}

TEST(RedactUrl, UserWithoutPasswordIsKept) {
  EXPECT_EQ(redact_url("ftp://anonymous@h/file"), "ftp://anonymous@h/file");
}

TEST(RedactUrl, AtSignInPathIsNotUserinfo) {
  EXPECT_EQ(redact_url("http://h/users/@me?token=t"), "http://h/users/@me?token=***");
}

TEST(RedactUrl, SchemelessInputStillLosesQuerySecrets) {
  const std::string shown = redact_url("not a url?token=zzz");
  EXPECT_EQ(shown.find("zzz"), std::string::npos) << shown;
}

TEST(RedactHeader, SecretHeadersAreStars) {
  EXPECT_EQ(redact_header("Authorization", "Bearer abc"), "***");
  EXPECT_EQ(redact_header("proxy-authorization", "Basic x"), "***");
  EXPECT_EQ(redact_header("Cookie", "sid=1"), "***");
  EXPECT_EQ(redact_header("Set-Cookie", "sid=1"), "***");
  EXPECT_EQ(redact_header("X-Auth-Token", "t"), "***");
  EXPECT_EQ(redact_header("X-Api-Key", "k"), "***");
  EXPECT_EQ(redact_header("X-Client-Secret", "s"), "***");
  EXPECT_EQ(redact_header("X-DB-Password", "p"), "***");
}

TEST(RedactHeader, OrdinaryHeadersAreShown) {
  EXPECT_EQ(redact_header("Content-Type", "application/json"), "application/json");
  EXPECT_EQ(redact_header("Accept", "*/*"), "*/*");
  EXPECT_FALSE(is_secret_header("User-Agent"));
  EXPECT_TRUE(is_secret_header("AUTHORIZATION"));
}

// The warehouse URLs and libpq conninfo strings go through the same function.
TEST(RedactUrl, HidesPasswordsInWarehouseUrlsAndConninfo) {
  EXPECT_EQ(redact_url("postgresql://u:p%40ss@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(redact_url("postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(redact_url("postgresql://h/db?user=u&password=s&sslmode=require"),
            "postgresql://h/db?user=u&password=***&sslmode=require");
  EXPECT_EQ(redact_url("host=h password=s3cret dbname=d"), "host=h password=*** dbname=d");
  EXPECT_EQ(redact_url("host=h password='two words' user=u"), "host=h password=*** user=u");
  EXPECT_EQ(redact_url("/tmp/fleet.db"), "/tmp/fleet.db");
}

}  // namespace
}  // namespace rebound
