#!/usr/bin/env bash
# Warehouse figures in one run: builds warehouse_compare and runs it. It starts
# its own throwaway PostgreSQL 15 (initdb in a temp folder, free port), makes
# 100k rows of NDJSON + CSV, and prints rebound vs reference side by side:
#   pooled op vs connect-per-op; pool vs pgbench -S; batch writer vs psql \copy;
#   batch writer vs sqlite3 .import.
#   bench/warehouse/compare.sh [ROWS=100000] [PGBENCH_SECONDS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${BUILD_DIR:-build-warehouse-bench}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DREBOUND_BUILD_BENCH=ON >/dev/null
cmake --build "$build" --target warehouse_compare -j2 >/dev/null
command -v sqlite3 >/dev/null || { echo "compare.sh: needs the sqlite3 CLI (Debian: sqlite3)"; exit 1; }
exec "$build/bench/warehouse/warehouse_compare" "${1:-100000}" "${2:-5}"
