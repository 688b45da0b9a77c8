// credentials — Application Default Credentials: which identity rebound
// uses to call BigQuery, found the way Google's libraries find it.
//
//   auto creds = rebound::bigquery::find_default_credentials(rebound::bigquery::process_env());
//   if (!creds) return fail(creds.error());       // names the file and the missing field
//   std::cout << describe(*creds);                // "service account x@p.iam… (key …json)"
//
// ADC order (contract §5.1, google-cloud-cpp's, with google-auth's
// GCE_METADATA_HOST):
//   1. GOOGLE_APPLICATION_CREDENTIALS: a service_account or authorized_user
//      JSON file (unreadable or malformed is a hard error, never a fallthrough);
//   2. the gcloud ADC file, $CLOUDSDK_CONFIG or ~/.config/gcloud, then
//      application_default_credentials.json;
//   3. the metadata server: GCE_METADATA_HOST (host[:port]), legacy
//      GCE_METADATA_ROOT, else metadata.google.internal — unconditionally, as
//      google-cloud-cpp does (a machine without one fails at the first token).
//
// The structs hold secrets (private_key, client_secret, refresh_token):
// describe() and every error message name the file and identity, never them.
//
// Thread safety: value types and pure functions (process_env reads getenv).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "rebound/core/error.hpp"

namespace rebound::bigquery {

inline constexpr std::string_view kGoogleTokenUri = "https://oauth2.googleapis.com/token";

// No token at all (an emulator, auth=none).
struct Anonymous {};

struct ServiceAccountKey {
  std::string client_email;
  std::string private_key;     // PEM — secret
  std::string private_key_id;  // the JWT "kid"
  std::string token_uri = std::string(kGoogleTokenUri);
  std::string project_id;
  std::string origin;  // where it came from, for messages: the file path
};

struct AuthorizedUser {
  std::string client_id;
  std::string client_secret;  // secret
  std::string refresh_token;  // secret
  std::string token_uri = std::string(kGoogleTokenUri);
  std::string quota_project_id;
  std::string origin;
};

struct MetadataServer {
  std::string base_url = "http://metadata.google.internal";  // scheme://host[:port]
};

using Credentials = std::variant<Anonymous, ServiceAccountKey, AuthorizedUser, MetadataServer>;

// Looks an environment variable up; tests pass a map instead of the process.
using Env = std::function<std::optional<std::string>(std::string_view name)>;
[[nodiscard]] Env process_env();

// Parses a credentials JSON file's text. `origin` names it in errors.
// Errors (permanent): not JSON, unknown or missing "type", a missing field.
[[nodiscard]] Result<Credentials> parse_credentials_json(std::string_view text,
                                                         std::string_view origin);
// Reads and parses a file.
[[nodiscard]] Result<Credentials> load_credentials_file(const std::string& path);

// The ADC search above.
[[nodiscard]] Result<Credentials> find_default_credentials(const Env& env);

// "anonymous", "service account NAME (key PATH)", "authorized user (PATH)",
// "metadata server URL" — safe for logs.
[[nodiscard]] std::string describe(const Credentials& credentials);

}  // namespace rebound::bigquery
