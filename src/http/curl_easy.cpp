#include "curl_easy.hpp"

namespace rebound::http::detail {

void ensure_curl_initialized() {
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)init;
}

Share::Share() {
  ensure_curl_initialized();
  share_ = curl_share_init();
  if (share_ == nullptr) return;
  curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &Share::lock);
  curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &Share::unlock);
  curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

Share::~Share() {
  if (share_ != nullptr) curl_share_cleanup(share_);
}

void Share::lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
  static_cast<Share*>(self)->locks_[static_cast<std::size_t>(data)].lock();
}

void Share::unlock(CURL*, curl_lock_data data, void* self) {
  static_cast<Share*>(self)->locks_[static_cast<std::size_t>(data)].unlock();
}

}  // namespace rebound::http::detail
