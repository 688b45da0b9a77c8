#include "rebound/http/redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace rebound::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool secret_param(std::string_view name) {
  static constexpr std::array<std::string_view, 15> kSecret = {
      "token",         "access_token", "id_token", "refresh_token", "key",
      "api_key",       "apikey",       "password", "passwd",        "secret",
      "client_secret", "signature",    "sig",      "auth",          "session"};
  const std::string n = lower(name);
  return std::find(kSecret.begin(), kSecret.end(), n) != kSecret.end();
}

// Rewrites "a=1&token=x&b" with secret values replaced by ***.
std::string redact_query(std::string_view query) {
  std::string out;
  while (true) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && secret_param(pair.substr(0, eq))) {
      out += pair.substr(0, eq);
      out += "=***";
    } else {
      out += pair;
    }
    if (amp == std::string_view::npos) break;
    out += '&';
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace

std::string redact_url(std::string_view url) {
  std::string out;
  // userinfo: scheme://user:password@host -> scheme://user:***@host
  const auto scheme_end = url.find("://");
  std::string_view rest = url;
  if (scheme_end != std::string_view::npos) {
    out += url.substr(0, scheme_end + 3);
    rest = url.substr(scheme_end + 3);
    const auto authority_end = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, authority_end);
    const auto at = authority.rfind('@');
    if (at != std::string_view::npos) {
      const std::string_view userinfo = authority.substr(0, at);
      const auto colon = userinfo.find(':');
      out += colon == std::string_view::npos ? std::string(userinfo)
                                             : std::string(userinfo.substr(0, colon)) + ":***";
      out += '@';
      rest.remove_prefix(at + 1);
    }
  }
  const auto q = rest.find('?');
  if (q == std::string_view::npos) return out + std::string(rest);
  out += rest.substr(0, q + 1);
  std::string_view query = rest.substr(q + 1);
  const auto hash = query.find('#');
  out += redact_query(query.substr(0, hash));
  if (hash != std::string_view::npos) out += query.substr(hash);
  return out;
}

bool is_secret_header(std::string_view name) noexcept {
  const std::string n = lower(name);
  return n == "authorization" || n == "proxy-authorization" || n == "cookie" || n == "set-cookie" ||
         n.find("token") != std::string::npos || n.find("secret") != std::string::npos ||
         n.find("api-key") != std::string::npos || n.find("apikey") != std::string::npos ||
         n.find("password") != std::string::npos;
}

std::string redact_header(std::string_view name, std::string_view value) {
  return is_secret_header(name) ? std::string("***") : std::string(value);
}

}  // namespace rebound::http
