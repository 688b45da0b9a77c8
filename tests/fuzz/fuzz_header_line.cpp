// Fuzzer: header lines (rebound::parse_header_line, parse_header_option,
// redact_header). Properties: a parsed name is a token and a parsed value
// holds no CR, LF or NUL (no header injection), both are views into the
// input; an option error never depends on the value (it may hold a secret);
// a secret header's value never appears in its redacted form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rebound/core/headers.hpp"
#include "rebound/core/redact.hpp"

using namespace rebound;

namespace {
bool clean(std::string_view v) {
  return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto h = parse_header_line(text)) {
    if (!is_http_token(h->name) || !clean(h->value)) std::abort();
    if (h->name.data() < text.data() || h->value.data() + h->value.size() > text.data() + size)
      std::abort();
    if (is_secret_header(h->name) && h->value.size() >= 4 &&
        redact_header(h->name, h->value).find(h->value) != std::string::npos)
      std::abort();
  }
  auto opt = parse_header_option(text);
  if (opt) {
    if (!is_http_token(opt->first) || !clean(opt->second)) std::abort();
  } else {
    // The message must not depend on what follows the colon (all of it
    // when there is none): the same argument with those letters and digits
    // changed must give the very same message. (Checking "the argument is
    // not a substring" is fooled by inputs copied from the message itself.)
    std::string masked(text);
    const auto colon = masked.find(':');
    for (std::size_t i = colon == std::string::npos ? 0 : colon + 1; i < masked.size(); ++i) {
      char& c = masked[i];
      if (c >= 'a' && c <= 'y')
        ++c;
      else if (c == 'z')
        c = 'a';
      else if (c >= '0' && c <= '8')
        ++c;
      else if (c == '9')
        c = '0';
    }
    auto again = parse_header_option(masked);
    if (again || again.error().message != opt.error().message) std::abort();
  }
  return 0;
}
