// Redaction — the one place secrets are removed before a URL, a libpq
// connection string or a header can reach output: stdout, stderr, --json,
// metrics, plots, error messages. Every URL the product prints goes through
// redact_url.
//
//   redact_url("https://bob:hunter2@api.x.io/v1?token=abc&page=2")
//     == "https://bob:***@api.x.io/v1?token=***&page=2"
//   redact_url("postgresql://app:p?w#d@db/stats") == "postgresql://app:***@db/stats"
//   redact_url("host=db password='a b' dbname=x") == "host=db password=*** dbname=x"
//   redact_header("X-Amz-Security-Token", "…") == "***"
//
// URLs: the userinfo is read as libpq reads it — the authority ends at the
// first '/', so a password may hold '?', '#', ':' and the like unencoded — and
// everything after the user name is hidden. Query parameters and fragment
// pairs (#access_token=…) with a secret name are hidden.
// Without a scheme, text that starts with `word=` is a libpq keyword string,
// tokenized as libpq does (quotes, backslash escapes); secret values are
// hidden, and from a malformed spot on everything is.
// Secret names (case-insensitive, percent-decoded, '-' same as '_'): any name
// containing token, secret, passw, pwd, signature, credential, session, auth,
// private or cookie; any name ending in "key"; sig, pass, code. That covers
// X-Amz-Signature / X-Amz-Credential, client_secret / client-secret,
// access-token, X-Auth*, *-Key, sslpassword, Authorization, Cookie.
//
// Thread safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace rebound {

[[nodiscard]] std::string redact_url(std::string_view url);
// True when a query parameter, fragment pair, conninfo keyword or header
// with this name holds a secret (the rules above).
[[nodiscard]] bool is_secret_name(std::string_view name);
[[nodiscard]] bool is_secret_header(std::string_view name) noexcept;
// The value to show for a header: "***" for secret headers, else the value.
[[nodiscard]] std::string redact_header(std::string_view name, std::string_view value);
// Replaces every occurrence of each secret (3+ bytes) in `text` by ***: for
// messages that quote a secret in a form redact_url cannot see (a library
// error echoing a decoded password or a host name cut from one).
[[nodiscard]] std::string scrub_secrets(std::string text, std::span<const std::string> secrets);

}  // namespace rebound
