// jwt — RS256 JSON Web Tokens for service-account keys, signed with OpenSSL.
//
//   auto jwt = rebound::bigquery::make_jwt({.issuer = key.client_email,
//                                           .audience = key.token_uri,
//                                           .scope = "https://www.googleapis.com/auth/bigquery",
//                                           .issued_at = now_s, .expires_at = now_s + 3600},
//                                          key.private_key, key.private_key_id);
//   // header.payload.signature, each base64url without padding (RFC 7515)
//
// The private key is only ever handed to OpenSSL: no error message quotes
// it (a bad key is "private_key is not a PEM RSA private key", nothing more).
//
// Thread safety: pure functions (OpenSSL 3 is thread-safe for this use).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rebound/core/base64url.hpp"  // base64url, base64url_decode (JWT parts)
#include "rebound/core/error.hpp"

namespace rebound::bigquery {

struct JwtClaims {
  std::string issuer;           // iss: the service account's client_email
  std::string subject;          // sub: optional (empty: omitted)
  std::string audience;         // aud: the token_uri (empty: omitted, for self-signed JWTs)
  std::string scope;            // space-separated scopes
  std::int64_t issued_at = 0;   // iat, seconds since the epoch
  std::int64_t expires_at = 0;  // exp, at most iat + 3600
};

// The RSASSA-PKCS1-v1_5 SHA-256 signature of `data` (raw bytes). Errors
// (permanent) never contain the key.
[[nodiscard]] Result<std::string> sign_rs256(std::string_view private_key_pem,
                                             std::string_view data);

// A signed JWT: {"alg":"RS256","typ":"JWT","kid":key_id} . claims . signature.
[[nodiscard]] Result<std::string> make_jwt(const JwtClaims& claims,
                                           std::string_view private_key_pem,
                                           std::string_view key_id = {});

}  // namespace rebound::bigquery
