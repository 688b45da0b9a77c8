// GoogleSQL tokens and their rewriting into SQLite text: table paths
// (`p.d.t`, d.t) become "p.d.t", strings and identifiers are re-quoted,
// `?` becomes ?N, and a few functions are mapped. Used by sql.cpp.
//
// Thread safety: pure functions.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "types.hpp"

namespace rebound::emulator::bigquery::detail {

enum class TokenKind { ident, quoted, string, number, param, op };

struct Token {
  TokenKind kind;
  std::string text;   // identifier / quoted name / decoded string value / operator
  std::string upper;  // upper-cased text for identifiers
  std::size_t pos = 0;

  [[nodiscard]] bool is(std::string_view keyword) const {
    return kind == TokenKind::ident && upper == keyword;
  }
  [[nodiscard]] bool is_op(std::string_view op) const {
    return kind == TokenKind::op && text == op;
  }
};

using Tokens = std::vector<Token>;

// Splits GoogleSQL into tokens; drops comments and one trailing ';'. Errors
// (unterminated literal, a second statement, bytes literals) are invalidQuery.
[[nodiscard]] BqResult<Tokens> tokenize(const std::string& sql);

// Rewrites tokens [begin, end) into SQLite text, resolving table paths
// against `project` / `default_dataset` and collecting them in `tables`.
struct RewriteContext {
  std::string project;
  std::string default_dataset;  // may be empty
  std::set<std::string> cte_names;
  std::vector<TableRef> tables;
};
[[nodiscard]] BqResult<std::string> rewrite(const Tokens& tokens, std::size_t begin,
                                            std::size_t end, RewriteContext& ctx);

// Parses a table path at tokens[i] (`a.b.c`, a.b, `a.b`.c …); advances i.
// Returns the parts, or an empty vector when tokens[i] is not a path.
[[nodiscard]] std::vector<std::string> parse_path(const Tokens& tokens, std::size_t& i);
// Resolves path parts to a table; the error names a foreign project or a
// missing dataset qualifier.
[[nodiscard]] BqResult<TableRef> resolve_path(const std::vector<std::string>& parts,
                                              const RewriteContext& ctx);
// True for reserved words that cannot be an implicit alias.
[[nodiscard]] bool is_reserved(const Token& t);
// The index of the next top-level (depth 0) token in [i, end) satisfying
// `pred`, or end.
template <class Pred>
[[nodiscard]] std::size_t find_top(const Tokens& tokens, std::size_t i, std::size_t end,
                                   Pred pred) {
  int depth = 0;
  for (; i < end; ++i) {
    const Token& t = tokens[i];
    if (t.is_op("(")) {
      ++depth;
    } else if (t.is_op(")")) {
      --depth;
    } else if (depth == 0 && pred(t)) {
      return i;
    }
  }
  return end;
}

}  // namespace rebound::emulator::bigquery::detail
