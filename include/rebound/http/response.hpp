// http::Response and http::ClientStats — what a request returns and what a
// client counts.
//
//   auto r = client->send({.url = url}).value();
//   r.status;                       // 200
//   r.header("content-type");       // case-insensitive
//   r.timing.connect, r.timing.tls, r.timing.first_byte, r.timing.total;
//   r.reused_connection;            // true when no new connection was made
//   client->stats().reuse_rate();   // reused / (reused + new)
//
// Thread safety: Response is a value. ClientStats is a snapshot.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rebound/core/headers.hpp"

#include "rebound/core/clock.hpp"
#include "rebound/core/error.hpp"

namespace rebound::http {

// Times from the start of the answering attempt (curl's *_TIME_T values).
struct Timing {
  Duration connect{};     // TCP connected (0 on a reused connection)
  Duration tls{};         // TLS handshake done (0 for http:// or reused)
  Duration first_byte{};  // first response byte
  Duration total{};
};

struct Response {
  int status = 0;
  Headers headers;  // in arrival order
  std::string body;
  Timing timing;
  bool reused_connection = false;
  int attempts = 1;

  // The first header with this name, compared case-insensitively.
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

struct ClientStats {
  std::uint64_t requests = 0;  // send() calls
  std::uint64_t attempts = 0;  // transfers performed
  std::uint64_t new_connections = 0;
  std::uint64_t reused_connections = 0;
  std::uint64_t failures = 0;  // send() calls that returned an error
  std::array<std::uint64_t, kErrorClassCount> retries_by_class{};
  std::uint64_t bytes_received = 0;  // bodies
  std::uint64_t bytes_sent = 0;      // bodies

  [[nodiscard]] double reuse_rate() const noexcept {
    const auto total = new_connections + reused_connections;
    return total == 0 ? 0.0 : static_cast<double>(reused_connections) / static_cast<double>(total);
  }
};

}  // namespace rebound::http
