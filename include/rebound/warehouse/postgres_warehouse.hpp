// PostgresWarehouse — the server back end over libpq.
//
//   auto wh = rebound::warehouse::make_postgres_warehouse(
//       {.url = "postgresql://app@db:5432/stats", .pool_size = 8}).value();
//
// Connections come from a bounded LeasePool<PgConnection>: at most pool_size
// connections exist at once, however many threads call, so the server never
// says "too many clients" because of us. A statement that fails because the
// connection died (server restart, network) marks its lease broken — the pool
// evicts it and opens a fresh one on the next acquire — and returns a
// transient error for the retry loop.
//
// Errors carry the server's SQLSTATE, classified by classify::postgres:
// 40001/40P01 serialization_conflict, 53300 too_many_connections, 08xxx and
// 57P0x transient, 42xxx non_retriable. Connection failures have no SQLSTATE
// on the wire; they are mapped from libpq's message (too many clients ->
// 53300, starting up/shutting down -> 57P03, anything else -> 08001).
//
// Text goes over the wire as UTF-8 whatever PGCLIENTENCODING or the URL
// say (client_encoding=UTF8 is forced): the server converts it to the
// database's encoding or refuses it with an error, never stores mojibake.
//
// Loads use COPY … FROM STDIN in text format (tabs, newlines, backslashes
// escaped; NULL as \N).
//
// Thread safety: thread-safe, as Warehouse.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "rebound/core/clock.hpp"
#include "rebound/warehouse/warehouse.hpp"

namespace rebound::warehouse {

struct PostgresOptions {
  std::string url;  // postgresql://user[:password]@host[:port]/db[?params]
  std::size_t pool_size = 8;
  Duration acquire_timeout = std::chrono::seconds{5};
  Duration connect_timeout = std::chrono::seconds{5};
  Duration validate_after_idle = std::chrono::seconds{30};
  // Longest a session callback (all its statements) may wait on the server;
  // a transaction's TransactionOptions::timeout shortens it. Enforced on the
  // client (non-blocking libpq + poll), so a stopped or black-holed server
  // becomes a transient 57014 error instead of a hang, and sent to the server
  // as statement_timeout and tcp_user_timeout (keepalives on: 10 s idle,
  // 5 s interval, 3 probes). A URL's own options= / keepalives* win.
  Duration statement_timeout = std::chrono::seconds{60};
};

// Validates options and returns a warehouse. No connection is opened until the
// first call. Errors (permanent): empty URL, a URL libpq cannot parse, pool_size 0.
[[nodiscard]] Result<std::shared_ptr<Warehouse>> make_postgres_warehouse(PostgresOptions options);

}  // namespace rebound::warehouse
