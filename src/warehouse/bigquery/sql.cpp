// Portable warehouse SQL -> BigQuery GoogleSQL. See sql.hpp.
#include "rebound/warehouse/bigquery/sql.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

namespace rebound::bigquery {
namespace {

bool only_trailing_noise(std::string_view rest) {
  std::size_t i = 0;
  while (i < rest.size()) {
    const char c = rest[i];
    if (std::isspace(static_cast<unsigned char>(c)) || c == ';') {
      ++i;
    } else if (rest.substr(i, 2) == "--") {
      const auto nl = rest.find('\n', i);
      i = nl == std::string_view::npos ? rest.size() : nl + 1;
    } else if (rest.substr(i, 2) == "/*") {
      const auto end = rest.find("*/", i + 2);
      if (end == std::string_view::npos) return true;
      i = end + 2;
    } else {
      return false;
    }
  }
  return true;
}

std::string double_text(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return ec == std::errc{} ? std::string(buf, end) : std::to_string(d);
}

}  // namespace

Result<TranslatedSql> translate_sql(std::string_view sql) {
  TranslatedSql out;
  out.sql.reserve(sql.size());
  for (std::size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == '\'' || c == '`') {  // string literal or backtick identifier: copy verbatim
      std::size_t j = i + 1;
      while (j < sql.size()) {
        if (sql[j] == '\\' && c == '\'' && j + 1 < sql.size()) {
          j += 2;
          continue;
        }
        if (sql[j] == c) {
          if (c == '\'' && j + 1 < sql.size() && sql[j + 1] == '\'') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      out.sql.append(sql.substr(i, j + 1 - i));
      i = j + 1;
    } else if (c == '"') {  // "identifier" -> `identifier`
      std::string ident;
      std::size_t j = i + 1;
      for (; j < sql.size(); ++j) {
        if (sql[j] == '"') {
          if (j + 1 < sql.size() && sql[j + 1] == '"') {
            ident += '"';
            ++j;
            continue;
          }
          break;
        }
        ident += sql[j];
      }
      if (j >= sql.size() || ident.find('`') != std::string::npos) {
        return fail(Error::make(ErrorClass::non_retriable,
                                "unterminated or invalid quoted identifier in SQL", "bigquery",
                                "invalidQuery"));
      }
      out.sql += '`' + ident + '`';
      i = j + 1;
    } else if (c == '$' && i + 1 < sql.size() &&
               std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      std::size_t j = i + 1;
      int n = 0;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j])) && n < 100000) {
        n = n * 10 + (sql[j] - '0');
        ++j;
      }
      out.max_placeholder = std::max(out.max_placeholder, n);
      out.sql += "@p" + std::to_string(n);
      i = j;
    } else if (sql.substr(i, 2) == "--") {
      const auto nl = sql.find('\n', i);
      i = nl == std::string_view::npos ? sql.size() : nl + 1;
      out.sql += ' ';
    } else if (sql.substr(i, 2) == "/*") {
      const auto end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
      out.sql += ' ';
    } else if (c == ';') {
      if (!only_trailing_noise(sql.substr(i))) {
        return fail(Error::make(ErrorClass::non_retriable,
                                "more than one SQL statement in one call; send them separately",
                                "rebound", "multiple_statements"));
      }
      break;
    } else {
      out.sql += c;
      ++i;
    }
  }
  while (!out.sql.empty() && std::isspace(static_cast<unsigned char>(out.sql.back()))) {
    out.sql.pop_back();
  }
  if (out.sql.empty()) return fail(Error::permanent("empty SQL statement"));
  return out;
}

nlohmann::json query_parameters(std::span<const warehouse::Value> params) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const warehouse::Value& v = params[i];
    nlohmann::json p = {{"name", "p" + std::to_string(i + 1)}};
    std::string type = "STRING";
    nlohmann::json value = nlohmann::json::object();
    if (const auto* b = std::get_if<bool>(&v)) {
      type = "BOOL";
      value["value"] = *b ? "true" : "false";
    } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
      type = "INT64";
      value["value"] = std::to_string(*n);
    } else if (const auto* d = std::get_if<double>(&v)) {
      type = "FLOAT64";
      value["value"] = double_text(*d);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      value["value"] = *s;
    }
    p["parameterType"] = {{"type", type}};
    p["parameterValue"] = value;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace rebound::bigquery
