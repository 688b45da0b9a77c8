// Emulator: start/stop, the public API, the request pipeline (faults, auth,
// dispatch, log) and the control plane under /__emulator/.
#include <openssl/evp.h>

#include <cctype>
#include <chrono>
#include <filesystem>

#include "impl.hpp"
#include "rebound/core/percent_decode.hpp"

namespace rebound::emulator::bigquery {

using namespace detail;

namespace detail {

std::string camel_case(std::string_view name) {
  std::string out;
  bool up = false;
  for (char c : name) {
    if (c == '_') {
      up = !out.empty();
      continue;
    }
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    up = false;
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    const std::string key = camel_case(percent_decode(pair.substr(0, eq), PlusSign::space));
    if (!key.empty()) {
      out[key] =
          eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), PlusSign::space);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string upper_location(std::string_view location) {
  std::string out(location);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::int64_t> to_int(const json& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number()) return static_cast<std::int64_t>(v.get<double>());
  if (v.is_string()) {
    try {
      std::size_t used = 0;
      const auto n = std::stoll(v.get<std::string>(), &used);
      if (used == v.get<std::string>().size()) return n;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

}  // namespace detail

std::int64_t Emulator::Impl::now() const {
  if (frozen_ms) return *frozen_ms;
  const auto real = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  return real + clock_offset_ms;
}

std::string Emulator::Impl::random_id(std::string_view prefix) {
  static const char* kHex = "0123456789abcdef";
  std::string out(prefix);
  for (int i = 0; i < 24; ++i) out += kHex[rng() & 15];
  return out;
}

Reply Emulator::Impl::json_reply(int status, const json& body) const {
  Reply r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json; charset=UTF-8"}};
  r.body = body.dump();
  return r;
}

Reply Emulator::Impl::error_reply(const BqError& e) const {
  Reply r;
  r.status = e.status;
  r.headers = {{"Content-Type", "application/json; charset=UTF-8"}};
  r.body = error_body(e, options.unconfirmed.error_status_field);
  return r;
}

void Emulator::Impl::reset_locked() {
  store->reset();
  jobs.clear();
  request_ids.clear();
  uploads.clear();
  buffers.clear();
  insert_ids.clear();
  table_updates.clear();
  fault_rules.clear();
  tokens.clear();
  log.clear();
}

Reply Emulator::Impl::handle(const ServerRequest& request) {
  std::unique_lock lock(mu);
  if (request.path.starts_with("/__emulator/")) return control(request);
  LoggedRequest entry{.method = request.method,
                      .path = request.path,
                      .query = request.query,
                      .content_type = request.header("Content-Type").value_or(""),
                      .had_authorization = request.header("Authorization").has_value(),
                      .body_sha256 = sha256_hex(request.body),
                      .body_head = request.body.substr(0, 1024)};
  // Token requests carry assertions, refresh tokens and client secrets.
  if (request.path == "/token" || request.path == "/oauth2/v4/token") {
    entry.body_head = "[redacted token request]";
  }
  if (entry.query.find("access_token") != std::string::npos ||
      entry.query.find("key=") != std::string::npos) {
    entry.query = "[redacted]";
  }
  FaultPlan plan = match_faults(request);
  Reply reply;
  if (plan.immediate) {
    reply = *plan.immediate;
  } else if (auto auth = auth_route(request, request.path, plan)) {
    reply = std::move(*auth);
  } else if (options.require_auth && !authorized(request)) {
    reply = error_reply(
        BqError::make(401, "unauthorized", options.unconfirmed.unauthenticated_message));
    reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\"");
  } else {
    reply = dispatch(request, request.path, parse_query(request.query), plan, lock);
  }
  if (plan.invalid_json) {
    reply.status = 200;
    reply.body = "{\"kind\": \"bigquery#job\", \"status\": {\"state\": ";
  }
  if (plan.after) reply.fault = *plan.after;
  if (plan.delay && reply.fault == Fault::none) {
    reply.fault = Fault::delay;
    reply.stall_for = *plan.delay;
  }
  const bool silent =
      reply.fault == Fault::drop || reply.fault == Fault::reset || reply.fault == Fault::stall;
  entry.status = silent ? 0 : reply.status;
  entry.fault = plan.names;
  // Bounded: the oldest entries go first.
  if (log.size() >= kLogLimit) log.pop_front();
  log.push_back(std::move(entry));
  return reply;
}

Reply Emulator::Impl::control(const ServerRequest& request) {
  const std::string what = request.path.substr(std::string_view("/__emulator/").size());
  const json body = json::parse(request.body.empty() ? "{}" : request.body, nullptr, false);
  if (body.is_discarded()) return error_reply(BqError::invalid("control body is not JSON"));
  const std::string& method = request.method;
  std::optional<Reply> reply;
  if (what == "faults") reply = control_faults(method, request.body);
  if (what == "reset" && method == "POST") {
    reset_locked();
    reply = json_reply(200, json{{"reset", true}});
  }
  if (what == "clock") reply = control_clock(method, body);
  if (what == "requests") reply = control_requests(method);
  if (what == "sql" && method == "POST") reply = control_sql(body);
  if (what == "seed" && method == "POST") reply = control_seed(body);
  if (reply) return std::move(*reply);
  return error_reply(
      BqError::not_found("Not found: control route " + request.method + " " + request.path));
}

// POST arms more fault rules, DELETE disarms them all, GET lists them.
std::optional<Reply> Emulator::Impl::control_faults(const std::string& method,
                                                    const std::string& body) {
  if (method == "POST") {
    auto parsed = parse_faults(body);
    if (!parsed) return error_reply(parsed.error());
    for (auto& rule : *parsed) fault_rules.push_back(std::move(rule));
    return json_reply(200, json{{"armed", fault_rules.size()}});
  }
  if (method == "DELETE") {
    fault_rules.clear();
    return json_reply(200, json{{"armed", 0}});
  }
  if (method != "GET") return std::nullopt;
  json list = json::array();
  for (const auto& f : fault_rules) {
    list.push_back(json{{"method", f.method},
                        {"path", f.path_text},
                        {"seen", f.seen},
                        {"fired", f.fired},
                        {"action", f.action}});
  }
  return json_reply(200, json{{"faults", list}});
}

// Any method reads the clock; POST first sets it ({"nowMs"}: freeze there)
// or moves it ({"advanceMs"}: the frozen time, else the offset).
Reply Emulator::Impl::control_clock(const std::string& method, const json& body) {
  if (method == "POST") {
    if (auto ms = body.contains("nowMs") ? to_int(body["nowMs"]) : std::nullopt) {
      frozen_ms = *ms;
    } else if (auto by = body.contains("advanceMs") ? to_int(body["advanceMs"]) : std::nullopt) {
      if (frozen_ms)
        *frozen_ms += *by;
      else
        clock_offset_ms += *by;
    } else {
      return error_reply(
          BqError::invalid("clock needs {\"advanceMs\": n} or {\"nowMs\": unix_ms}"));
    }
    changed.notify_all();
  }
  return json_reply(200, json{{"nowMs", std::to_string(now())}, {"frozen", frozen_ms.has_value()}});
}

// GET lists the request log, DELETE clears it.
std::optional<Reply> Emulator::Impl::control_requests(const std::string& method) {
  if (method == "DELETE") {
    log.clear();
    return json_reply(200, json::object());
  }
  if (method != "GET") return std::nullopt;
  json list = json::array();
  for (const auto& e : log) {
    list.push_back(json{{"method", e.method},
                        {"path", e.path},
                        {"query", e.query},
                        {"contentType", e.content_type},
                        {"authorization", e.had_authorization},
                        {"bodySha256", e.body_sha256},
                        {"bodyHead", e.body_head},
                        {"status", e.status},
                        {"fault", e.fault}});
  }
  return json_reply(200, json{{"requests", list}});
}

// A read-only SELECT against the store, rows as objects keyed by column.
Reply Emulator::Impl::control_sql(const json& body) {
  const std::string sql = body.value("query", "");
  auto plan = store->plan(sql, body.value("projectId", options.project), json());
  if (!plan) return error_reply(plan.error());
  if (plan->statement_type != "SELECT") {
    return error_reply(BqError::invalid_query("/__emulator/sql runs read-only SELECTs only"));
  }
  auto out = store->execute(sql, body.value("projectId", options.project), json(), {});
  if (!out) return error_reply(out.error());
  json rows = json::array();
  for (const json& row : out->rows) {
    json obj = json::object();
    for (std::size_t c = 0; c < out->fields.size(); ++c)
      obj[out->fields[c]["name"].get<std::string>()] = row[c];
    rows.push_back(std::move(obj));
  }
  return json_reply(200, json{{"rows", rows}});
}

// Creates the body's datasets (existing ones kept) and tables with their rows.
Reply Emulator::Impl::control_seed(const json& body) {
  const std::string project = body.value("projectId", options.project);
  for (const json& d : body.value("datasets", json::array())) {
    auto r =
        store->create_dataset(project,
                              json{{"datasetReference", {{"datasetId", d.value("datasetId", "")}}},
                                   {"location", d.value("location", "US")}},
                              "US");
    if (!r && r.error().status != 409) return error_reply(r.error());
  }
  for (const json& t : body.value("tables", json::array())) {
    if (auto seeded = seed_table(project, t); !seeded) return error_reply(seeded.error());
  }
  return json_reply(200, json{{"seeded", true}});
}

BqResult<void> Emulator::Impl::seed_table(const std::string& project, const json& t) {
  TableRef ref{project, t.value("datasetId", ""), t.value("tableId", "")};
  auto info =
      store->create_table(ref, t.value("schema", json::object()).value("fields", json::array()),
                          std::nullopt, json::object(), true);
  if (!info) return std::unexpected(info.error());
  std::vector<std::vector<json>> rows;
  for (const json& row : t.value("rows", json::array())) {
    auto converted = store->convert_row(info->fields, row, false);
    if (!converted) return std::unexpected(converted.error());
    rows.push_back(std::move(*converted));
  }
  return store->insert_rows(*info, rows);
}

// ---- public API ----

Emulator::Emulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Emulator::~Emulator() {
  // Wake long polls, then stop serving (joins the connection threads, which
  // call into impl_) before the state goes away.
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->changed.notify_all();
  impl_->server.reset();
}

Result<std::unique_ptr<Emulator>> Emulator::start(Options options) {
  auto bad = [](const std::string& m) { return fail(Error::permanent("bigquery emulator: " + m)); };
  if (options.project.empty()) return bad("project must not be empty");
  if (options.pending_polls < 0 || options.running_polls < 0) {
    return bad("pending_polls and running_polls must be >= 0");
  }
  if (options.job_latency.count() < 0) return bad("job_latency must be >= 0");
  if (options.max_dml_jobs_per_table < 0 || options.table_updates_per_window < 0) {
    return bad("max_dml_jobs_per_table and table_updates_per_window must be >= 0");
  }
  if (options.require_auth && options.service_account_public_key_pem.empty() &&
      options.refresh_tokens.empty()) {
    return bad("require_auth needs service_account_public_key_pem or refresh_tokens");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->frozen_ms = options.frozen_clock_ms;
  impl->rng.seed(options.seed);
  std::string path = ":memory:";
  if (!options.data_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) return bad("cannot create data dir " + options.data_dir + ": " + ec.message());
    path = (std::filesystem::path(options.data_dir) / "bigquery.sqlite").string();
  }
  Impl* raw = impl.get();
  auto store = Store::open(path, [raw] { return raw->now(); });
  if (!store) return bad(store.error().message);
  impl->store = std::move(*store);
  impl->store->merge_duplicate_reason = options.unconfirmed.merge_duplicate_reason;
  auto server = rebound::emulator::HttpServer::start_on(
      options.port, [raw](const ServerRequest& request) { return raw->handle(request); });
  if (!server) return bad(server.error().message);
  impl->server = std::move(*server);
  impl->server->set_request_log_limit(0);  // the emulator keeps its own, bounded log
  return std::unique_ptr<Emulator>(new Emulator(std::move(impl)));
}

std::string Emulator::url() const { return "http://127.0.0.1:" + std::to_string(port()); }
int Emulator::port() const noexcept { return impl_->server->port(); }
const Options& Emulator::options() const noexcept { return impl_->options; }

Status Emulator::add_faults(const std::string& json_text) {
  std::lock_guard lock(impl_->mu);
  auto parsed = impl_->parse_faults(json_text);
  if (!parsed) return fail(Error::permanent("bigquery emulator faults: " + parsed.error().message));
  for (auto& rule : *parsed) impl_->fault_rules.push_back(std::move(rule));
  return {};
}

void Emulator::clear_faults() {
  std::lock_guard lock(impl_->mu);
  impl_->fault_rules.clear();
}

void Emulator::reset() {
  std::lock_guard lock(impl_->mu);
  impl_->reset_locked();
}

std::int64_t Emulator::now_ms() const {
  std::lock_guard lock(impl_->mu);
  return impl_->now();
}

void Emulator::advance_clock(std::chrono::milliseconds by) {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->frozen_ms)
      *impl_->frozen_ms += by.count();
    else
      impl_->clock_offset_ms += by.count();
  }
  impl_->changed.notify_all();
}

void Emulator::set_clock(std::int64_t unix_ms) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->frozen_ms = unix_ms;
  }
  impl_->changed.notify_all();
}

std::vector<LoggedRequest> Emulator::requests() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->log.begin(), impl_->log.end()};
}

Result<std::string> Emulator::query_json(const std::string& sql) const {
  std::lock_guard lock(impl_->mu);
  auto plan = impl_->store->plan(sql, impl_->options.project, json());
  if (!plan) return fail(Error::permanent(plan.error().message));
  if (plan->statement_type != "SELECT")
    return fail(Error::permanent("query_json runs SELECT only"));
  auto out = impl_->store->execute(sql, impl_->options.project, json(), {});
  if (!out) return fail(Error::permanent(out.error().message));
  json rows = json::array();
  for (const json& row : out->rows) {
    json obj = json::object();
    for (std::size_t c = 0; c < out->fields.size(); ++c) {
      obj[out->fields[c]["name"].get<std::string>()] = row[c];
    }
    rows.push_back(std::move(obj));
  }
  return rows.dump();
}

}  // namespace rebound::emulator::bigquery
