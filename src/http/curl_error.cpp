#include "curl_easy.hpp"

namespace rebound::http::detail {

bool nothing_was_sent(CURLcode code) noexcept {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return true;
    default:
      return false;
  }
}

Error curl_error(CURLcode code, std::string_view what, std::string_view detail) {
  ErrorClass c = ErrorClass::permanent;
  std::string hint;
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      c = ErrorClass::transient;
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      // A certificate problem never heals by retrying and must be seen.
      c = ErrorClass::non_retriable;
      hint =
          "; check the server certificate or pass the CA that signed it "
          "(ClientOptions.tls.ca_file)";
      break;
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_WRITE_ERROR:
      // Only our body callback refuses to write, when the body outgrows
      // max_response_bytes; the caller's detail names the limit.
      c = ErrorClass::permanent;
      break;
    case CURLE_WEIRD_SERVER_REPLY:
      c = ErrorClass::permanent;
      hint = "; the server sent a malformed HTTP response";
      break;
    default:
      c = ErrorClass::permanent;
      break;
  }
  std::string message(what);
  message += ": ";
  message += curl_easy_strerror(code);
  if (!detail.empty()) {
    message += " (";
    message += detail;
    message += ')';
  }
  message += hint;
  return Error::make(c, std::move(message), "curl", std::to_string(static_cast<int>(code)));
}

}  // namespace rebound::http::detail
