// Fuzzer: BigQuery error bodies -> classification. A body is parsed the way
// BigQuery documents it ({"error": {"code", "message", "errors": [{"reason",
// "message"}]}}, see /docs and the BigQuery contract) and classified by
// classify::bigquery. Properties: no crash or UB on any body; the class is
// one of the known classes; a serialization conflict in the message always
// wins over the reason; the source is "bigquery" and the reason is kept.
// (When the BigQuery back end lands its own body parser, point this fuzzer at it.)
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "rebound/retry/classify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int status = 400 + data[0] % 200;
  const auto body =
      nlohmann::json::parse(data + 1, data + size, nullptr, /*allow_exceptions=*/false);
  std::string reason;
  std::string message;
  if (body.is_object()) {
    const auto err = body.find("error");
    if (err != body.end() && err->is_object()) {
      if (auto m = err->find("message"); m != err->end() && m->is_string()) message = *m;
      if (auto list = err->find("errors");
          list != err->end() && list->is_array() && !list->empty()) {
        const auto& first = (*list)[0];
        if (first.is_object()) {
          if (auto r = first.find("reason"); r != first.end() && r->is_string()) reason = *r;
        }
      }
    }
  }
  const rebound::Error e = rebound::classify::bigquery(status, reason, message);
  if (static_cast<std::size_t>(e.error_class) >= rebound::kErrorClassCount) std::abort();
  if (e.source != "bigquery" || e.code != reason) std::abort();
  std::string lower = message;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("streaming buffer") != std::string::npos) {
    if (e.error_class != rebound::ErrorClass::non_retriable) std::abort();
  } else if (rebound::classify::mentions_serialization_conflict(message) &&
             e.error_class != rebound::ErrorClass::serialization_conflict) {
    std::abort();
  }
  return 0;
}
