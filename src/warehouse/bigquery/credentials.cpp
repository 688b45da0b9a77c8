// ADC discovery and credential files. See credentials.hpp.
#include "rebound/warehouse/bigquery/credentials.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace rebound::bigquery {
namespace {

Result<std::string> required(const nlohmann::json& j, const char* field, std::string_view type,
                             std::string_view origin) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string() || it->get<std::string>().empty()) {
    return fail(Error::permanent("credentials file " + std::string(origin) + " (type " +
                                 std::string(type) + ") has no \"" + field + "\" field"));
  }
  return it->get<std::string>();
}

std::string optional_field(const nlohmann::json& j, const char* field, std::string fallback = {}) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string() || it->get<std::string>().empty()) return fallback;
  return it->get<std::string>();
}

Result<Credentials> service_account(const nlohmann::json& j, std::string_view origin) {
  ServiceAccountKey key;
  auto email = required(j, "client_email", "service_account", origin);
  if (!email) return fail(email.error());
  auto pem = required(j, "private_key", "service_account", origin);
  if (!pem) return fail(pem.error());
  key.client_email = std::move(*email);
  key.private_key = std::move(*pem);
  key.private_key_id = optional_field(j, "private_key_id");
  key.token_uri = optional_field(j, "token_uri", std::string(kGoogleTokenUri));
  key.project_id = optional_field(j, "project_id");
  key.origin = std::string(origin);
  return key;
}

Result<Credentials> authorized_user(const nlohmann::json& j, std::string_view origin) {
  AuthorizedUser user;
  for (auto [field, target] :
       {std::pair{"client_id", &user.client_id}, std::pair{"client_secret", &user.client_secret},
        std::pair{"refresh_token", &user.refresh_token}}) {
    auto value = required(j, field, "authorized_user", origin);
    if (!value) return fail(value.error());
    *target = std::move(*value);
  }
  user.token_uri = optional_field(j, "token_uri", std::string(kGoogleTokenUri));
  user.quota_project_id = optional_field(j, "quota_project_id");
  user.origin = std::string(origin);
  return user;
}

MetadataServer metadata_server(const Env& env) {
  MetadataServer out;
  std::optional<std::string> host = env("GCE_METADATA_HOST");
  if (!host || host->empty()) host = env("GCE_METADATA_ROOT");
  if (host && !host->empty()) {
    out.base_url = host->find("://") == std::string::npos ? "http://" + *host : *host;
    while (!out.base_url.empty() && out.base_url.back() == '/') out.base_url.pop_back();
  }
  return out;
}

}  // namespace

Env process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<Credentials> parse_credentials_json(std::string_view text, std::string_view origin) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return fail(
        Error::permanent("credentials file " + std::string(origin) + " is not a JSON object"));
  }
  const std::string type = optional_field(j, "type");
  if (type == "service_account") return service_account(j, origin);
  if (type == "authorized_user") return authorized_user(j, origin);
  return fail(Error::permanent(
      "credentials file " + std::string(origin) + " has type \"" + type +
      "\"; rebound supports service_account and authorized_user (or the metadata server)"));
}

Result<Credentials> load_credentials_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(Error::permanent("cannot read credentials file " + path +
                                 " (GOOGLE_APPLICATION_CREDENTIALS or the gcloud ADC file)"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_credentials_json(text.str(), path);
}

Result<Credentials> find_default_credentials(const Env& env) {
  if (auto path = env("GOOGLE_APPLICATION_CREDENTIALS"); path && !path->empty()) {
    return load_credentials_file(*path);
  }
  std::filesystem::path gcloud;
  if (auto dir = env("CLOUDSDK_CONFIG"); dir && !dir->empty()) {
    gcloud = *dir;
  } else if (auto home = env("HOME"); home && !home->empty()) {
    gcloud = std::filesystem::path(*home) / ".config" / "gcloud";
  }
  if (!gcloud.empty()) {
    const auto file = gcloud / "application_default_credentials.json";
    std::error_code ec;
    if (std::filesystem::is_regular_file(file, ec)) return load_credentials_file(file.string());
  }
  return metadata_server(env);
}

std::string describe(const Credentials& credentials) {
  struct Describe {
    std::string operator()(const Anonymous&) const { return "anonymous (no token)"; }
    std::string operator()(const ServiceAccountKey& k) const {
      return "service account " + k.client_email + " (key " + k.origin + ")";
    }
    std::string operator()(const AuthorizedUser& u) const {
      return "authorized user (" + u.origin + ")";
    }
    std::string operator()(const MetadataServer& m) const {
      return "metadata server " + m.base_url;
    }
  };
  return std::visit(Describe{}, credentials);
}

}  // namespace rebound::bigquery
