// percent_decode — the one decoder of %XX escapes (RFC 3986 section 2.1)
// for URL query values, path segments and form bodies.
//
//   rebound::percent_decode("a%20b+c")                            == "a b+c"
//   rebound::percent_decode("a%20b+c", rebound::PlusSign::space)  == "a b c"  // form body
//   rebound::percent_decode("100%")                               == "100%"   // kept as is
//
// A '%' not followed by two hex digits is kept literally (lenient, as
// browsers and servers are); nothing fails. '+' is a plus sign in a URI and
// a space in application/x-www-form-urlencoded text (PlusSign::space).
// Users: the BigQuery URL's query (warehouse), the BigQuery emulator's query
// strings, path segments and OAuth form bodies, and redaction's secret-name
// matching ("client%5Fsecret" is client_secret).
//
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rebound {

enum class PlusSign : std::uint8_t {
  literal,  // '+' stays '+' (URIs: RFC 3986)
  space,    // '+' is ' ' (HTML forms: application/x-www-form-urlencoded)
};

// `text` with every %XX escape replaced by its byte (see above).
[[nodiscard]] std::string percent_decode(std::string_view text, PlusSign plus = PlusSign::literal);

}  // namespace rebound
