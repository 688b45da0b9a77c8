// GoogleSQL tokenizer and the token-level rewrite into SQLite.
#include "sql_tokens.hpp"

#include <cctype>

#include "store.hpp"

namespace rebound::emulator::bigquery::detail {
namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

BqError syntax(const std::string& what, std::size_t pos) {
  return BqError::invalid_query("Syntax error: " + what + " at [1:" + std::to_string(pos + 1) +
                                "]");
}

// Reads a quoted string literal starting at sql[i] (the quote); supports
// triple quotes, backslash escapes, and raw strings.
BqResult<std::string> read_string(const std::string& sql, std::size_t& i, bool raw) {
  const char q = sql[i];
  const bool triple = sql.compare(i, 3, std::string(3, q)) == 0;
  const std::size_t start = i;
  i += triple ? 3 : 1;
  std::string out;
  while (i < sql.size()) {
    const char c = sql[i];
    if (triple ? sql.compare(i, 3, std::string(3, q)) == 0 : c == q) {
      i += triple ? 3 : 1;
      return out;
    }
    if (c == '\\' && !raw && i + 1 < sql.size()) {
      const char e = sql[i + 1];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '0':
          out += '\0';
          break;
        default:
          out += e;
      }
      i += 2;
      continue;
    }
    if (!triple && c == '\n') break;
    out += c;
    ++i;
  }
  return bq_fail(syntax("Unclosed string literal", start));
}

}  // namespace

BqResult<Tokens> tokenize(const std::string& sql) {
  Tokens out;
  std::size_t i = 0;
  int positional = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '#' || sql.compare(i, 2, "--") == 0) {
      while (i < sql.size() && sql[i] != '\n') ++i;
      continue;
    }
    if (sql.compare(i, 2, "/*") == 0) {
      const auto end = sql.find("*/", i + 2);
      if (end == std::string::npos) return bq_fail(syntax("Unclosed comment", i));
      i = end + 2;
      continue;
    }
    const std::size_t start = i;
    if ((c == 'r' || c == 'R') && i + 1 < sql.size() && (sql[i + 1] == '\'' || sql[i + 1] == '"')) {
      ++i;
      auto s = read_string(sql, i, true);
      if (!s) return bq_fail(s.error());
      out.push_back({TokenKind::string, *s, "", start});
      continue;
    }
    if ((c == 'b' || c == 'B') && i + 1 < sql.size() && (sql[i + 1] == '\'' || sql[i + 1] == '"')) {
      return bq_fail(syntax("BYTES literals are not supported by the emulator", i));
    }
    if (ident_start(c)) {
      while (i < sql.size() && ident_char(sql[i])) ++i;
      std::string text = sql.substr(start, i - start);
      out.push_back({TokenKind::ident, text, upper(text), start});
      continue;
    }
    if (c == '`') {
      const auto end = sql.find('`', i + 1);
      if (end == std::string::npos) return bq_fail(syntax("Unclosed identifier literal", i));
      out.push_back({TokenKind::quoted, sql.substr(i + 1, end - i - 1), "", start});
      i = end + 1;
      continue;
    }
    if (c == '\'' || c == '"') {
      auto s = read_string(sql, i, false);
      if (!s) return bq_fail(s.error());
      out.push_back({TokenKind::string, *s, "", start});
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
      while (i < sql.size() && (std::isdigit(static_cast<unsigned char>(sql[i])) || sql[i] == '.'))
        ++i;
      if (i < sql.size() && (sql[i] == 'e' || sql[i] == 'E')) {
        ++i;
        if (i < sql.size() && (sql[i] == '+' || sql[i] == '-')) ++i;
        while (i < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i]))) ++i;
      }
      out.push_back({TokenKind::number, sql.substr(start, i - start), "", start});
      continue;
    }
    if (c == '@') {
      if (i + 1 < sql.size() && sql[i + 1] == '@') {
        return bq_fail(syntax("System variables (@@) are not supported by the emulator", i));
      }
      ++i;
      while (i < sql.size() && ident_char(sql[i])) ++i;
      if (i == start + 1) return bq_fail(syntax("Unexpected \"@\"", start));
      out.push_back({TokenKind::param, sql.substr(start + 1, i - start - 1), "", start});
      continue;
    }
    if (c == '?') {
      ++i;
      out.push_back({TokenKind::param, "?" + std::to_string(++positional), "", start});
      continue;
    }
    static const char* kOps[] = {"<=", ">=", "<>", "!=", "||", "<<", ">>"};
    std::string op(1, c);
    for (const char* two : kOps) {
      if (sql.compare(i, 2, two) == 0) op = two;
    }
    if (op == "[" || op == "{" || op == "}") {
      return bq_fail(syntax(
          "Arrays and struct literals (\"" + op + "\") are not supported by the emulator", i));
    }
    i += op.size();
    out.push_back({TokenKind::op, op, "", start});
  }
  while (!out.empty() && out.back().is_op(";")) out.pop_back();
  for (const Token& t : out) {
    if (t.is_op(";")) {
      return bq_fail(syntax("Multi-statement scripts are not supported by the emulator", t.pos));
    }
  }
  return out;
}

bool is_reserved(const Token& t) {
  if (t.kind != TokenKind::ident) return t.kind != TokenKind::quoted;
  static const std::set<std::string, std::less<>> kReserved = {
      "ALL",    "AND",      "AS",    "ASC",    "BETWEEN", "BY",     "CASE",        "CROSS",
      "DESC",   "DISTINCT", "ELSE",  "END",    "EXCEPT",  "EXISTS", "FALSE",       "FOR",
      "FROM",   "FULL",     "GROUP", "HAVING", "IN",      "INNER",  "INTERSECT",   "INTO",
      "IS",     "JOIN",     "LEFT",  "LIKE",   "LIMIT",   "NOT",    "NULL",        "ON",
      "OR",     "ORDER",    "OUTER", "RIGHT",  "SELECT",  "SET",    "THEN",        "TRUE",
      "UNION",  "USING",    "WHEN",  "WHERE",  "WINDOW",  "WITH",   "QUALIFY",     "OFFSET",
      "VALUES", "MATCHED",  "MERGE", "UPDATE", "DELETE",  "INSERT", "TABLESAMPLE", "LATERAL",
      "NATURAL"};
  return kReserved.contains(t.upper);
}

std::vector<std::string> parse_path(const Tokens& tokens, std::size_t& i) {
  std::vector<std::string> parts;
  auto take = [&](const Token& t) {
    if (t.kind == TokenKind::quoted) {
      std::size_t from = 0;
      for (;;) {
        const auto dot = t.text.find('.', from);
        parts.push_back(t.text.substr(from, dot - from));
        if (dot == std::string::npos) break;
        from = dot + 1;
      }
    } else {
      parts.push_back(t.text);
    }
  };
  if (i >= tokens.size()) return parts;
  const Token& first = tokens[i];
  if (first.kind != TokenKind::quoted && (first.kind != TokenKind::ident || is_reserved(first))) {
    return parts;
  }
  take(first);
  ++i;
  while (i + 1 < tokens.size() && tokens[i].is_op(".") &&
         (tokens[i + 1].kind == TokenKind::ident || tokens[i + 1].kind == TokenKind::quoted)) {
    take(tokens[i + 1]);
    i += 2;
  }
  return parts;
}

BqResult<TableRef> resolve_path(const std::vector<std::string>& parts, const RewriteContext& ctx) {
  TableRef ref;
  if (parts.size() == 3) {
    ref = {parts[0], parts[1], parts[2]};
  } else if (parts.size() == 2) {
    ref = {ctx.project, parts[0], parts[1]};
  } else if (parts.size() == 1 && !ctx.default_dataset.empty()) {
    ref = {ctx.project, ctx.default_dataset, parts[0]};
  } else {
    std::string joined;
    for (const auto& p : parts) joined += (joined.empty() ? "" : ".") + p;
    return bq_fail(BqError::invalid_query("Table \"" + joined +
                                          "\" must be qualified with a dataset (e.g. "
                                          "dataset.table)."));
  }
  if (ref.project != ctx.project) {
    return bq_fail(BqError::make(403, "accessDenied",
                                 "Access Denied: Table " + ref.colon_name() +
                                     ": the emulator runs queries within project " + ctx.project));
  }
  return ref;
}

namespace {

std::string sqlite_string(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string cast_type(const Token& t) {
  if (t.kind != TokenKind::ident) return t.text;
  const std::string type = canonical_type(t.upper);
  if (type == "INTEGER" || type == "BOOLEAN") return "INTEGER";
  if (type == "FLOAT") return "REAL";
  if (type == "NUMERIC" || type == "BIGNUMERIC") return "NUMERIC";
  if (!type.empty()) return "TEXT";
  return t.text;
}

bool table_context(const Token& prev) {
  return prev.is("FROM") || prev.is("JOIN") || prev.is("INTO") || prev.is("USING") ||
         prev.is("TABLE") || prev.is("UPDATE");
}

}  // namespace

BqResult<std::string> rewrite(const Tokens& tokens, std::size_t begin, std::size_t end,
                              RewriteContext& ctx) {
  static const std::set<std::string, std::less<>> kUnsupported = {
      "UNNEST",      "STRUCT", "QUALIFY",   "PIVOT", "UNPIVOT",
      "TABLESAMPLE", "ARRAY",  "ARRAY_AGG", "FOR"};
  std::string out;
  std::vector<bool> cast_parens;
  bool pending_cast = false;
  for (std::size_t i = begin; i < end; ++i) {
    const Token& t = tokens[i];
    if (!out.empty()) out += ' ';
    if (t.kind == TokenKind::ident && kUnsupported.contains(t.upper)) {
      return bq_fail(
          syntax(t.upper + " is not supported by the emulator's GoogleSQL subset", t.pos));
    }
    const bool after_table_kw = i > begin && table_context(tokens[i - 1]);
    if (after_table_kw && (t.kind == TokenKind::quoted || t.kind == TokenKind::ident) &&
        !is_reserved(t)) {
      std::size_t j = i;
      const auto parts = parse_path(tokens, j);
      const bool single_cte = parts.size() == 1 && ctx.cte_names.contains(upper(parts[0]));
      if (!parts.empty() && !single_cte && (parts.size() > 1 || !ctx.default_dataset.empty())) {
        auto ref = resolve_path(parts, ctx);
        if (!ref) return bq_fail(ref.error());
        ctx.tables.push_back(*ref);
        out += quote_ident(ref->storage_name());
        const Token& kw = tokens[i - 1];
        const bool alias_follows =
            j < end && (tokens[j].is("AS") || tokens[j].kind == TokenKind::quoted ||
                        (tokens[j].kind == TokenKind::ident && !is_reserved(tokens[j])));
        if (!alias_follows && !kw.is("INTO") && !kw.is("TABLE")) {
          out += " AS " + quote_ident(ref->table);
        }
        i = j - 1;
        continue;
      }
    }
    switch (t.kind) {
      case TokenKind::ident:
        if (t.upper == "IF" && i + 1 < end && tokens[i + 1].is_op("(")) {
          out += "iif";
        } else if (t.upper == "CAST" || t.upper == "SAFE_CAST") {
          out += "CAST";
          pending_cast = true;
        } else if (t.upper == "CURRENT_TIMESTAMP") {
          out += "rb_now_micros()";
          if (i + 2 < end && tokens[i + 1].is_op("(") && tokens[i + 2].is_op(")")) i += 2;
        } else if (t.upper == "GENERATE_UUID") {
          out += "rb_generate_uuid";
        } else if (i > begin && tokens[i - 1].is("AS") && !cast_parens.empty() &&
                   cast_parens.back()) {
          out += cast_type(t);
        } else {
          out += t.text;
        }
        break;
      case TokenKind::quoted:
        out += quote_ident(t.text);
        break;
      case TokenKind::string:
        out += sqlite_string(t.text);
        break;
      case TokenKind::param:
        out += t.text.starts_with("?") ? t.text : "@" + t.text;
        break;
      case TokenKind::number:
        out += t.text;
        break;
      case TokenKind::op:
        if (t.text == "(") {
          cast_parens.push_back(pending_cast);
          pending_cast = false;
        } else if (t.text == ")" && !cast_parens.empty()) {
          cast_parens.pop_back();
        }
        out += t.text;
        break;
    }
  }
  return out;
}

}  // namespace rebound::emulator::bigquery::detail
