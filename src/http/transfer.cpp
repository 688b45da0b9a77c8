#include "transfer.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "rebound/core/redact.hpp"
#include "rebound/core/headers.hpp"
#include "rebound/retry/classify.hpp"
#include "rebound/retry/pushback.hpp"

namespace rebound::http::detail {
namespace {

struct CurlUrl {
  CurlUrl() : handle(curl_url()) {}
  ~CurlUrl() { curl_url_cleanup(handle); }
  CurlUrl(const CurlUrl&) = delete;
  CurlUrl& operator=(const CurlUrl&) = delete;
  std::string part(CURLUPart which) const {
    char* value = nullptr;
    if (curl_url_get(handle, which, &value, 0) != CURLUE_OK || value == nullptr) return {};
    std::string out(value);
    curl_free(value);
    return out;
  }
  CURLU* handle;
};

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

Duration micros(curl_off_t us) { return std::chrono::microseconds{us}; }

}  // namespace

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

Result<Target> validate(const Request& request, const ClientOptions& options) {
  const std::string shown_url = redact_url(request.url);
  if (request.method.empty() ||
      !std::all_of(request.method.begin(), request.method.end(), is_token_char)) {
    return fail(
        Error::permanent("invalid HTTP method \"" + request.method + "\" for " + shown_url));
  }
  if (has_control(request.url)) {
    return fail(Error::permanent("invalid URL " + shown_url +
                                 ": it contains CR, LF or NUL; nothing was sent"));
  }
  CurlUrl url;
  const CURLUcode parsed = curl_url_set(url.handle, CURLUPART_URL, request.url.c_str(), 0);
  if (parsed != CURLUE_OK) {
    return fail(Error::permanent("invalid URL \"" + shown_url + "\": " + curl_url_strerror(parsed) +
                                 "; nothing was sent"));
  }
  const std::string scheme = url.part(CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https") {
    return fail(Error::permanent("unsupported scheme \"" + scheme + "\" in " + shown_url +
                                 ": only http and https are allowed; nothing was sent"));
  }
  Target target;
  std::string port = url.part(CURLUPART_PORT);
  if (port.empty()) port = scheme == "https" ? "443" : "80";
  target.host_port = url.part(CURLUPART_HOST) + ":" + port;
  target.shown = upper(request.method) + " " + shown_url;
  if (std::string password = url.part(CURLUPART_PASSWORD); !password.empty())
    target.secrets.push_back(password);
  auto check_headers = [&](const Headers& headers) -> Status {
    for (const auto& [name, value] : headers) {
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
        return fail(Error::permanent(
            "invalid header name \"" + redact_header("x", name) + "\" for " + target.shown +
            ": header names are HTTP tokens (no spaces, colons, CR or LF); nothing was sent"));
      }
      if (has_control(value)) {
        return fail(
            Error::permanent("invalid value for header " + name + " in " + target.shown +
                             ": it contains CR, LF or NUL (header injection); nothing was sent"));
      }
      if (is_secret_header(name) && !value.empty()) target.secrets.push_back(value);
    }
    return {};
  };
  if (auto ok = check_headers(options.default_headers); !ok) return fail(ok.error());
  if (auto ok = check_headers(request.headers); !ok) return fail(ok.error());
  if (has_control(options.user_agent))
    return fail(Error::permanent("invalid user_agent: it contains CR, LF or NUL"));
  return target;
}

bool is_idempotent(const Request& request) {
  switch (request.idempotency) {
    case Idempotency::idempotent:
      return true;
    case Idempotency::not_idempotent:
      return false;
    case Idempotency::automatic:
      break;
  }
  const std::string method = upper(request.method);
  if (method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
      method == "OPTIONS" || method == "TRACE") {
    return true;
  }
  return std::any_of(request.headers.begin(), request.headers.end(), [](const auto& h) {
    return upper(h.first) == "IDEMPOTENCY-KEY" && !h.second.empty();
  });
}

Slist header_list(const ClientOptions& options, const Request& request) {
  Slist headers;
  auto append = [&](const Headers& list) {
    for (const auto& [name, value] : list) {
      const std::string line = name + ": " + value;
      if (curl_slist* grown = curl_slist_append(headers.get(), line.c_str())) {
        (void)headers.release();
        headers.reset(grown);
      }
    }
  };
  append(options.default_headers);
  append(request.headers);
  return headers;
}

std::size_t Transfer::on_body(char* data, std::size_t size, std::size_t count, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const std::size_t n = size * count;
  if (t->response.body.size() + n > t->limit) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

int Transfer::on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(self)->stop.stop_requested() ? 1 : 0;
}

std::size_t Transfer::on_header(char* data, std::size_t size, std::size_t count, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new status line (after 100 Continue): start over
    return n;
  }
  if (auto h = parse_header_line(line)) {
    t->response.headers.emplace_back(std::string(h->name), std::string(h->value));
  }
  return n;
}

ClientStats Counters::snapshot() const {
  ClientStats s;
  s.requests = requests.load(std::memory_order_relaxed);
  s.attempts = attempts.load(std::memory_order_relaxed);
  s.new_connections = new_connections.load(std::memory_order_relaxed);
  s.reused_connections = reused_connections.load(std::memory_order_relaxed);
  s.failures = failures.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kErrorClassCount; ++i)
    s.retries_by_class[i] = retries[i].load(std::memory_order_relaxed);
  s.bytes_received = bytes_received.load(std::memory_order_relaxed);
  s.bytes_sent = bytes_sent.load(std::memory_order_relaxed);
  return s;
}

Status check_options(const ClientOptions& options) {
  auto invalid = [](const std::string& what) {
    return fail(Error::permanent("invalid http client option: " + what));
  };
  if (options.connect_timeout <= Duration::zero()) return invalid("connect_timeout must be > 0");
  if (options.total_timeout <= Duration::zero()) return invalid("total_timeout must be > 0");
  if (options.max_connections == 0) return invalid("max_connections must be >= 1");
  if (options.max_per_host == 0) return invalid("max_per_host must be >= 1");
  if (options.max_response_bytes == 0) return invalid("max_response_bytes must be >= 1");
  if (!options.tls.ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(options.tls.ca_file, ec)) {
      return invalid("tls.ca_file \"" + options.tls.ca_file + "\" is not a readable file");
    }
  }
  if (has_control(options.user_agent)) return invalid("user_agent contains CR, LF or NUL");
  if (auto policy = make_policy(options.retry); !policy) return fail(policy.error());
  if (options.tls.insecure_skip_verify) {
    static std::once_flag warned;
    std::call_once(warned, [] {
      std::cerr << "rebound http: WARNING: TLS certificate verification is OFF "
                   "(tls.insecure_skip_verify); "
                   "anyone on the path can read and change this traffic\n";
    });
  }
  return {};
}

void configure_client_wide(CURL* curl, const ClientOptions& options, CURLSH* share) {
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SHARE, share);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(
      curl, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(options.connect_timeout).count()));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options.max_response_bytes));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  if (!options.tls.ca_file.empty())
    curl_easy_setopt(curl, CURLOPT_CAINFO, options.tls.ca_file.c_str());
  if (options.tls.insecure_skip_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!options.reuse_connections) {
    // The naive baseline: every request a new connection and, like
    // requests.get, a full TLS handshake (no session resumption either).
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  }
}

void configure_attempt(EasyHandle& handle, const ClientOptions& options, CURLSH* share,
                       const Request& request, const Slist& headers, Transfer& transfer,
                       Duration timeout) {
  CURL* curl = handle.curl;
  const std::string method = upper(request.method);
  const bool plain_get = method == "GET";
  if (!(handle.configured && handle.last_was_plain_get && plain_get)) {
    curl_easy_reset(curl);
    configure_client_wide(curl, options, share);
    handle.configured = true;
  }
  handle.last_was_plain_get = plain_get;
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, transfer.error_buffer.data());
  curl_easy_setopt(
      curl, CURLOPT_TIMEOUT_MS,
      std::max(1L, static_cast<long>(
                       std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count())));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  if (transfer.stop.stop_possible()) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Transfer::on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  } else {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 1L);
  }
  if (plain_get) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "POST" || !request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
  }
}

Error not_retried(Error error, const Request& request) {
  error.message +=
      " (not retried: " + upper(request.method) +
      " is not idempotent; mark it Idempotency::idempotent or send an Idempotency-Key header)";
  error.error_class = ErrorClass::non_retriable;
  error.retry_after.reset();
  return error;
}

Result<Response> finish_attempt(CURL* curl, CURLcode code, Transfer& transfer,
                                const Request& request, const Target& target, bool idempotent,
                                const ClientOptions& options, Counters& counters,
                                const Clock& wall_clock) {
  long connects = 0;
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
  if (connects > 0) {
    counters.new_connections.fetch_add(static_cast<std::uint64_t>(connects),
                                       std::memory_order_relaxed);
  } else if (code == CURLE_OK) {
    counters.reused_connections.fetch_add(1, std::memory_order_relaxed);
  }
  counters.bytes_sent.fetch_add(request.body.size(), std::memory_order_relaxed);

  if (code == CURLE_ABORTED_BY_CALLBACK && request.stop.stop_requested()) {
    return fail(Error::make(ErrorClass::non_retriable,
                            "cancelled during the transfer: " + target.shown, "rebound",
                            "cancelled"));
  }
  if (code != CURLE_OK) {
    std::string detail = scrub(transfer.error_buffer.data(), target.secrets);
    if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
      // Content-Length over the limit (curl refuses before reading the
      // body) or a body that grew past it: either way, name the limit.
      detail =
          "response larger than max_response_bytes = " + std::to_string(options.max_response_bytes);
    }
    Error error = curl_error(code, target.shown, detail);
    if (!idempotent && error.retriable() && !nothing_was_sent(code)) {
      return fail(not_retried(std::move(error), request));
    }
    return fail(std::move(error));
  }
  Response& response = transfer.response;
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  response.reused_connection = connects == 0;
  curl_off_t t = 0;
  curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &t);
  response.timing.connect = micros(t);
  curl_easy_getinfo(curl, CURLINFO_APPCONNECT_TIME_T, &t);
  response.timing.tls = micros(t);
  curl_easy_getinfo(curl, CURLINFO_STARTTRANSFER_TIME_T, &t);
  response.timing.first_byte = micros(t);
  curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME_T, &t);
  response.timing.total = micros(t);
  counters.bytes_received.fetch_add(response.body.size(), std::memory_order_relaxed);

  Error status_error =
      classify::http(response.status, target.shown + ": HTTP " + std::to_string(response.status),
                     response.header("Retry-After").value_or(""), wall_clock.wall_now());
  if (status_error.retriable() && !status_error.retry_after) {
    if (auto reset = response.header("X-RateLimit-Reset")) {
      status_error.retry_after = parse_ratelimit_reset(*reset, wall_clock.wall_now());
    }
  }
  if (status_error.retriable() && !request.return_every_status) {
    if (!idempotent) return fail(not_retried(std::move(status_error), request));
    return fail(std::move(status_error));
  }
  return std::move(response);
}

}  // namespace rebound::http::detail
