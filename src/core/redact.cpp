#include "rebound/core/redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace rebound {
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

// Rewrites a libpq key=value conninfo ("host=h password=x dbname=d") with
// secret values replaced by ***. Values are single words or 'quoted'.
std::string redact_conninfo(std::string_view info) {
  std::string out;
  std::size_t i = 0;
  while (i < info.size()) {
    const std::size_t eq = info.find('=', i);
    if (eq == std::string_view::npos) break;
    const std::size_t key_start = info.find_last_of(" \t", eq);
    const std::size_t key_from =
        key_start == std::string_view::npos || key_start < i ? i : key_start + 1;
    const bool secret = secret_param(info.substr(key_from, eq - key_from));
    std::size_t end = eq + 1;
    if (end < info.size() && info[end] == '\'') {
      end = info.find('\'', end + 1);
      end = end == std::string_view::npos ? info.size() : end + 1;
    } else {
      end = std::min(info.find_first_of(" \t", end), info.size());
    }
    out += info.substr(i, eq + 1 - i);
    out += secret ? std::string_view("***") : info.substr(eq + 1, end - eq - 1);
    i = end;
  }
  out += info.substr(std::min(i, info.size()));
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
  if (scheme_end == std::string_view::npos && rest.find('?') == std::string_view::npos &&
      rest.find('=') != std::string_view::npos) {
    return redact_conninfo(rest);
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

}  // namespace rebound
