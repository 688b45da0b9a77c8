// Identifier validation: one strict rule, so no name can change a statement's meaning.
#include "rebound/warehouse/identifier.hpp"

#include <string>

namespace rebound::warehouse {
namespace {

// Shows a name in an error message: quoted, control bytes escaped, long
// names shortened — the message itself must stay one readable line.
std::string shown(std::string_view name) {
  std::string out = "\"";
  std::size_t n = 0;
  for (char c : name) {
    if (++n > 80) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += "\"";
  return out;
}

bool is_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_rest(char c) { return is_start(c) || (c >= '0' && c <= '9'); }

}  // namespace

Status validate_identifier(std::string_view name, std::string_view what) {
  const std::string prefix = std::string(what) + " name " + shown(name) + " ";
  const std::string rule = "; names must match [A-Za-z_][A-Za-z0-9_]* (at most 63 bytes)";
  if (name.empty()) return fail(Error::permanent(std::string(what) + " name is empty" + rule));
  if (name.size() > kMaxIdentifierBytes) {
    return fail(
        Error::permanent(prefix + "is " + std::to_string(name.size()) + " bytes long" + rule));
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (i == 0 ? is_start(c) : is_rest(c)) continue;
    std::string why;
    if (c == '\0') {
      why = "contains a NUL byte";
    } else if (c == '"' || c == '\'' || c == '`') {
      why = "contains a quote";
    } else if (c == ';') {
      why = "contains a semicolon";
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      why = "contains whitespace";
    } else if (i == 0 && c >= '0' && c <= '9') {
      why = "starts with a digit";
    } else {
      why = "contains the character " + shown(std::string_view(&name[i], 1));
    }
    return fail(Error::permanent(prefix + why + " at byte " + std::to_string(i) + rule));
  }
  return {};
}

std::string quote_identifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string TableName::quoted() const {
  return schema.empty() ? quote_identifier(name)
                        : quote_identifier(schema) + "." + quote_identifier(name);
}

std::string TableName::display() const { return schema.empty() ? name : schema + "." + name; }

Result<TableName> parse_table_name(std::string_view text) {
  const std::size_t dot = text.find('.');
  if (dot == std::string_view::npos) {
    if (auto ok = validate_identifier(text, "table"); !ok) return fail(ok.error());
    return TableName{.schema = {}, .name = std::string(text)};
  }
  if (text.find('.', dot + 1) != std::string_view::npos) {
    return fail(Error::permanent("table name " + shown(text) +
                                 " has more than one dot; use table or schema.table"));
  }
  const std::string_view schema = text.substr(0, dot);
  const std::string_view name = text.substr(dot + 1);
  if (auto ok = validate_identifier(schema, "schema"); !ok) return fail(ok.error());
  if (auto ok = validate_identifier(name, "table"); !ok) return fail(ok.error());
  return TableName{.schema = std::string(schema), .name = std::string(name)};
}

}  // namespace rebound::warehouse
