// Redaction — the one place secrets are removed before a URL or header can
// reach a log line or an error message.
//
//   redact_url("https://bob:hunter2@api.x.io/v1?token=abc&page=2")
//     == "https://bob:***@api.x.io/v1?token=***&page=2"
//   redact_header("Authorization", "Bearer abc") == "***"
//
// Without a scheme, a libpq conninfo ("host=h password=x") has the values of
// the same secret keys replaced. Secret query parameters (case-insensitive): token, access_token,
// id_token, refresh_token, key, api_key, apikey, password, passwd, secret, client_secret,
// signature, sig, auth, session. Secret headers: Authorization, Proxy-Authorization, Cookie,
// Set-Cookie, and any name containing "token", "secret", "api-key"/"apikey" or "password".
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace rebound {

[[nodiscard]] std::string redact_url(std::string_view url);
[[nodiscard]] bool is_secret_header(std::string_view name) noexcept;
// The value to show for a header: "***" for secret headers, else the value.
[[nodiscard]] std::string redact_header(std::string_view name, std::string_view value);

}  // namespace rebound
