// Fuzzer: warehouse URLs and libpq connection strings -> redact_url.
// Property: no secret libpq itself would read from the input appears in the
// redacted output. The input is parsed with PQconninfoParse (URL or keyword
// form); every secret keyword's value (password, sslpassword, …; 4+ bytes)
// must be absent from redact_url(input) — checked where the input holds that
// value once, verbatim, and masking it changes what libpq reads (so the text
// is the secret, not a host or dbname that happens to spell it).
// A second mode wraps the input as an http URL's query/fragment value under a
// secret name, between two markers that must never be printed.
#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/core/redact.hpp"

namespace {

// The value libpq reads for `keyword` from `text`, or nullopt.
std::optional<std::string> libpq_value(const std::string& text, const char* keyword) {
  PQconninfoOption* parsed = PQconninfoParse(text.c_str(), nullptr);
  if (parsed == nullptr) return std::nullopt;
  std::optional<std::string> out;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && std::string_view(o->keyword) == keyword) out = o->val;
  }
  PQconninfoFree(parsed);
  return out;
}

void check_libpq_secrets(const std::string& input) {
  PQconninfoOption* parsed = PQconninfoParse(input.c_str(), nullptr);
  if (parsed == nullptr) return;
  std::vector<std::pair<std::string, std::string>> secrets;  // keyword, value
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && rebound::is_secret_name(o->keyword)) {
      secrets.emplace_back(o->keyword, o->val);
    }
  }
  PQconninfoFree(parsed);
  const std::string shown = rebound::redact_url(input);
  for (const auto& [keyword, s] : secrets) {
    if (s.size() < 4 || s.find("***") != std::string::npos) continue;
    // Only a secret whose one raw occurrence in the input provably is the
    // value libpq reads: mask that occurrence and libpq must read something
    // else. (Text that also appears elsewhere — a host "pp" then "/wd…"
    // spelling "p/wd" — is not the secret leaking.)
    const auto pos = input.find(s);
    if (pos == std::string::npos || input.find(s, pos + 1) != std::string::npos) continue;
    std::string masked = input;
    for (std::size_t i = pos; i < pos + s.size(); ++i) masked[i] = 'Q';
    if (libpq_value(masked, keyword.c_str()) == s) continue;
    // A leak shows the secret where the masked input shows no such text; the
    // same text in both comes from around it (the secret "rd=**" inside the
    // redacted "password=***").
    if (shown.find(s) != std::string::npos &&
        rebound::redact_url(masked).find(s) == std::string::npos)
      std::abort();
  }
}

void check_http_names(std::string_view body, std::uint8_t selector) {
  static const char* kNames[] = {"token",   "access_token", "X-Amz-Signature",  "client-secret",
                                 "api_key", "my%5Fsession", "X-Amz-Credential", "sig"};
  const std::string name = kNames[selector % 8];
  std::string value = "Zq9X";
  for (char c : body) {
    if (c != '&' && c != ';' && c != '#' && c != '\0') value += c;  // stays one value
  }
  value += "Xq9Z";
  const std::string url = (selector & 8) ? "http://h/p?a=1&" + name + "=" + value + "&b=2"
                                         : "https://h/cb#state=s&" + name + "=" + value;
  const std::string shown = rebound::redact_url(url);
  if (shown.find("Zq9X") != std::string::npos || shown.find("Xq9Z") != std::string::npos)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 4096) return 0;
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  if (input.find('\0') != std::string::npos) return 0;  // libpq takes C strings
  check_libpq_secrets(input);
  check_http_names(input, data[0]);
  return 0;
}
