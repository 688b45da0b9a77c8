// base64url — the URL- and filename-safe base64 alphabet (RFC 4648 section
// 5: '-' and '_' for '+' and '/'), without padding, as JWTs (RFC 7515) use it.
//
//   rebound::base64url("foo")                  == "Zm9v"
//   rebound::base64url("\xfb\xff")             == "-_8"
//   rebound::base64url_decode("-_8").value()   == "\xfb\xff"
//   rebound::base64url_decode("a b")           // error: not base64url
//
// Decoding tolerates trailing '=' padding and the standard alphabet's '+'
// and '/'; any other character is a permanent error (which does not quote
// the input: it may be a token). Users: the BigQuery back end's JWT signing
// (warehouse) and the BigQuery emulator's JWT checks.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "rebound/core/error.hpp"

namespace rebound {

// `bytes` in base64url, no padding.
[[nodiscard]] std::string base64url(std::string_view bytes);
// The bytes `text` encodes; a permanent error for a character outside the alphabet.
[[nodiscard]] Result<std::string> base64url_decode(std::string_view text);

}  // namespace rebound
