// A throwaway RSA key per test binary (generated with OpenSSL, never stored),
// and a verifier for RS256 JWTs signed with it.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "rebound/warehouse/bigquery/jwt.hpp"

namespace rebound::bigquery::test {

struct TestKey {
  std::string private_pem;
  std::string public_pem;
};

inline const TestKey& test_key() {
  static const TestKey key = [] {
    TestKey k;
    EVP_PKEY* pkey = EVP_RSA_gen(2048);
    BIO* priv = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(priv, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    BIO* pub = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(pub, pkey);
    char* data = nullptr;
    long n = BIO_get_mem_data(priv, &data);
    k.private_pem.assign(data, static_cast<std::size_t>(n));
    n = BIO_get_mem_data(pub, &data);
    k.public_pem.assign(data, static_cast<std::size_t>(n));
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(pkey);
    return k;
  }();
  return key;
}

// Checks an RS256 JWT against a PEM public key; returns its claims, or null.
inline nlohmann::json verify_jwt(const std::string& jwt, const std::string& public_pem) {
  const auto dot1 = jwt.find('.');
  const auto dot2 = jwt.find('.', dot1 + 1);
  if (dot1 == std::string::npos || dot2 == std::string::npos) return nullptr;
  auto signature = base64url_decode(jwt.substr(dot2 + 1));
  auto payload = base64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1));
  auto header = base64url_decode(jwt.substr(0, dot1));
  if (!signature || !payload || !header) return nullptr;
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const std::string input = jwt.substr(0, dot2);
  const bool ok =
      key != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature->data()),
                       signature->size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (!ok) return nullptr;
  auto h = nlohmann::json::parse(*header, nullptr, false);
  if (!h.is_object() || h.value("alg", "") != "RS256") return nullptr;
  return nlohmann::json::parse(*payload, nullptr, false);
}

}  // namespace rebound::bigquery::test
