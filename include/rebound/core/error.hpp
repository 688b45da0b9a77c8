// rebound::Error and rebound::Result — the one error type every part returns.
//
// Every back end (PostgreSQL, SQLite, HTTP, BigQuery) maps its failures onto a
// small set of classes (see ErrorClass), so a retry policy can say "retry
// serialization conflicts and quota errors" without knowing where the error
// came from. The original code (SQLSTATE, HTTP status, BigQuery reason) and
// message are kept for humans and logs.
//
//   rebound::Result<int> parse(std::string_view s) {
//     if (s.empty())
//       return std::unexpected(rebound::Error::permanent("empty input"));
//     return 42;
//   }
//
// Thread safety: value types; distinct objects may be used from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace rebound {

// The classes a retry policy can select on. Keep this set small: a new back
// end maps onto it in classify.hpp, it does not grow it.
enum class ErrorClass : std::uint8_t {
  serialization_conflict,  // concurrent update lost a race; retry the whole op
  quota_exceeded,          // sustained load limit; retry with long waits
  rate_limited,            // short-term throttling (HTTP 429); honour hints
  transient,               // network, timeout, 5xx, server restart
  too_many_connections,    // server connection slots exhausted (53300)
  non_retriable,           // must surface at once (streaming buffer, syntax)
  permanent,               // bad input, permission, not found: retry is futile
  circuit_open,            // not sent: a circuit breaker is open (retry_after = next probe)
};

inline constexpr std::size_t kErrorClassCount = 8;

// Returns the snake_case name used in logs, metrics and JSON.
[[nodiscard]] std::string_view to_string(ErrorClass c) noexcept;

// Parses a name produced by to_string(); nullopt for anything else.
[[nodiscard]] std::optional<ErrorClass> parse_error_class(std::string_view name) noexcept;

namespace detail {
// One object per enum type: its address identifies the type of a Reason.
template <class E>
inline constexpr char kReasonType = 0;
}  // namespace detail

// A part's own typed reason for an error (pool::PoolFailure::timeout,
// warehouse::WriteRefusal::no_such_table, ...): the enum value together with
// the identity of its enum type, so callers compare enums, never strings.
//
//   Error e = Error::permanent("pool closed").with_reason(PoolFailure::closed);
//   e.reason.as<PoolFailure>() == PoolFailure::closed;   // true
//   e.reason.as<WriteRefusal>();                         // nullopt
struct Reason {
  const void* type = nullptr;  // &detail::kReasonType<E>; nullptr: no reason
  int value = 0;

  template <class E>
  [[nodiscard]] static Reason of(E e) noexcept {
    static_assert(std::is_enum_v<E>);
    return {&detail::kReasonType<E>, static_cast<int>(e)};
  }
  // The reason as E, or nullopt when there is none or it is of another type.
  template <class E>
  [[nodiscard]] std::optional<E> as() const noexcept {
    if (type != &detail::kReasonType<E>) return std::nullopt;
    return static_cast<E>(value);
  }
};

struct Error {
  ErrorClass error_class = ErrorClass::permanent;
  // Back-end code: SQLSTATE ("40001"), SQLite code name ("SQLITE_BUSY"),
  // HTTP status ("503"), BigQuery reason ("rateLimitExceeded"), or empty.
  std::string code;
  // Where the code comes from: "postgresql", "sqlite", "http", "bigquery",
  // "curl", "rebound".
  std::string source;
  // Human-readable message. Never contains secrets: producers redact first.
  std::string message;
  // Delay the server asked for (Retry-After). Overrides the backoff schedule,
  // bounded by the policy deadline.
  std::optional<std::chrono::milliseconds> retry_after;
  // The producing part's typed reason, if it has one (see Reason).
  Reason reason;

  // This error with its typed reason set, for chaining after make().
  template <class E>
  [[nodiscard]] Error with_reason(E e) && {
    reason = Reason::of(e);
    return std::move(*this);
  }

  [[nodiscard]] bool retriable() const noexcept {
    return error_class != ErrorClass::non_retriable && error_class != ErrorClass::permanent &&
           error_class != ErrorClass::circuit_open;
  }

  // "serialization_conflict [postgresql 40001]: could not serialize ..."
  [[nodiscard]] std::string describe() const;

  static Error make(ErrorClass c, std::string message, std::string source = "rebound",
                    std::string code = {});
  static Error permanent(std::string message) {
    return make(ErrorClass::permanent, std::move(message));
  }
  static Error transient(std::string message) {
    return make(ErrorClass::transient, std::move(message));
  }
};

// Result-or-error. Use std::unexpected(Error{...}) for the error arm.
template <class T>
using Result = std::expected<T, Error>;

// Result of an operation that yields nothing but can fail.
using Status = std::expected<void, Error>;

[[nodiscard]] inline std::unexpected<Error> fail(Error e) { return std::unexpected(std::move(e)); }

// Thrown only at API edges (CLI, the throwing-callable adapter): wraps an Error.
class Exception : public std::exception {
 public:
  explicit Exception(Error e) : error_(std::move(e)), what_(error_.describe()) {}
  [[nodiscard]] const Error& error() const noexcept { return error_; }
  [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }

 private:
  Error error_;
  std::string what_;
};

}  // namespace rebound
