// Redaction: one routine for every URL, conninfo and header the product
// prints. See redact.hpp for what counts as a secret.
#include "rebound/core/redact.hpp"

#include <array>
#include <cctype>

#include "rebound/core/percent_decode.hpp"

namespace rebound {
namespace {

constexpr std::string_view kStars = "***";

// Lower case, percent-decoded, '-' read as '_': "Client-Secret",
// "client%5Fsecret" and "client_secret" are one name.
std::string normalized(std::string_view raw) {
  std::string out = percent_decode(raw);
  for (char& c : out) {
    c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Rewrites "a=1&token=x&b" (a query or a fragment) with secret values
// replaced by ***. ';' separates pairs too (old-style query strings).
std::string redact_pairs(std::string_view pairs, std::string_view separators = "&;") {
  std::string out;
  while (true) {
    const auto sep = pairs.find_first_of(separators);
    const std::string_view pair = pairs.substr(0, sep);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && is_secret_name(pair.substr(0, eq))) {
      out += pair.substr(0, eq + 1);
      out += kStars;
    } else {
      out += pair;
    }
    if (sep == std::string_view::npos) break;
    out += pairs[sep];
    pairs.remove_prefix(sep + 1);
  }
  return out;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Rewrites a libpq keyword/value string the way libpq tokenizes it
// (conninfo_parse): blanks around '=', values bare or in single quotes, a
// backslash escaping the next character in both. Secret values become ***.
// Whatever does not parse (a key without '=', an unterminated quote) is
// replaced from there to the end: libpq would refuse it anyway, and it may
// be the middle of a password.
std::string redact_conninfo(std::string_view info) {
  std::string out;
  std::size_t i = 0;
  const std::size_t n = info.size();
  while (i < n) {
    const std::size_t blanks = i;
    while (i < n && is_blank(info[i])) ++i;
    out += info.substr(blanks, i - blanks);
    if (i >= n) break;
    const std::size_t key_start = i;
    while (i < n && info[i] != '=' && !is_blank(info[i])) ++i;
    const std::string_view key = info.substr(key_start, i - key_start);
    std::size_t eq = i;
    while (eq < n && is_blank(info[eq])) ++eq;
    if (eq >= n || info[eq] != '=') {
      out += kStars;  // malformed from here on (a word without '='): hide the rest
      return out;
    }
    std::size_t v = eq + 1;
    while (v < n && is_blank(info[v])) ++v;
    out += info.substr(key_start, v - key_start);  // key, blanks, '=', blanks
    std::size_t end = v;
    bool closed = true;
    if (end < n && info[end] == '\'') {
      closed = false;
      for (++end; end < n; ++end) {
        if (info[end] == '\\' && end + 1 < n) {
          ++end;
        } else if (info[end] == '\'') {
          ++end;
          closed = true;
          break;
        }
      }
    } else {
      while (end < n && !is_blank(info[end])) end += info[end] == '\\' && end + 1 < n ? 2 : 1;
      end = std::min(end, n);
    }
    out += is_secret_name(key) || !closed ? kStars : info.substr(v, end - v);
    i = end;
  }
  return out;
}

// Starts with `word=` (after blanks): libpq's keyword form, not a path or URL.
bool looks_like_conninfo(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_blank(s[i])) ++i;
  const std::size_t start = i;
  while (i < s.size() && (std::isalpha(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
  if (i == start) return false;
  while (i < s.size() && is_blank(s[i])) ++i;
  return i < s.size() && s[i] == '=';
}

// "?query#fragment" (either optional) with secret pairs redacted in both.
std::string redact_query_and_fragment(std::string_view rest) {
  std::string out;
  const auto hash = rest.find('#');
  std::string_view before = rest.substr(0, hash);
  const auto q = before.find('?');
  if (q == std::string_view::npos) {
    out += before;
  } else {
    out += before.substr(0, q + 1);
    out += redact_pairs(before.substr(q + 1));
  }
  if (hash != std::string_view::npos) {
    out += '#';
    out += redact_pairs(rest.substr(hash + 1));
  }
  return out;
}

// What follows the hidden userinfo of a libpq URI (`all` is everything after
// "://", `hidden` how much of it was hidden). libpq has no fragment: the
// query starts at the first '?' after the userinfo and runs to the end, pairs
// split by '&' only, so a value may hold '#' (found by fuzz_redact). libpq
// ends the userinfo at the first '@' while the display hides up to the last,
// so the query can begin inside the hidden part (found by fuzz_redact); then
// the first visible piece continues a hidden value and is hidden too.
std::string redact_libpq_rest(std::string_view all, std::string_view authority,
                              std::size_t hidden) {
  const auto first_at = authority.find('@');
  const auto q = all.find('?', first_at == std::string_view::npos ? 0 : first_at + 1);
  const std::string_view rest = all.substr(hidden);
  if (q == std::string_view::npos) {
    // No query as libpq reads it; key=value text left over is hidden anyway.
    return rest.find('=') == std::string_view::npos ? std::string(rest) : redact_pairs(rest, "&");
  }
  if (q >= hidden) {
    return std::string(all.substr(hidden, q + 1 - hidden)) + redact_pairs(all.substr(q + 1), "&");
  }
  const auto amp = rest.find('&');
  if (amp == std::string_view::npos) return std::string(kStars);
  return std::string(kStars) + redact_pairs(rest.substr(amp), "&");
}

}  // namespace

bool is_secret_name(std::string_view name) {
  const std::string n = normalized(name);
  static constexpr std::array<std::string_view, 10> kParts = {
      "token",   "secret", "passw",   "signature", "credential",
      "session", "auth",   "private", "cookie",    "pwd"};
  for (std::string_view p : kParts) {
    if (n.find(p) != std::string::npos) return true;
  }
  return n.ends_with("key") || n == "sig" || n == "pass" || n == "code";
}

std::string redact_url(std::string_view url) {
  // `word=` first, as libpq decides: a keyword string may hold "://" inside
  // a value (found by fuzz_redact), and no URL starts with `word=`.
  if (looks_like_conninfo(url)) return redact_conninfo(url);
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return redact_query_and_fragment(url);
  std::string out(url.substr(0, scheme_end + 3));
  std::string_view rest = url.substr(scheme_end + 3);
  // The authority ends at the first '/', as libpq reads it: libpq lets a
  // password hold '?', '#', ':' and more unencoded, so stopping at "?#" as a
  // generic URL parser does printed those passwords whole. The userinfo is
  // everything before the last '@' in that span.
  const std::string_view authority = rest.substr(0, rest.find('/'));
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      // A user only; but "user?x#y" is not a user name anyone types: keep
      // what is clearly a name, hide the rest.
      const auto odd = userinfo.find_first_of("?#&=");
      out += odd == std::string_view::npos ? userinfo : userinfo.substr(0, odd);
      if (odd != std::string_view::npos) out += kStars;
    } else {
      out += userinfo.substr(0, colon);
      out += ':';
      out += kStars;
    }
    out += '@';
    rest.remove_prefix(at + 1);
  }
  const std::string_view scheme = url.substr(0, scheme_end);
  if (scheme == "postgresql" || scheme == "postgres") {
    out += redact_libpq_rest(url.substr(scheme_end + 3), authority,
                             at == std::string_view::npos ? 0 : at + 1);
    return out;
  }
  out += redact_query_and_fragment(rest);
  return out;
}

bool is_secret_header(std::string_view name) noexcept { return is_secret_name(name); }

std::string redact_header(std::string_view name, std::string_view value) {
  return is_secret_header(name) ? std::string(kStars) : std::string(value);
}

std::string scrub_secrets(std::string text, std::span<const std::string> secrets) {
  for (const std::string& s : secrets) {
    if (s.size() < 3) continue;  // "a" would shred every message; too short to matter
    for (auto p = text.find(s); p != std::string::npos; p = text.find(s, p + kStars.size())) {
      text.replace(p, s.size(), kStars);
    }
  }
  return text;
}

}  // namespace rebound
