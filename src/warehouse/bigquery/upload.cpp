// Multipart and resumable NDJSON uploads. See upload.hpp.
#include "rebound/warehouse/bigquery/upload.hpp"

#include "rebound/core/random.hpp"
#include "rebound/retry/backoff.hpp"
#include "rebound/warehouse/bigquery/api_error.hpp"

namespace rebound::bigquery {
namespace {

std::string content_range(std::size_t first, std::size_t end, std::size_t total) {
  if (end == first) return "bytes */" + std::to_string(total);
  return "bytes " + std::to_string(first) + "-" + std::to_string(end - 1) + "/" +
         std::to_string(total);
}

bool is_2xx(int status) { return status >= 200 && status < 300; }

}  // namespace

std::string multipart_body(std::string_view boundary, std::string_view job_json,
                           std::string_view data) {
  std::string body;
  body.reserve(job_json.size() + data.size() + 4 * boundary.size() + 128);
  body += "--";
  body += boundary;
  body += "\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n";
  body += job_json;
  body += "\r\n--";
  body += boundary;
  body += "\r\ncontent-type: */*\r\n\r\n";
  body += data;
  body += "\r\n--";
  body += boundary;
  body += "--";
  return body;
}

std::string multipart_boundary(std::string_view data) {
  thread_local Rng rng = Rng::from_entropy();
  for (;;) {
    std::string digits = std::to_string(rng() % 10'000'000'000'000'000'000ULL);
    digits.insert(0, 19 - digits.size(), '0');
    std::string boundary = std::string(15, '=') + digits + "==";
    if (data.find(boundary) == std::string_view::npos) return boundary;
  }
}

std::optional<std::size_t> parse_range_header(std::string_view value) {
  constexpr std::string_view kPrefix = "bytes=0-";
  if (!value.starts_with(kPrefix)) return std::nullopt;
  value.remove_prefix(kPrefix.size());
  if (value.empty() || value.size() > 18) return std::nullopt;
  std::size_t last = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    last = last * 10 + static_cast<std::size_t>(c - '0');
  }
  return last + 1;
}

Result<Uploader> Uploader::make(std::shared_ptr<RestClient> rest, UploadOptions options) {
  if (options.chunk_bytes == 0 || options.chunk_bytes % kResumableQuantum != 0) {
    return fail(Error::permanent("upload chunk_bytes = " + std::to_string(options.chunk_bytes) +
                                 " must be a positive multiple of 262144 (256 KiB)"));
  }
  if (!rest) return fail(Error::permanent("Uploader needs a RestClient"));
  return Uploader(std::move(rest), options);
}

Result<http::Response> Uploader::upload(const nlohmann::json& job, std::string_view data) const {
  if (data.size() < options_.multipart_limit) return multipart(job, data);
  return resumable(job, data);
}

Result<http::Response> Uploader::multipart(const nlohmann::json& job, std::string_view data) const {
  const std::string boundary = multipart_boundary(data);
  const std::string id = job["jobReference"].value("jobId", "");
  return rest_->send({.method = "POST",
                      .url = rest_->upload("multipart"),
                      .body = multipart_body(boundary, job.dump(), data),
                      .content_type = "multipart/related; boundary=\"" + boundary + "\"",
                      .headers = {},
                      .accept = {409},
                      .operation = "multipart upload " + id,
                      .timeout = std::nullopt});
}

Result<std::string> Uploader::start_session(const nlohmann::json& job, std::size_t total) const {
  const std::string id = job["jobReference"].value("jobId", "");
  auto r = rest_->send({.method = "POST",
                        .url = rest_->upload("resumable"),
                        .body = job.dump(),
                        .content_type = "application/json; charset=UTF-8",
                        .headers = {{"X-Upload-Content-Type", "*/*"},
                                    {"X-Upload-Content-Length", std::to_string(total)}},
                        .accept = {},
                        .operation = "resumable upload start " + id,
                        .timeout = std::nullopt});
  if (!r) return fail(std::move(r.error()));
  auto location = r->header("Location");
  if (!location || location->empty()) {
    return fail(Error::transient("resumable upload start " + id + ": HTTP " +
                                 std::to_string(r->status) + " without a Location"));
  }
  if (location->starts_with("/")) return rest_->config().endpoint + *location;
  return *location;
}

Result<http::Response> Uploader::resumable(const nlohmann::json& job, std::string_view data) const {
  const std::string id = job["jobReference"].value("jobId", "");
  const std::size_t total = data.size();
  auto session = start_session(job, total);
  if (!session) return fail(std::move(session.error()));
  Backoff pause{FullJitter{.initial = std::chrono::seconds{1},
                           .maximum = std::chrono::seconds{60},
                           .multiplier = 2.0},
                Rng{std::hash<std::string>{}(id)}};
  if (const auto* rule = rest_->options().retry.rule_for(ErrorClass::transient)) {
    pause =
        Backoff{FullJitter{.initial = rule->initial, .maximum = rule->maximum, .multiplier = 2.0},
                Rng{std::hash<std::string>{}(id)}};
  }
  int restarts = 0, failures = 0;
  std::size_t offset = 0;
  auto put = [&](std::size_t first, std::size_t end, bool query) {
    return rest_->send_once(
        {.method = "PUT",
         .url = *session,
         .body = std::string(data.substr(first, end - first)),
         .content_type = "application/octet-stream",
         .headers = {{"Content-Range", query ? "bytes */" + std::to_string(total)
                                             : content_range(first, end, total)}},
         .accept = {308, 404, 409, 410},
         .operation = "resumable upload " + id + (query ? " status" : " chunk"),
         .timeout = std::nullopt});
  };
  // Applies a session answer; returns the final response when the upload ended.
  auto apply = [&](const http::Response& r) -> std::optional<Result<http::Response>> {
    if (is_2xx(r.status) || r.status == 409) return r;
    if (r.status == 308) {
      offset = parse_range_header(r.header("Range").value_or("")).value_or(0);
      return std::nullopt;
    }
    // 404/410: the session expired; start over with the same job.
    if (++restarts > options_.max_restarts) {
      return fail(error_from_response(
          r.status, r.body,
          "resumable upload " + id + " (session expired " + std::to_string(restarts) + " times)"));
    }
    auto fresh = start_session(job, total);
    if (!fresh) return fail(std::move(fresh.error()));
    session = std::move(fresh);
    offset = 0;
    return std::nullopt;
  };
  for (;;) {
    const std::size_t end = std::min(total, offset + options_.chunk_bytes);
    auto r = put(offset, end, /*query=*/false);
    if (r) {
      if (auto done = apply(*r)) return std::move(*done);
      continue;
    }
    if (!r.error().retriable() || ++failures > options_.max_chunk_failures) {
      return fail(std::move(r.error()));
    }
    rest_->sleeper().sleep_for(pause.next());
    // Recovery: ask the session how much it kept (contract §2.2 step 3).
    auto status = put(0, 0, /*query=*/true);
    if (status) {
      if (auto done = apply(*status)) return std::move(*done);
    }
  }
}

}  // namespace rebound::bigquery
