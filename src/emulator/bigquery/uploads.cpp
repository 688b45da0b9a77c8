// Load uploads: multipart/related (Python's and Node's layouts) and the
// resumable protocol (initiate → Location, PUT chunks → 308 + Range, the
// `bytes */*` status query, the 256 KiB rule, expiry).
#include <regex>

#include "impl.hpp"

namespace rebound::emulator::bigquery {

using namespace detail;

namespace {

constexpr std::size_t kChunkQuantum = 256 * 1024;

std::optional<std::string> boundary_of(const std::string& content_type) {
  static const std::regex kBoundary(R"re(boundary\s*=\s*"?([^";]+)"?)re", std::regex::icase);
  std::smatch m;
  if (!std::regex_search(content_type, m, kBoundary)) return std::nullopt;
  return m[1].str();
}

struct Part {
  std::string headers;
  std::string body;
};

// Splits a multipart body; tolerant of a missing trailing CRLF and of bare LF.
std::vector<Part> split_multipart(const std::string& body, const std::string& boundary) {
  std::vector<Part> parts;
  const std::string delimiter = "--" + boundary;
  std::size_t pos = body.find(delimiter);
  while (pos != std::string::npos) {
    pos += delimiter.size();
    if (body.compare(pos, 2, "--") == 0) break;
    if (body.compare(pos, 2, "\r\n") == 0)
      pos += 2;
    else if (pos < body.size() && body[pos] == '\n')
      pos += 1;
    std::size_t next = body.find(delimiter, pos);
    std::size_t end = next == std::string::npos ? body.size() : next;
    std::string chunk = body.substr(pos, end - pos);
    if (chunk.ends_with("\r\n"))
      chunk.resize(chunk.size() - 2);
    else if (chunk.ends_with("\n"))
      chunk.resize(chunk.size() - 1);
    std::size_t split = chunk.find("\r\n\r\n");
    std::size_t skip = 4;
    if (split == std::string::npos) {
      split = chunk.find("\n\n");
      skip = 2;
    }
    Part part;
    if (split == std::string::npos) {
      part.body = chunk;
    } else {
      part.headers = chunk.substr(0, split);
      part.body = chunk.substr(split + skip);
    }
    parts.push_back(std::move(part));
    pos = next;
  }
  return parts;
}

struct ContentRange {
  bool status_query = false;          // bytes */*
  std::optional<std::int64_t> first;  // a
  std::optional<std::int64_t> last;   // b
  std::optional<std::int64_t> total;  // N or unknown
};

std::optional<ContentRange> parse_content_range(const std::string& value) {
  static const std::regex kRange(R"(\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*)", std::regex::icase);
  std::smatch m;
  if (!std::regex_match(value, m, kRange)) return std::nullopt;
  ContentRange r;
  if (m[1].matched) {
    r.first = std::stoll(m[1].str());
    r.last = std::stoll(m[2].str());
  }
  if (m[3].str() != "*") r.total = std::stoll(m[3].str());
  r.status_query = !r.first && !r.total;
  return r;
}

Reply resume_incomplete(std::size_t stored) {
  Reply r;
  r.status = 308;
  if (stored > 0) r.headers.emplace_back("Range", "bytes=0-" + std::to_string(stored - 1));
  return r;
}

bool has_effect(const FaultPlan& faults, std::string_view kind) {
  for (const json& e : faults.job_effects) {
    if (e.value("kind", "") == kind) return true;
  }
  return false;
}

std::int64_t effect_int(const FaultPlan& faults, std::string_view kind, const char* key,
                        std::int64_t fallback) {
  for (const json& e : faults.job_effects) {
    if (e.value("kind", "") == kind && e.contains(key)) return to_int(e[key]).value_or(fallback);
  }
  return fallback;
}

}  // namespace

Reply Emulator::Impl::upload_multipart(const ServerRequest& request, const std::string& project,
                                       FaultPlan& faults) {
  const auto boundary = boundary_of(request.header("Content-Type").value_or(""));
  if (!boundary) return error_reply(BqError::invalid("multipart upload without a boundary"));
  const auto parts = split_multipart(request.body, *boundary);
  if (parts.size() < 2) {
    return error_reply(BqError::invalid("multipart upload needs a metadata part and a media part"));
  }
  json job = json::parse(parts[0].body, nullptr, false);
  if (job.is_discarded() || !job.is_object()) {
    return error_reply(BqError::make(400, "parseError", "Invalid JSON payload received."));
  }
  auto created = create_job(project, job, parts[1].body, faults);
  return created ? json_reply(200, job_json(**created)) : error_reply(created.error());
}

Reply Emulator::Impl::upload_initiate(const ServerRequest& request, const std::string& project) {
  json job = json::parse(request.body.empty() ? "{}" : request.body, nullptr, false);
  if (job.is_discarded() || !job.is_object()) {
    return error_reply(BqError::make(400, "parseError", "Invalid JSON payload received."));
  }
  if (!job.value("configuration", json::object()).contains("load")) {
    return error_reply(BqError::invalid("A resumable upload needs a load job configuration"));
  }
  const json ref = job.value("jobReference", json::object());
  if (options.unconfirmed.duplicate_at_initiate && ref.contains("jobId")) {
    const std::string id = ref["jobId"].get<std::string>();
    if (auto existing = find_job(ref.value("projectId", project), id, ref.value("location", ""))) {
      return error_reply(BqError::duplicate("Already Exists: Job " + existing->project + ":" +
                                            upper_location(existing->location) + "." + id));
    }
  }
  const std::string upload_id = random_id("up_");
  uploads[upload_id] = UploadSession{.project = project, .job = job, .created_ms = now()};
  Reply r;
  r.status = 200;
  r.headers = {{"Location", "http://127.0.0.1:" + std::to_string(server->port()) +
                                "/upload/bigquery/v2/projects/" + project +
                                "/jobs?uploadType=resumable&upload_id=" + upload_id},
               {"X-GUploader-UploadID", upload_id}};
  return r;
}

Reply Emulator::Impl::upload_put(const ServerRequest& request, const std::string& id,
                                 FaultPlan& faults) {
  auto it = uploads.find(id);
  const int gone = options.unconfirmed.expired_upload_is_410 ? 410 : 404;
  if (it != uploads.end() && has_effect(faults, "expireUpload")) it->second.expired = true;
  if (it == uploads.end() || it->second.expired ||
      now() - it->second.created_ms > options.upload_session_ttl.count()) {
    return error_reply(BqError::make(
        gone, "notFound", "Not found: upload session " + id + " is unknown or has expired"));
  }
  UploadSession& s = it->second;
  if (s.done) {
    if (auto j = jobs.find(s.job_key); j != jobs.end())
      return json_reply(200, job_json(*j->second));
  }
  const auto header = request.header("Content-Range");
  ContentRange range;
  if (header) {
    auto parsed = parse_content_range(*header);
    if (!parsed) return error_reply(BqError::invalid("Invalid Content-Range: " + *header));
    range = *parsed;
  } else {
    range.first = 0;
    range.total = static_cast<std::int64_t>(request.body.size());
  }
  if (range.status_query) return resume_incomplete(s.data.size());
  if (range.first) {
    const auto first = static_cast<std::size_t>(*range.first);
    if (first > s.data.size()) {
      return error_reply(BqError::invalid("Content-Range starts at " + std::to_string(first) +
                                          " but only " + std::to_string(s.data.size()) +
                                          " bytes were received"));
    }
    const std::size_t overlap = s.data.size() - first;
    if (overlap < request.body.size()) s.data.append(request.body, overlap, std::string::npos);
  }
  const bool final = range.total && static_cast<std::int64_t>(s.data.size()) >= *range.total;
  if (!final) {
    if (request.body.size() % kChunkQuantum != 0) {
      s.data.resize(static_cast<std::size_t>(range.first.value_or(0)));
      return error_reply(BqError::invalid("Non-final chunks must be a multiple of 262144 bytes"));
    }
    if (has_effect(faults, "noRange")) s.data.clear();
    const auto lag = static_cast<std::size_t>(effect_int(faults, "shortRange", "lagBytes", 0));
    if (lag > 0) s.data.resize(s.data.size() > lag ? s.data.size() - lag : 0);
    return resume_incomplete(s.data.size());
  }
  auto created = create_job(s.project, s.job, s.data, faults);
  if (!created) return error_reply(created.error());
  s.done = true;
  s.job_key =
      (*created)->project + "\n" + upper_location((*created)->location) + "\n" + (*created)->id;
  return json_reply(200, job_json(**created));
}

Reply Emulator::Impl::upload_route(const ServerRequest& request, const std::string& project,
                                   const std::map<std::string, std::string>& query,
                                   FaultPlan& faults, std::unique_lock<std::mutex>& lock) {
  (void)lock;
  const std::string type = query.contains("uploadType") ? query.at("uploadType") : "";
  if (request.method == "POST" && type == "multipart")
    return upload_multipart(request, project, faults);
  if (request.method == "POST" && type == "resumable") return upload_initiate(request, project);
  if ((request.method == "PUT" || request.method == "POST") && query.contains("uploadId")) {
    return upload_put(request, query.at("uploadId"), faults);
  }
  return error_reply(
      BqError::invalid("Unsupported upload request: " + request.method + " uploadType=" + type));
}

}  // namespace rebound::emulator::bigquery
