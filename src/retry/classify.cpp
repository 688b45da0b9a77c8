#include "rebound/retry/classify.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <string>

namespace rebound::classify {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool contains_nocase(std::string_view haystack, std::string_view needle) noexcept {
  auto lower = [](char ch) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  };
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [&](char a, char b) { return lower(a) == lower(b); });
  return it != haystack.end();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// SQLite primary result codes (sqlite3.h), so this part needs no SQLite header.
constexpr int kSqliteBusy = 5, kSqliteLocked = 6, kSqliteNomem = 7, kSqliteInterrupt = 9,
              kSqliteIoerr = 10, kSqliteFull = 13, kSqliteCantopen = 14, kSqliteProtocol = 15;

std::string sqlite_code_name(int primary) {
  switch (primary) {
    case kSqliteBusy:
      return "SQLITE_BUSY";
    case kSqliteLocked:
      return "SQLITE_LOCKED";
    case kSqliteNomem:
      return "SQLITE_NOMEM";
    case kSqliteInterrupt:
      return "SQLITE_INTERRUPT";
    case kSqliteIoerr:
      return "SQLITE_IOERR";
    case kSqliteFull:
      return "SQLITE_FULL";
    case kSqliteCantopen:
      return "SQLITE_CANTOPEN";
    case kSqliteProtocol:
      return "SQLITE_PROTOCOL";
    default:
      return "SQLITE_" + std::to_string(primary);
  }
}

}  // namespace

bool mentions_serialization_conflict(std::string_view message) noexcept {
  return contains_nocase(message, "could not serialize") ||
         contains_nocase(message, "concurrent update") ||
         contains_nocase(message, "concurrent write");
}

Error postgres(std::string_view sqlstate, std::string message) {
  ErrorClass c = ErrorClass::permanent;
  if (sqlstate == "40001" || sqlstate == "40P01") {
    c = ErrorClass::serialization_conflict;
  } else if (sqlstate == "53300") {
    c = ErrorClass::too_many_connections;
  } else if (starts_with(sqlstate, "08") || sqlstate == "57P01" || sqlstate == "57P02" ||
             sqlstate == "57P03" || sqlstate == "57014" || starts_with(sqlstate, "53") ||
             starts_with(sqlstate, "58") || sqlstate == "40003") {
    // connection exceptions, admin/crash shutdown, cannot connect now, query
    // canceled (statement timeout), insufficient resources, system errors,
    // statement completion unknown.
    c = ErrorClass::transient;
  } else if (starts_with(sqlstate, "42")) {
    // syntax error or access rule violation: retrying can never help, and the
    // caller must see it at once.
    c = ErrorClass::non_retriable;
  }
  return Error::make(c, std::move(message), "postgresql", std::string(sqlstate));
}

Error sqlite(int code, std::string message) {
  const int primary = code & 0xff;
  ErrorClass c = ErrorClass::permanent;
  switch (primary) {
    case kSqliteBusy:
    case kSqliteLocked:
      c = ErrorClass::serialization_conflict;
      break;
    case kSqliteIoerr:
    case kSqliteProtocol:
    case kSqliteNomem:
    case kSqliteFull:
    case kSqliteInterrupt:
      c = ErrorClass::transient;
      break;
    default:
      c = ErrorClass::permanent;
      break;
  }
  return Error::make(c, std::move(message), "sqlite", sqlite_code_name(primary));
}

Error http(int status, std::string message, std::string_view retry_after,
           std::chrono::system_clock::time_point now) {
  ErrorClass c = ErrorClass::permanent;
  if (status == 429) {
    c = ErrorClass::rate_limited;
  } else if (status == 408 || (status >= 500 && status <= 599 && status != 501 && status != 505)) {
    c = ErrorClass::transient;
  }
  Error e = Error::make(c, std::move(message), "http", std::to_string(status));
  if (!retry_after.empty() && e.retriable()) e.retry_after = parse_retry_after(retry_after, now);
  return e;
}

Error bigquery(int http_status, std::string_view reason, std::string message) {
  // Order matters: the serialization conflict arrives as 400 invalidQuery and
  // the streaming-buffer error as 400 invalid, so the text decides first.
  ErrorClass c;
  if (contains_nocase(message, "streaming buffer")) {
    c = ErrorClass::non_retriable;
  } else if (mentions_serialization_conflict(message)) {
    c = ErrorClass::serialization_conflict;
  } else if (reason == "rateLimitExceeded" || reason == "jobRateLimitExceeded") {
    c = ErrorClass::rate_limited;
  } else if (reason == "quotaExceeded") {
    c = ErrorClass::quota_exceeded;
  } else if (reason == "backendError" || reason == "internalError" || reason == "badGateway" ||
             reason == "jobBackendError" || reason == "jobInternalError") {
    c = ErrorClass::transient;
  } else if (reason == "accessDenied" || reason == "invalidQuery" || reason == "responseTooLarge") {
    c = ErrorClass::non_retriable;
  } else if (reason == "invalid" || reason == "notFound" || reason == "duplicate" ||
             reason == "billingNotEnabled" || reason == "resourceInUse") {
    c = ErrorClass::permanent;
  } else {
    c = http(http_status, "").error_class;
  }
  Error e = Error::make(c, std::move(message), "bigquery", std::string(reason));
  return e;
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    if (value.size() > 9) return std::nullopt;  // > 31 years: treat as garbage, not a wait
    return std::chrono::seconds{std::stoll(std::string(value))};
  }
  // HTTP-date: IMF-fixdate, obsolete RFC 850, asctime (RFC 9110 section 5.6.7).
  static constexpr std::array<const char*, 3> kFormats = {
      "%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
  const std::string text(value);
  for (const char* format : kFormats) {
    std::tm tm{};
    const char* end = strptime(text.c_str(), format, &tm);
    if (end == nullptr || *end != '\0') continue;
    const std::time_t when = timegm(&tm);
    if (when == static_cast<std::time_t>(-1)) return std::nullopt;
    // In whole seconds first: system_clock counts nanoseconds in an int64,
    // which ends in 2262, so from_time_t() of a later date overflowed
    // (undefined behaviour; in practice an immediate retry). A date further
    // out than kMaxHint is a wait of kMaxHint: longer than any deadline, so
    // the retry loop gives up instead of retrying at once.
    constexpr std::int64_t kMaxHint = 1'000'000'000;  // seconds, ~31 years
    const std::int64_t now_s =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const std::int64_t when_s = static_cast<std::int64_t>(when);
    if (when_s - now_s > kMaxHint) return std::chrono::seconds{kMaxHint};
    if (when_s < now_s) return std::chrono::milliseconds{0};  // also year 1, before 1678
    // Whole seconds apart (bounded above), minus now's fraction of a second;
    // never through from_time_t(), which overflows for a `now` near 2262
    // (found by fuzz_retry_after).
    const auto fraction = now.time_since_epoch() - std::chrono::seconds{now_s};
    const auto delta = std::chrono::seconds{when_s - now_s} - fraction;
    if (delta <= decltype(delta)::zero()) return std::chrono::milliseconds{0};
    return std::chrono::ceil<std::chrono::milliseconds>(delta);
  }
  return std::nullopt;
}

bool is_timeout(const Error& e) noexcept {
  if (e.code == "timeout") return true;
  if (e.source == "curl") return e.code == "28";
  if (e.source == "http") return e.code == "408" || e.code == "504";
  if (e.source == "postgresql") return e.code == "57014";
  return false;
}

}  // namespace rebound::classify
