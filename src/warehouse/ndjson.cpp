// NDJSON parsing: split into lines, parse contiguous ranges on a few threads,
// report the first malformed line exactly as a serial parse would.
#include "rebound/warehouse/ndjson.hpp"

#include <algorithm>
#include <optional>
#include <span>
#include <thread>

namespace rebound::warehouse {
namespace {

struct Line {
  std::string_view text;
  std::size_t number = 0;
};

struct Chunk {
  std::vector<nlohmann::json> objects;
  std::optional<Error> error;  // the first malformed line of this range
};

Error parse_error(const Line& line, const nlohmann::json::exception& e, std::size_t byte) {
  // e.byte is 1-based and points at (or just past) the offending character.
  const std::size_t column = std::max<std::size_t>(1, std::min(byte, line.text.size() + 1));
  std::string why = e.what();
  // Drop nlohmann's "[json.exception…] parse error at line 1, column N: "
  // prefix: it counts within the one line we gave it.
  if (auto pos = why.find("parse error"); pos != std::string::npos) {
    const auto colon = why.find(": ", pos);
    why = colon == std::string::npos ? why.substr(pos) : why.substr(colon + 2);
  }
  return Error::permanent("line " + std::to_string(line.number) + ", column " +
                          std::to_string(column) + ": malformed JSON (" + why + ")");
}

// nlohmann turns an integer literal outside int64/uint64 into a double, so
// two distinct 30-digit ids would become one key. The SAX callback still sees
// the literal's text: an integer-looking literal that arrives as a double did
// not fit and is refused (the database could not store it as an integer either).
class ExactIntegers : public nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
 public:
  using json_sax_dom_parser::json_sax_dom_parser;
  std::string too_wide;  // the refused literal, when parsing stopped on one

  bool number_float(double value, const std::string& literal) {
    if (literal.find_first_of(".eE") == std::string::npos) {
      too_wide = literal;
      return false;
    }
    return json_sax_dom_parser::number_float(value, literal);
  }
};

std::optional<Error> parse_line(const Line& line, nlohmann::json& out) {
  ExactIntegers sax(out, /*allow_exceptions=*/true);
  const bool ok = nlohmann::json::sax_parse(line.text, &sax);
  if (ok) return std::nullopt;
  const std::string shown =
      sax.too_wide.size() > 40 ? sax.too_wide.substr(0, 40) + "..." : sax.too_wide;
  const std::size_t at = line.text.find(sax.too_wide);
  return Error::permanent("line " + std::to_string(line.number) + ", column " +
                          std::to_string(at == std::string_view::npos ? 1 : at + 1) + ": integer " +
                          shown + " does not fit a signed 64-bit integer; send it as a string");
}

void parse_range(std::span<const Line> lines, Chunk& out) {
  out.objects.reserve(lines.size());
  for (const Line& line : lines) {
    try {
      nlohmann::json value;
      if (auto error = parse_line(line, value)) {
        out.error = std::move(*error);
        return;
      }
      out.objects.push_back(std::move(value));
    } catch (const nlohmann::json::parse_error& e) {
      out.error = parse_error(line, e, e.byte);
      return;
    } catch (const nlohmann::json::exception& e) {  // e.g. number out of range
      out.error = parse_error(line, e, 1);
      return;
    }
  }
}

}  // namespace

Result<NdjsonInput> parse_ndjson(std::string_view text, const NdjsonOptions& options) {
  if (text.size() > options.max_input_bytes) {
    return fail(Error::permanent("input of " + std::to_string(text.size()) +
                                 " bytes exceeds the limit of " +
                                 std::to_string(options.max_input_bytes) + " bytes; split it"));
  }
  std::vector<Line> lines;
  std::size_t number = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > options.max_line_bytes) {
      return fail(Error::permanent("line " + std::to_string(number) + ": " +
                                   std::to_string(line.size()) + " bytes exceeds the limit of " +
                                   std::to_string(options.max_line_bytes) + " bytes per line"));
    }
    if (line.find_first_not_of(" \t") != std::string_view::npos) lines.push_back({line, number});
    pos = end + 1;
  }
  // Threads pay off only for big inputs; nlohmann's parse is ~2 µs a row.
  std::size_t threads = options.threads ? options.threads : std::thread::hardware_concurrency();
  threads = std::clamp<std::size_t>(threads, 1, std::max<std::size_t>(1, lines.size() / 5000));
  std::vector<Chunk> chunks(threads);
  const std::size_t per = (lines.size() + threads - 1) / std::max<std::size_t>(1, threads);
  auto range = [&](std::size_t i) {
    const std::size_t begin = std::min(lines.size(), i * per);
    const std::size_t end = std::min(lines.size(), begin + per);
    return std::span<const Line>(lines.data() + begin, end - begin);
  };
  {
    std::vector<std::jthread> workers;
    for (std::size_t i = 1; i < threads; ++i) {
      workers.emplace_back([&, i] { parse_range(range(i), chunks[i]); });
    }
    parse_range(range(0), chunks[0]);
  }  // joined
  NdjsonInput out;
  out.objects.reserve(lines.size());
  for (Chunk& c : chunks) {
    if (c.error) return fail(std::move(*c.error));  // chunks are in line order
    for (auto& o : c.objects) out.objects.push_back(std::move(o));
  }
  out.lines.reserve(lines.size());
  for (const Line& l : lines) out.lines.push_back(l.number);
  return out;
}

}  // namespace rebound::warehouse
