#include "rebound/retry/classify.hpp"

#include <gtest/gtest.h>

namespace rebound::classify {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;

const auto kNow =
    std::chrono::system_clock::time_point{sys_days{std::chrono::year{2026} / 11 / 29}} + 12h;

TEST(ClassifyPostgres, MapsSqlstatesToClasses) {
  EXPECT_EQ(postgres("40001", "x").error_class, ErrorClass::serialization_conflict);
  EXPECT_EQ(postgres("40P01", "x").error_class, ErrorClass::serialization_conflict);
  EXPECT_EQ(postgres("53300", "x").error_class, ErrorClass::too_many_connections);
  EXPECT_EQ(postgres("57P01", "x").error_class, ErrorClass::transient);
  EXPECT_EQ(postgres("08006", "x").error_class, ErrorClass::transient);
  EXPECT_EQ(postgres("08001", "x").error_class, ErrorClass::transient);
  EXPECT_EQ(postgres("57014", "x").error_class, ErrorClass::transient);
  EXPECT_EQ(postgres("42601", "x").error_class, ErrorClass::non_retriable);  // syntax
  EXPECT_EQ(postgres("42501", "x").error_class, ErrorClass::non_retriable);  // privilege
  EXPECT_EQ(postgres("23505", "x").error_class, ErrorClass::permanent);      // unique
  const Error e = postgres("40001", "could not serialize access");
  EXPECT_EQ(e.source, "postgresql");
  EXPECT_EQ(e.code, "40001");
  EXPECT_EQ(e.message, "could not serialize access");
}

TEST(ClassifySqlite, BusyAndLockedAreConflictsIncludingExtendedCodes) {
  EXPECT_EQ(sqlite(5, "database is locked").error_class, ErrorClass::serialization_conflict);
  EXPECT_EQ(sqlite(6, "table is locked").error_class, ErrorClass::serialization_conflict);
  EXPECT_EQ(sqlite(5 | (2 << 8), "busy snapshot").error_class, ErrorClass::serialization_conflict);
  EXPECT_EQ(sqlite(5, "x").code, "SQLITE_BUSY");
  EXPECT_EQ(sqlite(10, "disk I/O error").error_class, ErrorClass::transient);
  EXPECT_EQ(sqlite(19, "constraint").error_class, ErrorClass::permanent);
  EXPECT_EQ(sqlite(1, "no such table").error_class, ErrorClass::permanent);
}

TEST(ClassifyHttp, StatusesMapToClasses) {
  EXPECT_EQ(http(500, "").error_class, ErrorClass::transient);
  EXPECT_EQ(http(502, "").error_class, ErrorClass::transient);
  EXPECT_EQ(http(503, "").error_class, ErrorClass::transient);
  EXPECT_EQ(http(504, "").error_class, ErrorClass::transient);
  EXPECT_EQ(http(408, "").error_class, ErrorClass::transient);
  EXPECT_EQ(http(429, "").error_class, ErrorClass::rate_limited);
  EXPECT_EQ(http(501, "").error_class, ErrorClass::permanent);
  EXPECT_EQ(http(404, "").error_class, ErrorClass::permanent);
  EXPECT_EQ(http(400, "").error_class, ErrorClass::permanent);
}

TEST(ClassifyHttp, RetryAfterSecondsAndHttpDateBecomeHints) {
  EXPECT_EQ(http(429, "", "120", kNow).retry_after, std::chrono::milliseconds{120s});
  EXPECT_EQ(http(503, "", "Sun, 29 Nov 2026 12:00:30 GMT", kNow).retry_after,
            std::chrono::milliseconds{30s});
  EXPECT_EQ(http(404, "", "120", kNow).retry_after, std::nullopt);  // not retried anyway
}

TEST(ParseRetryAfter, AcceptsAllThreeHttpDateForms) {
  EXPECT_EQ(parse_retry_after("Sun, 29 Nov 2026 12:01:00 GMT", kNow),
            std::chrono::milliseconds{60s});
  EXPECT_EQ(parse_retry_after("Sunday, 29-Nov-26 12:01:00 GMT", kNow),
            std::chrono::milliseconds{60s});
  EXPECT_EQ(parse_retry_after("Sun Nov 29 12:01:00 2026", kNow), std::chrono::milliseconds{60s});
}

TEST(ParseRetryAfter, PastDatesMeanNowAndGarbageMeansNoHint) {
  EXPECT_EQ(parse_retry_after("Sun, 29 Nov 2026 11:00:00 GMT", kNow), std::chrono::milliseconds{0});
  EXPECT_EQ(parse_retry_after("  7 ", kNow), std::chrono::milliseconds{7s});
  EXPECT_EQ(parse_retry_after("-5", kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5", kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after("99999999999999999999", kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after("Sun, 29 Nov 2026 12:01:00 GMT trailing", kNow), std::nullopt);
}

TEST(ParseRetryAfter, DatesOutsideTheNanosecondClockDoNotOverflow) {
  // system_clock holds nanoseconds in an int64 (1678..2262): a later date
  // overflowed (UB under UBSan) and became an immediate retry.
  EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", kNow),
            std::chrono::milliseconds{1'000'000'000s});
  EXPECT_EQ(parse_retry_after("Sat, 01 Jan 2263 00:00:00 GMT", kNow),
            std::chrono::milliseconds{1'000'000'000s});
  EXPECT_EQ(parse_retry_after("Mon, 01 Jan 0001 00:00:00 GMT", kNow), std::chrono::milliseconds{0});
  EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1600 00:00:00 GMT", kNow), std::chrono::milliseconds{0});
}

TEST(ParseRetryAfter, ANowNearTheClocksEndDoesNotOverflowEither) {
  // Found by fuzz_retry_after: from_time_t(2263) overflowed when `now` was
  // close enough to 2262 for the date to be within the hint cap.
  const auto now = std::chrono::system_clock::time_point::max() - std::chrono::hours{24};
  const auto hint = parse_retry_after("Sun, 01 Jan 2263 00:00:00 GMT", now);
  ASSERT_TRUE(hint.has_value());
  EXPECT_GT(*hint, std::chrono::milliseconds{std::chrono::hours{24 * 200}});
  EXPECT_LT(*hint, std::chrono::milliseconds{std::chrono::hours{24 * 300}});
}

TEST(ParseRetryAfter, AFarFutureDateMakesTheRetryLoopGiveUpAtTheDeadline) {
  const Error e = http(503, "busy", "Fri, 31 Dec 9999 23:59:59 GMT", kNow);
  ASSERT_TRUE(e.retry_after.has_value());
  EXPECT_GT(*e.retry_after, std::chrono::milliseconds{std::chrono::hours{24 * 365}});
}

TEST(ClassifyBigQuery, SerializationConflictArrivesAs400InvalidQueryAndIsMatchedByMessage) {
  const Error e =
      bigquery(400, "invalidQuery",
               "Could not serialize access to table proj:ds.box due to concurrent update");
  EXPECT_EQ(e.error_class, ErrorClass::serialization_conflict);
  EXPECT_EQ(e.source, "bigquery");
  EXPECT_EQ(e.code, "invalidQuery");
}

TEST(ClassifyBigQuery, ReasonsMapToClasses) {
  EXPECT_EQ(bigquery(403, "rateLimitExceeded", "x").error_class, ErrorClass::rate_limited);
  EXPECT_EQ(bigquery(400, "jobRateLimitExceeded", "x").error_class, ErrorClass::rate_limited);
  EXPECT_EQ(bigquery(403, "quotaExceeded", "x").error_class, ErrorClass::quota_exceeded);
  EXPECT_EQ(bigquery(500, "backendError", "x").error_class, ErrorClass::transient);
  EXPECT_EQ(bigquery(500, "internalError", "x").error_class, ErrorClass::transient);
  EXPECT_EQ(bigquery(400, "invalidQuery", "Syntax error: Unexpected").error_class,
            ErrorClass::non_retriable);
  EXPECT_EQ(bigquery(403, "accessDenied", "x").error_class, ErrorClass::non_retriable);
  EXPECT_EQ(bigquery(404, "notFound", "x").error_class, ErrorClass::permanent);
  EXPECT_EQ(bigquery(503, "somethingNew", "x").error_class, ErrorClass::transient);
}

TEST(ClassifyBigQuery, StreamingBufferIsNeverRetriable) {
  const Error e = bigquery(400, "invalid",
                           "UPDATE or DELETE statement over table ds.box would affect rows in the "
                           "streaming buffer, which is not supported");
  EXPECT_EQ(e.error_class, ErrorClass::non_retriable);
  EXPECT_FALSE(e.retriable());
}

TEST(ErrorClassNames, RoundTrip) {
  for (std::size_t i = 0; i < kErrorClassCount; ++i) {
    const auto c = static_cast<ErrorClass>(i);
    EXPECT_EQ(parse_error_class(to_string(c)), c);
  }
  EXPECT_EQ(parse_error_class("bogus"), std::nullopt);
}

}  // namespace
}  // namespace rebound::classify
