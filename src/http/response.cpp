#include "rebound/http/response.hpp"

namespace rebound::http {

std::optional<std::string> Response::header(std::string_view name) const {
  return find_header(headers, name);
}

}  // namespace rebound::http
