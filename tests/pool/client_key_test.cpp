#include "rebound/pool/client_key.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

#include "rebound/testing/matchers.hpp"

using namespace rebound::testing::result_matchers;

namespace rebound::pool {
namespace {

ClientKey key(std::string_view project, std::string_view location = {}) {
  auto k = ClientKey::make(project, location);
  EXPECT_THAT(k, IsOk());
  return *k;
}

TEST(ClientKey, ProjectIsTrimmedAndLowercased) {
  EXPECT_EQ(key("  My-Project\t").project(), "my-project");
  EXPECT_EQ(key("my-project").project(), "my-project");
}

TEST(ClientKey, MultiRegionsAreUppercaseAndRegionsLowercase) {
  EXPECT_EQ(key("p", "us").location(), "US");
  EXPECT_EQ(key("p", "Eu").location(), "EU");
  EXPECT_EQ(key("p", "US-Central1").location(), "us-central1");
  EXPECT_EQ(key("p", " europe-west2 ").location(), "europe-west2");
}

TEST(ClientKey, EmptyLocationMeansTheDefault) {
  EXPECT_EQ(key("p", "").location(), "US");
  EXPECT_EQ(key("p", "   ").location(), "US");
  EXPECT_EQ(key("p"), key("p", "us"));
  auto eu = ClientKey::make("p", "", "eu");
  ASSERT_TRUE(eu.has_value());
  EXPECT_EQ(eu->location(), "EU");
}

TEST(ClientKey, SpellingsOfOneKeyAreEqualAndHashAlike) {
  const ClientKey a = key(" My-Project", "us");
  const ClientKey b = key("my-project", "");
  const ClientKey c = key("MY-PROJECT", "US");
  EXPECT_EQ(a, b);
  EXPECT_EQ(b, c);
  EXPECT_EQ(a.hash(), c.hash());
  EXPECT_EQ(std::unordered_set<ClientKey>({a, b, c}).size(), 1U);
  EXPECT_NE(a, key("my-project", "eu"));
  EXPECT_EQ(a.to_string(), "my-project@US");
}

TEST(ClientKey, InvalidProjectErrorNamesTheValue) {
  auto bad = ClientKey::make("my_proj", "US");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().error_class, ErrorClass::permanent);
  EXPECT_THAT(bad, HasErrorMessage("invalid project \"my_proj\": only letters, digits and '-' are "
                                   "allowed (found '_' at 2)"));
}

TEST(ClientKey, EmptyProjectIsRejected) {
  auto bad = ClientKey::make("   ", "US");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad, HasErrorMessage("invalid project \"   \": must not be empty"));
}

TEST(ClientKey, InvalidLocationErrorNamesTheValue) {
  auto bad = ClientKey::make("p", "us central");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad, HasErrorMessage(HasSubstr("invalid location \"us central\"")));
  auto bad_default = ClientKey::make("p", "", "u$");
  ASSERT_FALSE(bad_default.has_value());
  EXPECT_THAT(bad_default, HasErrorMessage(HasSubstr("default location")));
}

TEST(ClientKey, LocationConflictIsSameProjectOtherLocation) {
  EXPECT_TRUE(location_conflict(key("p", "US"), key("P", "eu")));
  EXPECT_FALSE(location_conflict(key("p", "US"), key("P", "us")));
  EXPECT_FALSE(location_conflict(key("p", "US"), key("q", "EU")));
}

}  // namespace
}  // namespace rebound::pool
