// The GoogleSQL subset on SQLite: SELECT, INSERT, UPDATE/DELETE (WHERE
// required), TRUNCATE, CREATE [OR REPLACE] TABLE [AS SELECT], DROP TABLE and
// MERGE, translated statement by statement (contract §6.4).
#include <map>
#include <regex>

#include "sql_tokens.hpp"
#include "store.hpp"

namespace rebound::emulator::bigquery::detail {
namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

RewriteContext make_context(const Tokens& tokens, const std::string& project,
                            const json& default_dataset) {
  RewriteContext ctx;
  ctx.project = project;
  if (default_dataset.is_object()) {
    ctx.default_dataset = default_dataset.value("datasetId", "");
  }
  // CTE names: `name AS (` at the top of a WITH.
  for (std::size_t i = 0; i + 2 < tokens.size(); ++i) {
    if ((tokens[i].kind == TokenKind::ident || tokens[i].kind == TokenKind::quoted) &&
        tokens[i + 1].is("AS") && tokens[i + 2].is_op("(")) {
      ctx.cte_names.insert(upper(tokens[i].text));
    }
  }
  return ctx;
}

BqError unsupported_statement(const Token& t) {
  return BqError::invalid_query(
      "Syntax error: Unsupported statement " + (t.kind == TokenKind::ident ? t.upper : t.text) +
      " at [1:" + std::to_string(t.pos + 1) +
      "] (the emulator runs SELECT, INSERT, UPDATE, DELETE, MERGE, TRUNCATE TABLE, CREATE TABLE "
      "and DROP TABLE)");
}

// The statement kind and, for DML/DDL, the table it changes.
BqResult<StatementPlan> classify(const Tokens& tokens, RewriteContext& ctx) {
  if (tokens.empty()) return bq_fail(BqError::invalid_query("Syntax error: empty query"));
  const Token& first = tokens[0];
  StatementPlan plan;
  auto target_at = [&](std::size_t i) -> BqResult<TableRef> {
    const auto parts = parse_path(tokens, i);
    if (parts.empty()) {
      return bq_fail(
          BqError::invalid_query("Syntax error: expected a table name after " + first.upper));
    }
    RewriteContext strict = ctx;
    return resolve_path(parts, strict);
  };
  auto skip = [&](std::size_t i, std::string_view kw) {
    return i < tokens.size() && tokens[i].is(kw) ? i + 1 : i;
  };
  if (first.is("SELECT") || first.is("WITH") || first.is_op("(")) {
    plan.statement_type = "SELECT";
    return plan;
  }
  std::size_t i = 1;
  if (first.is("INSERT")) {
    plan.statement_type = "INSERT";
    i = skip(i, "INTO");
  } else if (first.is("UPDATE")) {
    plan.statement_type = "UPDATE";
  } else if (first.is("DELETE")) {
    plan.statement_type = "DELETE";
    i = skip(i, "FROM");
  } else if (first.is("MERGE")) {
    plan.statement_type = "MERGE";
    i = skip(i, "INTO");
  } else if (first.is("TRUNCATE")) {
    plan.statement_type = "TRUNCATE_TABLE";
    i = skip(i, "TABLE");
  } else if (first.is("CREATE")) {
    if (i < tokens.size() && tokens[i].is("OR")) i += 2;
    if (i >= tokens.size() || !tokens[i].is("TABLE")) {
      return bq_fail(BqError::invalid_query(
          "Syntax error: only CREATE [OR REPLACE] TABLE is supported by the emulator"));
    }
    i = skip(i + 1, "IF");
    if (i < tokens.size() && tokens[i].is("NOT")) i += 2;
    const std::size_t as =
        find_top(tokens, i, tokens.size(), [](const Token& t) { return t.is("AS"); });
    plan.statement_type = as < tokens.size() ? "CREATE_TABLE_AS_SELECT" : "CREATE_TABLE";
  } else if (first.is("DROP")) {
    if (i >= tokens.size() || !tokens[i].is("TABLE")) {
      return bq_fail(
          BqError::invalid_query("Syntax error: only DROP TABLE is supported by the emulator"));
    }
    i = skip(i + 1, "IF");
    i = skip(i, "EXISTS");
    plan.statement_type = "DROP_TABLE";
  } else {
    return bq_fail(unsupported_statement(first));
  }
  auto target = target_at(i);
  if (!target) return bq_fail(target.error());
  plan.target = *target;
  plan.mutating_dml = first.is("INSERT") || first.is("UPDATE") || first.is("DELETE") ||
                      first.is("MERGE") || first.is("TRUNCATE");
  if ((first.is("UPDATE") || first.is("DELETE")) &&
      find_top(tokens, 1, tokens.size(), [](const Token& t) { return t.is("WHERE"); }) ==
          tokens.size()) {
    return bq_fail(
        BqError::invalid_query("Syntax error: " + first.upper + " must have a WHERE clause"));
  }
  return plan;
}

bool plain_name(const std::string& s) {
  static const std::regex kName("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(s, kName);
}

}  // namespace

BqResult<StatementPlan> Store::plan(const std::string& sql, const std::string& project,
                                    const json& default_dataset) {
  auto tokens = tokenize(sql);
  if (!tokens) return bq_fail(tokens.error());
  RewriteContext ctx = make_context(*tokens, project, default_dataset);
  auto plan = classify(*tokens, ctx);
  if (!plan) return plan;
  // Catch unsupported constructs and foreign projects before the job exists.
  auto rewritten = rewrite(*tokens, 0, tokens->size(), ctx);
  if (!rewritten) return bq_fail(rewritten.error());
  plan->tables = ctx.tables;
  return plan;
}

namespace {

// Runs `sql` and shapes the result as a query outcome (schema inferred from
// the catalog for table columns, from the values otherwise).
BqResult<QueryOutcome> select_outcome(Store& store, const std::string& sql,
                                      const std::vector<Param>& params) {
  auto rows = store.run(sql, params);
  if (!rows) return bq_fail(rows.error());
  QueryOutcome out;
  std::map<std::string, json> catalog_fields;
  for (std::size_t c = 0; c < rows->names.size(); ++c) {
    std::string name = rows->names[c];
    if (!plain_name(name)) name = "f" + std::to_string(c) + "_";
    json field{{"name", name}, {"type", ""}, {"mode", "NULLABLE"}};
    const std::string& origin = rows->origin_tables[c];
    const auto first_dot = origin.find('.');
    const auto last_dot = origin.rfind('.');
    if (first_dot != std::string::npos && last_dot != first_dot) {
      TableRef ref{origin.substr(0, first_dot),
                   origin.substr(first_dot + 1, last_dot - first_dot - 1),
                   origin.substr(last_dot + 1)};
      if (auto info = store.table(ref)) {
        for (const json& f : info->fields) {
          if (f["name"] == rows->origin_columns[c]) {
            field = f;
            field["name"] = name;
          }
        }
      }
    }
    if (field["type"] == "") {
      std::string type = "INTEGER";
      for (const json& row : rows->rows) {
        const json& v = row[c];
        if (v.is_null()) continue;
        type = v.is_number_integer() ? "INTEGER" : v.is_number_float() ? "FLOAT" : "STRING";
        break;
      }
      field["type"] = type;
    }
    out.fields.push_back(std::move(field));
  }
  out.rows = std::move(rows->rows);
  return out;
}

struct MergeClause {
  enum Kind { matched, not_matched, by_source } kind;
  std::string condition;  // SQLite text, or empty
  enum Action { update, remove, insert } action;
  std::string set_sql;               // UPDATE: "a = (..), b = (..)"
  std::vector<std::string> columns;  // INSERT
  std::vector<std::string> values;   // INSERT; empty + row=true ⇒ INSERT ROW
  bool insert_row = false;
};

struct MergeStatement {
  TableRef target;
  std::string target_alias;
  std::string source_sql;  // SELECT producing the source rows
  std::string source_alias;
  std::string on;
  std::vector<MergeClause> clauses;
};

// "a = expr, T.b = expr" ⇒ SQLite SET text with unqualified targets.
BqResult<std::string> rewrite_set(const Tokens& t, std::size_t begin, std::size_t end,
                                  RewriteContext& ctx) {
  std::string out;
  std::size_t i = begin;
  while (i < end) {
    std::size_t item_end = find_top(t, i, end, [](const Token& x) { return x.is_op(","); });
    std::size_t eq = find_top(t, i, item_end, [](const Token& x) { return x.is_op("="); });
    if (eq == item_end || eq == i) {
      return bq_fail(BqError::invalid_query("Syntax error: expected column = expression in SET"));
    }
    const Token& column = t[eq - 1];
    auto expr = rewrite(t, eq + 1, item_end, ctx);
    if (!expr) return expr;
    out += (out.empty() ? "" : ", ") + quote_ident(column.text) + " = (" + *expr + ")";
    i = item_end + 1;
  }
  return out;
}

BqResult<std::vector<std::string>> split_list(const Tokens& t, std::size_t begin, std::size_t end,
                                              RewriteContext& ctx) {
  std::vector<std::string> out;
  std::size_t i = begin;
  while (i < end) {
    const std::size_t item_end = find_top(t, i, end, [](const Token& x) { return x.is_op(","); });
    auto item = rewrite(t, i, item_end, ctx);
    if (!item) return bq_fail(item.error());
    out.push_back(*item);
    i = item_end + 1;
  }
  return out;
}

std::size_t matching_paren(const Tokens& t, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < t.size(); ++i) {
    if (t[i].is_op("(")) ++depth;
    if (t[i].is_op(")") && --depth == 0) return i;
  }
  return t.size();
}

BqResult<MergeClause> parse_merge_clause(const Tokens& t, std::size_t i, std::size_t end,
                                         RewriteContext& ctx) {
  MergeClause c{};
  auto bad = [&](const std::string& what) {
    return bq_fail(BqError::invalid_query("Syntax error: " + what + " in MERGE WHEN clause at [1:" +
                                          std::to_string(t[std::min(i, t.size() - 1)].pos + 1) +
                                          "]"));
  };
  ++i;  // WHEN
  if (i < end && t[i].is("NOT")) {
    c.kind = MergeClause::not_matched;
    ++i;
  } else {
    c.kind = MergeClause::matched;
  }
  if (i >= end || !t[i].is("MATCHED")) return bad("expected MATCHED");
  ++i;
  if (c.kind == MergeClause::not_matched && i + 1 < end && t[i].is("BY")) {
    if (t[i + 1].is("SOURCE"))
      c.kind = MergeClause::by_source;
    else if (!t[i + 1].is("TARGET"))
      return bad("expected BY TARGET or BY SOURCE");
    i += 2;
  }
  const std::size_t then = find_top(t, i, end, [](const Token& x) { return x.is("THEN"); });
  if (then == end) return bad("expected THEN");
  if (i < then) {
    if (!t[i].is("AND")) return bad("expected AND or THEN");
    auto cond = rewrite(t, i + 1, then, ctx);
    if (!cond) return bq_fail(cond.error());
    c.condition = *cond;
  }
  i = then + 1;
  if (i >= end) return bad("expected an action");
  if (t[i].is("UPDATE")) {
    if (c.kind == MergeClause::not_matched) return bad("UPDATE is not allowed in WHEN NOT MATCHED");
    if (i + 1 >= end || !t[i + 1].is("SET")) return bad("expected SET");
    c.action = MergeClause::update;
    auto set = rewrite_set(t, i + 2, end, ctx);
    if (!set) return bq_fail(set.error());
    c.set_sql = *set;
  } else if (t[i].is("DELETE")) {
    if (c.kind == MergeClause::not_matched) return bad("DELETE is not allowed in WHEN NOT MATCHED");
    c.action = MergeClause::remove;
  } else if (t[i].is("INSERT")) {
    if (c.kind != MergeClause::not_matched)
      return bad("INSERT is only allowed in WHEN NOT MATCHED");
    c.action = MergeClause::insert;
    ++i;
    if (i < end && t[i].is_op("(")) {
      const std::size_t close = matching_paren(t, i);
      for (std::size_t k = i + 1; k < close; ++k) {
        if (!t[k].is_op(",")) c.columns.push_back(t[k].text);
      }
      i = close + 1;
    }
    if (i < end && t[i].is("ROW")) {
      c.insert_row = true;
    } else if (i < end && t[i].is("VALUES") && i + 1 < end && t[i + 1].is_op("(")) {
      const std::size_t close = matching_paren(t, i + 1);
      auto values = split_list(t, i + 2, close, ctx);
      if (!values) return bq_fail(values.error());
      c.values = *values;
    } else {
      return bad("expected VALUES (…) or ROW");
    }
  } else {
    return bad("unsupported action " + t[i].text);
  }
  return c;
}

BqResult<MergeStatement> parse_merge(const Tokens& t, RewriteContext& ctx) {
  MergeStatement m;
  std::size_t i = 1;
  if (i < t.size() && t[i].is("INTO")) ++i;
  auto parts = parse_path(t, i);
  auto target = resolve_path(parts, ctx);
  if (!target) return bq_fail(target.error());
  m.target = *target;
  ctx.tables.push_back(m.target);
  auto alias = [&](std::string fallback) {
    if (i < t.size() && t[i].is("AS")) ++i;
    if (i < t.size() && !is_reserved(t[i])) return t[i++].text;
    return fallback;
  };
  m.target_alias = alias(m.target.table);
  if (i >= t.size() || !t[i].is("USING")) {
    return bq_fail(BqError::invalid_query("Syntax error: expected USING in MERGE"));
  }
  ++i;
  if (i < t.size() && t[i].is_op("(")) {
    const std::size_t close = matching_paren(t, i);
    auto sub = rewrite(t, i + 1, close, ctx);
    if (!sub) return bq_fail(sub.error());
    m.source_sql = "SELECT * FROM (" + *sub + ")";
    i = close + 1;
    m.source_alias = alias("__rb_source");
  } else {
    auto sparts = parse_path(t, i);
    auto source = resolve_path(sparts, ctx);
    if (!source) return bq_fail(source.error());
    ctx.tables.push_back(*source);
    m.source_sql = "SELECT * FROM " + quote_ident(source->storage_name());
    m.source_alias = alias(source->table);
  }
  if (i >= t.size() || !t[i].is("ON")) {
    return bq_fail(BqError::invalid_query("Syntax error: expected ON in MERGE"));
  }
  const std::size_t when =
      find_top(t, i + 1, t.size(), [](const Token& x) { return x.is("WHEN"); });
  auto on = rewrite(t, i + 1, when, ctx);
  if (!on) return bq_fail(on.error());
  m.on = *on;
  for (i = when; i < t.size();) {
    const std::size_t next =
        find_top(t, i + 1, t.size(), [](const Token& x) { return x.is("WHEN"); });
    auto clause = parse_merge_clause(t, i, next, ctx);
    if (!clause) return bq_fail(clause.error());
    m.clauses.push_back(std::move(*clause));
    i = next;
  }
  if (m.clauses.empty()) {
    return bq_fail(BqError::invalid_query("Syntax error: MERGE needs at least one WHEN clause"));
  }
  return m;
}

}  // namespace

namespace {

// The SQLite statement that applies MERGE clause `n` to the rows the action
// table assigned to it.
BqResult<std::string> merge_action_sql(Store& store, const MergeStatement& m, const TableInfo& info,
                                       std::size_t n) {
  const MergeClause& c = m.clauses[n];
  const std::string target = quote_ident(m.target.storage_name());
  const std::string ta = quote_ident(m.target_alias);
  const std::string sa = quote_ident(m.source_alias);
  const std::string kind = c.kind == MergeClause::matched     ? "'m'"
                           : c.kind == MergeClause::by_source ? "'s'"
                                                              : "'n'";
  const std::string picked = "(SELECT trid FROM temp.__rb_act WHERE kind = " + kind +
                             " AND clause = " + std::to_string(n) + ")";
  std::string sql;
  if (c.action == MergeClause::update && c.kind == MergeClause::matched) {
    sql = "UPDATE " + target + " AS " + ta + " SET " + c.set_sql +
          " FROM temp.__rb_act AS __rb_a JOIN temp.__rb_src AS " + sa + " ON " + sa +
          ".rowid = __rb_a.srid WHERE __rb_a.kind = 'm' AND __rb_a.clause = " + std::to_string(n) +
          " AND " + ta + ".rowid = __rb_a.trid";
  } else if (c.action == MergeClause::update) {
    sql = "UPDATE " + target + " AS " + ta + " SET " + c.set_sql + " WHERE " + ta + ".rowid IN " +
          picked;
  } else if (c.action == MergeClause::remove) {
    sql = "DELETE FROM " + target + " WHERE rowid IN " + picked;
  } else {
    std::vector<std::string> columns = c.columns;
    std::vector<std::string> values = c.values;
    if (columns.empty()) {
      for (const json& f : info.fields) columns.push_back(f["name"].get<std::string>());
    }
    if (c.insert_row) {
      auto src = store.run("SELECT * FROM temp.__rb_src LIMIT 0");
      if (!src) return bq_fail(src.error());
      if (src->names.size() != columns.size()) {
        return bq_fail(BqError::invalid_query("INSERT ROW: the source has " +
                                              std::to_string(src->names.size()) +
                                              " columns but the target " + m.target.dotted_name() +
                                              " has " + std::to_string(columns.size())));
      }
      for (const auto& name : src->names) values.push_back(sa + "." + quote_ident(name));
    }
    if (values.size() != columns.size()) {
      return bq_fail(BqError::invalid_query("Syntax error: INSERT has " +
                                            std::to_string(columns.size()) + " columns but " +
                                            std::to_string(values.size()) + " values"));
    }
    std::string cols, vals;
    for (std::size_t k = 0; k < columns.size(); ++k) {
      cols += (k ? ", " : "") + quote_ident(columns[k]);
      vals += (k ? ", " : "") + values[k];
    }
    sql = "INSERT INTO " + target + " (" + cols + ") SELECT " + vals + " FROM temp.__rb_src AS " +
          sa + " WHERE " + sa +
          ".rowid IN (SELECT srid FROM temp.__rb_act WHERE kind = 'n' AND clause = " +
          std::to_string(n) + ") ORDER BY " + sa + ".rowid";
  }
  return sql;
}

// Executes a parsed MERGE (contract §6.4): materialise the source and the
// pre-MERGE match set, enforce the one-source-row rule, assign rows to the
// first matching clause, then update/delete before inserting.
BqResult<QueryOutcome> run_merge(Store& store, const MergeStatement& m,
                                 const std::vector<Param>& params,
                                 const std::string& duplicate_reason) {
  const std::string target = quote_ident(m.target.storage_name());
  const std::string ta = quote_ident(m.target_alias);
  const std::string sa = quote_ident(m.source_alias);
  auto info = store.table(m.target);
  if (!info) return bq_fail(BqError::not_found("Not found: Table " + m.target.colon_name()));
  std::vector<std::string> steps = {
      "DROP TABLE IF EXISTS temp.__rb_src",
      "DROP TABLE IF EXISTS temp.__rb_match",
      "DROP TABLE IF EXISTS temp.__rb_act",
      "CREATE TEMP TABLE __rb_src AS " + m.source_sql,
      "CREATE TEMP TABLE __rb_match AS SELECT " + ta + ".rowid AS trid, " + sa +
          ".rowid AS srid FROM " + target + " AS " + ta + " JOIN temp.__rb_src AS " + sa + " ON (" +
          m.on + ")",
      "CREATE TEMP TABLE __rb_act(kind TEXT, clause INTEGER, trid INTEGER, srid INTEGER)"};
  for (const auto& s : steps) {
    if (auto r = store.run(s, params); !r) return bq_fail(r.error());
  }
  auto cleanup = [&] {
    for (const char* s :
         {"DROP TABLE IF EXISTS temp.__rb_src", "DROP TABLE IF EXISTS temp.__rb_match",
          "DROP TABLE IF EXISTS temp.__rb_act"}) {
      (void)store.run(s);
    }
  };
  bool has_matched = false;
  for (const auto& c : m.clauses) has_matched = has_matched || c.kind == MergeClause::matched;
  if (has_matched) {
    auto dup = store.run("SELECT 1 FROM temp.__rb_match GROUP BY trid HAVING COUNT(*) > 1 LIMIT 1");
    if (!dup) return bq_fail(dup.error());
    if (!dup->rows.empty()) {
      cleanup();
      return bq_fail(BqError::make(400, duplicate_reason,
                                   "UPDATE/MERGE must match at most one source row for each "
                                   "target row"));
    }
  }
  for (std::size_t n = 0; n < m.clauses.size(); ++n) {
    const MergeClause& c = m.clauses[n];
    const std::string cond = c.condition.empty() ? "1" : "(" + c.condition + ")";
    const std::string id = std::to_string(n);
    std::string sql;
    if (c.kind == MergeClause::matched) {
      sql = "INSERT INTO temp.__rb_act SELECT 'm', " + id +
            ", mm.trid, mm.srid FROM temp.__rb_match AS mm JOIN " + target + " AS " + ta + " ON " +
            ta + ".rowid = mm.trid JOIN temp.__rb_src AS " + sa + " ON " + sa +
            ".rowid = mm.srid WHERE " + cond +
            " AND mm.trid NOT IN (SELECT trid FROM temp.__rb_act WHERE kind = 'm')";
    } else if (c.kind == MergeClause::not_matched) {
      sql = "INSERT INTO temp.__rb_act SELECT 'n', " + id + ", NULL, " + sa +
            ".rowid FROM temp.__rb_src AS " + sa + " WHERE " + sa +
            ".rowid NOT IN (SELECT srid FROM temp.__rb_match) AND " + cond + " AND " + sa +
            ".rowid NOT IN (SELECT srid FROM temp.__rb_act WHERE kind = 'n')";
    } else {
      sql = "INSERT INTO temp.__rb_act SELECT 's', " + id + ", " + ta + ".rowid, NULL FROM " +
            target + " AS " + ta + " WHERE " + ta +
            ".rowid NOT IN (SELECT trid FROM temp.__rb_match) AND " + cond + " AND " + ta +
            ".rowid NOT IN (SELECT trid FROM temp.__rb_act WHERE kind = 's')";
    }
    if (auto r = store.run(sql, params); !r) {
      cleanup();
      return bq_fail(r.error());
    }
  }
  QueryOutcome out;
  out.statement_type = "MERGE";
  out.dml = true;
  // Updates and deletes first: inserted rows must not take a rowid the
  // action table still refers to.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t n = 0; n < m.clauses.size(); ++n) {
      const MergeClause& c = m.clauses[n];
      if ((pass == 0) == (c.action == MergeClause::insert)) continue;
      auto sql = merge_action_sql(store, m, *info, n);
      if (!sql) {
        cleanup();
        return bq_fail(sql.error());
      }
      auto r = store.run(*sql, params);
      if (!r) {
        cleanup();
        return bq_fail(r.error());
      }
      (c.action == MergeClause::update   ? out.updated
       : c.action == MergeClause::remove ? out.deleted
                                         : out.inserted) += r->changes;
    }
  }
  cleanup();
  return out;
}

// CREATE [OR REPLACE] TABLE [IF NOT EXISTS] path (col TYPE [NOT NULL], …) | AS SELECT …
BqResult<QueryOutcome> run_create(Store& store, const Tokens& t, RewriteContext& ctx,
                                  const StatementPlan& plan, const std::vector<Param>& params) {
  std::size_t i = 1;
  bool replace = false;
  bool if_not_exists = false;
  if (t[i].is("OR")) {
    replace = true;
    i += 2;
  }
  ++i;  // TABLE
  if (i < t.size() && t[i].is("IF")) {
    if_not_exists = true;
    i += 3;
  }
  (void)parse_path(t, i);
  QueryOutcome out;
  out.statement_type = plan.statement_type;
  if (store.table(*plan.target)) {
    if (if_not_exists) return out;
    if (!replace)
      return bq_fail(BqError::duplicate("Already Exists: Table " + plan.target->colon_name()));
  }
  json fields = json::array();
  json rows = json::array();
  if (i < t.size() && t[i].is_op("(")) {
    const std::size_t close = matching_paren(t, i);
    for (std::size_t k = i + 1; k < close;) {
      const std::size_t item_end =
          find_top(t, k, close, [](const Token& x) { return x.is_op(","); });
      if (item_end - k < 2)
        return bq_fail(BqError::invalid_query("Syntax error: expected column name and type"));
      const std::string type = canonical_type(t[k + 1].text);
      if (type.empty() || type == "RECORD") {
        return bq_fail(BqError::invalid_query("Syntax error: column type " + t[k + 1].text +
                                              " is not supported by the emulator"));
      }
      bool required = false;
      for (std::size_t x = k + 2; x + 1 < item_end; ++x)
        required = required || (t[x].is("NOT") && t[x + 1].is("NULL"));
      fields.push_back(
          json{{"name", t[k].text}, {"type", type}, {"mode", required ? "REQUIRED" : "NULLABLE"}});
      k = item_end + 1;
    }
    i = close + 1;
  }
  const std::size_t as = find_top(t, i, t.size(), [](const Token& x) { return x.is("AS"); });
  if (as < t.size()) {
    auto select_sql = rewrite(t, as + 1, t.size(), ctx);
    if (!select_sql) return bq_fail(select_sql.error());
    auto selected = select_outcome(store, *select_sql, params);
    if (!selected) return bq_fail(selected.error());
    if (fields.empty()) fields = selected->fields;
    rows = std::move(selected->rows);
  }
  auto created = store.create_table(*plan.target, fields, std::nullopt, json::object(), true);
  if (!created) return bq_fail(created.error());
  std::vector<std::vector<json>> converted;
  for (const json& r : rows) converted.emplace_back(r.begin(), r.end());
  if (auto ins = store.insert_rows(*created, converted); !ins) return bq_fail(ins.error());
  return out;
}

}  // namespace

BqResult<QueryOutcome> Store::execute(const std::string& sql, const std::string& project,
                                      const json& default_dataset,
                                      const std::vector<Param>& params) {
  auto tokens = tokenize(sql);
  if (!tokens) return bq_fail(tokens.error());
  Tokens& t = *tokens;
  RewriteContext ctx = make_context(t, project, default_dataset);
  auto plan = classify(t, ctx);
  if (!plan) return bq_fail(plan.error());
  const std::string& type = plan->statement_type;
  if (plan->target && type != "CREATE_TABLE" && type != "CREATE_TABLE_AS_SELECT") {
    if (!get_dataset(plan->target->project, plan->target->dataset)) {
      return bq_fail(BqError::not_found("Not found: Dataset " + plan->target->project + ":" +
                                        plan->target->dataset));
    }
  }
  if (type == "MERGE") {
    auto m = parse_merge(t, ctx);
    if (!m) return bq_fail(m.error());
    for (const TableRef& ref : ctx.tables) {
      if (!table(ref)) return bq_fail(BqError::not_found("Not found: Table " + ref.colon_name()));
    }
    return run_merge(*this, *m, params, merge_duplicate_reason);
  }
  if (type == "CREATE_TABLE" || type == "CREATE_TABLE_AS_SELECT") {
    if (!get_dataset(plan->target->project, plan->target->dataset)) {
      return bq_fail(BqError::not_found("Not found: Dataset " + plan->target->project + ":" +
                                        plan->target->dataset));
    }
    return run_create(*this, t, ctx, *plan, params);
  }
  if (type == "DROP_TABLE") {
    QueryOutcome out;
    out.statement_type = type;
    const bool if_exists = t.size() > 2 && t[2].is("IF");
    if (auto d = drop_table(*plan->target); !d && !if_exists) return bq_fail(d.error());
    return out;
  }
  // SELECT / INSERT / UPDATE / DELETE / TRUNCATE: token-level rewrite.
  Tokens adjusted = t;
  if (type == "TRUNCATE_TABLE") {
    adjusted.erase(adjusted.begin(), adjusted.begin() + 2);
    adjusted.insert(adjusted.begin(), {Token{TokenKind::ident, "DELETE", "DELETE", 0},
                                       Token{TokenKind::ident, "FROM", "FROM", 0}});
  } else if (type == "INSERT" && !adjusted[1].is("INTO")) {
    adjusted.insert(adjusted.begin() + 1, Token{TokenKind::ident, "INTO", "INTO", 0});
  } else if (type == "DELETE" && !adjusted[1].is("FROM")) {
    adjusted.insert(adjusted.begin() + 1, Token{TokenKind::ident, "FROM", "FROM", 0});
  }
  std::string text;
  if (type == "UPDATE") {
    // UPDATE path [AS alias] SET a = …, T.b = … [FROM …] WHERE …
    const std::size_t set =
        find_top(adjusted, 1, adjusted.size(), [](const Token& x) { return x.is("SET"); });
    const std::size_t set_end = find_top(adjusted, set + 1, adjusted.size(), [](const Token& x) {
      return x.is("FROM") || x.is("WHERE");
    });
    auto head = rewrite(adjusted, 0, set, ctx);
    auto assignments = rewrite_set(adjusted, set + 1, set_end, ctx);
    auto tail = rewrite(adjusted, set_end, adjusted.size(), ctx);
    if (!head || !assignments || !tail) {
      return bq_fail(!head ? head.error() : !assignments ? assignments.error() : tail.error());
    }
    text = *head + " SET " + *assignments + " " + *tail;
  } else {
    auto r = rewrite(adjusted, 0, adjusted.size(), ctx);
    if (!r) return bq_fail(r.error());
    text = *r;
  }
  for (const TableRef& ref : ctx.tables) {
    if (!get_dataset(ref.project, ref.dataset)) {
      return bq_fail(BqError::not_found("Not found: Dataset " + ref.project + ":" + ref.dataset));
    }
    if (!table(ref)) return bq_fail(BqError::not_found("Not found: Table " + ref.colon_name()));
  }
  if (type == "SELECT") return select_outcome(*this, text, params);
  auto r = run(text, params);
  if (!r) return bq_fail(r.error());
  QueryOutcome out;
  out.statement_type = type;
  out.dml = true;
  (type == "INSERT" ? out.inserted : type == "UPDATE" ? out.updated : out.deleted) = r->changes;
  return out;
}

}  // namespace rebound::emulator::bigquery::detail
