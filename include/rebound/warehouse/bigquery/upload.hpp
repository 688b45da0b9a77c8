// Uploader — NDJSON into a load job: multipart below 5 MiB, the resumable
// protocol above (contract §2.1, §2.2).
//
//   rebound::bigquery::Uploader up(rest, {});
//   auto r = up.upload(job_resource, ndjson);   // the final response: 200 Job or 409
//
// Multipart: one POST …/jobs?uploadType=multipart, multipart/related with a
// random boundary checked against the data; the job JSON part, then the
// bytes. Retried with the same body (so the same job id) by the RestClient.
//
// Resumable: POST …?uploadType=resumable (job JSON) → 200 + Location; then
// PUT chunks of `chunk_bytes` (a multiple of 256 KiB) with
// `Content-Range: bytes a-b/total`. A 308 carries `Range: bytes=0-N`: the
// next chunk starts at N+1 (a short Range re-sends the missing tail; no Range
// means nothing was kept, restart at 0). After a failed chunk (transport
// error, 408/429/5xx) the session is asked with `bytes */total` and resumed
// where the server says. A 404/410 means the session expired: a new session
// is started from byte 0 (at most `max_restarts` times) with the same job —
// if the old session had created it, the final PUT answers 409 and Jobs adopts
// it. Chunk failures are retried with full jitter (RestClient's policy).
//
// Thread safety: thread-safe (no shared state besides the RestClient).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rebound/warehouse/bigquery/rest_client.hpp"

namespace rebound::bigquery {

inline constexpr std::size_t kResumableQuantum = std::size_t{256} << 10;  // 256 KiB

struct UploadOptions {
  std::size_t multipart_limit = std::size_t{5} << 20;  // below: multipart
  std::size_t chunk_bytes = 8 * kResumableQuantum;     // resumable chunk (2 MiB)
  int max_restarts = 3;                                // expired sessions restarted
  int max_chunk_failures = 8;                          // failed PUTs per upload
};

// The multipart/related body python-bigquery sends (byte for byte, no trailing CRLF).
[[nodiscard]] std::string multipart_body(std::string_view boundary, std::string_view job_json,
                                         std::string_view data);
// "===============<19 digits>==" not occurring in `data`.
[[nodiscard]] std::string multipart_boundary(std::string_view data);
// Parses a 308's "bytes=0-N" into N+1 bytes kept; nullopt when malformed.
[[nodiscard]] std::optional<std::size_t> parse_range_header(std::string_view value);

class Uploader {
 public:
  // Errors: chunk_bytes not a positive multiple of 256 KiB (permanent).
  [[nodiscard]] static Result<Uploader> make(std::shared_ptr<RestClient> rest,
                                             UploadOptions options = {});

  // Multipart or resumable by size; returns the final response (2xx Job, or 409).
  [[nodiscard]] Result<http::Response> upload(const nlohmann::json& job,
                                              std::string_view data) const;
  [[nodiscard]] Result<http::Response> multipart(const nlohmann::json& job,
                                                 std::string_view data) const;
  [[nodiscard]] Result<http::Response> resumable(const nlohmann::json& job,
                                                 std::string_view data) const;

  [[nodiscard]] const UploadOptions& options() const noexcept { return options_; }

 private:
  Uploader(std::shared_ptr<RestClient> rest, UploadOptions options)
      : rest_(std::move(rest)), options_(options) {}
  [[nodiscard]] Result<std::string> start_session(const nlohmann::json& job,
                                                  std::size_t total) const;

  std::shared_ptr<RestClient> rest_;
  UploadOptions options_;
};

}  // namespace rebound::bigquery
