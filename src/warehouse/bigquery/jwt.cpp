// RS256 JWTs with OpenSSL's EVP API. See jwt.hpp.
#include "rebound/warehouse/bigquery/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <nlohmann/json.hpp>

namespace rebound::bigquery {
namespace {

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

}  // namespace

Result<std::string> sign_rs256(std::string_view private_key_pem, std::string_view data) {
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())));
  if (!bio) return fail(Error::transient("BIO_new_mem_buf failed (out of memory?)"));
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    return fail(
        Error::permanent("private_key is not a PEM RSA private key (-----BEGIN PRIVATE KEY-----)"));
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return fail(Error::permanent("RS256 signing failed to initialise"));
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return fail(Error::permanent("RS256 signing failed"));
  }
  signature.resize(length);
  return signature;
}

Result<std::string> make_jwt(const JwtClaims& claims, std::string_view private_key_pem,
                             std::string_view key_id) {
  nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key_id.empty()) header["kid"] = key_id;
  nlohmann::json payload = {{"iss", claims.issuer},
                            {"scope", claims.scope},
                            {"iat", claims.issued_at},
                            {"exp", claims.expires_at}};
  if (!claims.audience.empty()) payload["aud"] = claims.audience;
  if (!claims.subject.empty()) payload["sub"] = claims.subject;
  std::string signing_input = base64url(header.dump()) + "." + base64url(payload.dump());
  auto signature = sign_rs256(private_key_pem, signing_input);
  if (!signature) return fail(std::move(signature.error()));
  return signing_input + "." + base64url(*signature);
}

}  // namespace rebound::bigquery
