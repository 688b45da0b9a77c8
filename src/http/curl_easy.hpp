// Private: RAII for curl's global state, share handle and easy handles, and
// the CURLcode -> Error mapping.
#pragma once

#include <curl/curl.h>

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/core/error.hpp"

namespace rebound::http::detail {

// curl_global_init is not thread-safe; a function-local static runs it once
// before any handle exists (and never cleans up: other libraries may use curl).
void ensure_curl_initialized();

// A share handle for DNS and TLS sessions only — never CURL_LOCK_DATA_CONNECT
// (documented unsafe across threads). One mutex per lock kind, so a DNS
// lookup never waits on a TLS session update.
class Share {
 public:
  Share();
  ~Share();
  Share(const Share&) = delete;
  Share& operator=(const Share&) = delete;
  [[nodiscard]] CURLSH* get() const noexcept { return share_; }

 private:
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self);
  static void unlock(CURL*, curl_lock_data data, void* self);
  CURLSH* share_ = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks_;
};

// One easy handle. It keeps its own connection cache alive between
// requests, which is where reuse comes from.
struct EasyHandle {
  EasyHandle() : curl(curl_easy_init()) {}
  ~EasyHandle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
  EasyHandle(const EasyHandle&) = delete;
  EasyHandle& operator=(const EasyHandle&) = delete;
  CURL* curl;
  bool configured = false;          // the client-wide options are set
  bool last_was_plain_get = false;  // no method/body options to clear before a GET
};

struct SlistDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// Classifies a transfer failure. `detail` is curl's error buffer (already
// scrubbed of secrets); `what` names the request ("GET https://host/x").
[[nodiscard]] Error curl_error(CURLcode code, std::string_view what, std::string_view detail);

// True when the failure happened before any byte of the request could reach
// the server, so even a non-idempotent request may be sent again.
[[nodiscard]] bool nothing_was_sent(CURLcode code) noexcept;

}  // namespace rebound::http::detail
