// Auth for testing auth (contract §5, §6.2): an OAuth token endpoint that
// verifies RS256 service-account assertions against a configured public key
// and accepts configured refresh tokens, metadata-server token routes that
// insist on `Metadata-Flavor: Google`, and the Bearer check on BigQuery
// routes. Tokens are never logged.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "impl.hpp"
#include "rebound/core/base64url.hpp"
#include "rebound/core/percent_decode.hpp"

namespace rebound::emulator::bigquery {

using namespace detail;

namespace {

struct PKeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PKey = std::unique_ptr<EVP_PKEY, PKeyDeleter>;

PKey load_public_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return nullptr;
  EVP_PKEY* key = nullptr;
  if (pem.find("BEGIN CERTIFICATE") != std::string::npos) {
    if (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      key = X509_get_pubkey(cert);
      X509_free(cert);
    }
  } else {
    key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  }
  BIO_free(bio);
  return PKey(key);
}

// Verifies an RS256 JWT's signature; returns its claims.
std::optional<json> verify_jwt(const std::string& jwt, const std::string& public_key_pem,
                               std::string& why) {
  const auto d1 = jwt.find('.');
  const auto d2 = jwt.find('.', d1 == std::string::npos ? 0 : d1 + 1);
  if (d1 == std::string::npos || d2 == std::string::npos) {
    why = "the assertion is not a JWT";
    return std::nullopt;
  }
  const auto header = base64url_decode(std::string_view(jwt).substr(0, d1));
  const auto payload = base64url_decode(std::string_view(jwt).substr(d1 + 1, d2 - d1 - 1));
  const auto signature = base64url_decode(std::string_view(jwt).substr(d2 + 1));
  if (!header || !payload || !signature) {
    why = "the assertion is not valid base64url";
    return std::nullopt;
  }
  const json h = json::parse(*header, nullptr, false);
  const json claims = json::parse(*payload, nullptr, false);
  if (!h.is_object() || !claims.is_object() || h.value("alg", "") != "RS256") {
    why = "the assertion must be an RS256 JWT";
    return std::nullopt;
  }
  PKey key = load_public_key(public_key_pem);
  if (!key) {
    why = "the emulator has no usable public key";
    return std::nullopt;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const std::string signed_part = jwt.substr(0, d2);
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestVerify(
          ctx, reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
          reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    why = "Invalid JWT Signature.";
    return std::nullopt;
  }
  return claims;
}

std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> out;
  std::string_view rest = body;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    out[percent_decode(pair.substr(0, eq), PlusSign::space)] =
        eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), PlusSign::space);
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

Reply oauth_error(int status, const std::string& error, const std::string& description) {
  Reply r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json; charset=UTF-8"}};
  r.body = json{{"error", error}, {"error_description", description}}.dump();
  return r;
}

bool scope_ok(const std::string& scope) {
  return scope.find("https://www.googleapis.com/auth/bigquery") != std::string::npos ||
         scope.find("https://www.googleapis.com/auth/cloud-platform") != std::string::npos;
}

}  // namespace

std::optional<Reply> Emulator::Impl::auth_route(const ServerRequest& request,
                                                const std::string& path, FaultPlan& faults) {
  int lifetime = options.token_lifetime_s;
  bool flavor = true;
  for (const json& e : faults.job_effects) {
    if (e.value("kind", "") == "tokenExpiresIn")
      lifetime = static_cast<int>(to_int(e.value("seconds", json(60))).value_or(60));
    if (e.value("kind", "") == "omitMetadataFlavor") flavor = false;
  }
  auto issue = [&] {
    const std::string token = random_id("ya29.emulator-");
    tokens[token] = now() + std::int64_t{lifetime} * 1000;
    Reply r;
    r.status = 200;
    r.headers = {{"Content-Type", "application/json; charset=UTF-8"}};
    r.body =
        json{{"access_token", token}, {"expires_in", lifetime}, {"token_type", "Bearer"}}.dump();
    return r;
  };
  if (path == "/token" || path == "/oauth2/v4/token") {
    if (request.method != "POST")
      return oauth_error(405, "invalid_request", "POST the token request");
    const auto form = parse_form(request.body);
    const std::string grant = form.contains("grant_type") ? form.at("grant_type") : "";
    if (grant == "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      std::string why;
      const auto claims = verify_jwt(form.contains("assertion") ? form.at("assertion") : "",
                                     options.service_account_public_key_pem, why);
      if (!claims) return oauth_error(400, "invalid_grant", why);
      const std::string aud = claims->value("aud", "");
      const auto iat = to_int(claims->value("iat", json()));
      const auto exp = to_int(claims->value("exp", json()));
      const std::int64_t now_s = now() / 1000;
      if (aud != "https://oauth2.googleapis.com/token" &&
          aud != "https://www.googleapis.com/oauth2/v4/token" &&
          aud != "http://127.0.0.1:" + std::to_string(server->port()) + "/token") {
        return oauth_error(400, "invalid_grant",
                           "Invalid JWT: audience \"" + aud + "\" is not the token endpoint");
      }
      if (!iat || !exp || *exp - *iat > 3600 || *exp <= *iat) {
        return oauth_error(400, "invalid_grant",
                           "Invalid JWT: exp - iat must be within (0, 3600] seconds");
      }
      if (*exp < now_s || *iat > now_s + 300) {
        return oauth_error(400, "invalid_grant",
                           "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                           "reasonable timeframe. Check your iat and exp values in the JWT claim.");
      }
      if (claims->value("iss", "").empty() || !scope_ok(claims->value("scope", ""))) {
        return oauth_error(400, "invalid_scope",
                           "Invalid JWT: iss and a BigQuery or cloud-platform scope are required");
      }
      return issue();
    }
    if (grant == "refresh_token") {
      const std::string token = form.contains("refresh_token") ? form.at("refresh_token") : "";
      const bool known = std::find(options.refresh_tokens.begin(), options.refresh_tokens.end(),
                                   token) != options.refresh_tokens.end();
      if (!known || !form.contains("client_id") || !form.contains("client_secret")) {
        return oauth_error(400, "invalid_grant", "Token has been expired or revoked.");
      }
      return issue();
    }
    return oauth_error(400, "unsupported_grant_type", "Invalid grant_type: " + grant);
  }
  if (path.starts_with("/computeMetadata/")) {
    const auto header = request.header("Metadata-Flavor");
    if (!header || *header != "Google") {
      Reply r = Reply::text(403, "Missing required header: Metadata-Flavor: Google\n");
      return r;
    }
    Reply r;
    const std::string base = "/computeMetadata/v1/instance/service-accounts/default";
    if (path == base + "/token") {
      r = issue();
    } else if (path == base + "/" || path == base) {
      r = json_reply(200, json{{"aliases", {"default"}},
                               {"email", "emulator@rebound.invalid"},
                               {"scopes", {"https://www.googleapis.com/auth/cloud-platform"}}});
    } else if (path == base + "/email") {
      r = Reply::text(200, "emulator@rebound.invalid");
    } else if (path == "/computeMetadata/v1/project/project-id") {
      r = Reply::text(200, options.project);
    } else {
      r = Reply::text(404, "Not found: " + path + "\n");
    }
    if (flavor) r.headers.emplace_back("Metadata-Flavor", "Google");
    return r;
  }
  if (path == "/" && request.method == "GET") {
    Reply r = Reply::text(200, "rebound BigQuery emulator\n");
    if (flavor) r.headers.emplace_back("Metadata-Flavor", "Google");
    return r;
  }
  return std::nullopt;
}

bool Emulator::Impl::authorized(const ServerRequest& request) {
  const auto header = request.header("Authorization");
  if (!header || !header->starts_with("Bearer ")) return false;
  const std::string token = header->substr(7);
  if (auto it = tokens.find(token); it != tokens.end()) return it->second > now();
  // A self-signed JWT (google-cloud-cpp's default) is its own token.
  if (options.service_account_public_key_pem.empty()) return false;
  std::string why;
  const auto claims = verify_jwt(token, options.service_account_public_key_pem, why);
  if (!claims) return false;
  const auto exp = to_int(claims->value("exp", json()));
  return exp && *exp > now() / 1000 && !claims->value("iss", "").empty();
}

}  // namespace rebound::emulator::bigquery
