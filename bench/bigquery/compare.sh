#!/usr/bin/env bash
# BigQuery batch-writer cycles per second, rebound vs the official Node client
# (@google-cloud/bigquery 9.3.0), side by side in one run against one
# `rebound emulate bigquery` (default job timing: 1 poll PENDING, 1 RUNNING),
# same 25 rows per cycle, same concurrency, each writer into its own table.
#   bench/bigquery/compare.sh [build_dir=build] [seconds=10] [clients="1 8"]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
seconds=${2:-10}
clients=${3:-"1 8"}
node_dir=tests/emulator/bigquery/conformance/node
[ -d "$node_dir/node_modules" ] || (cd "$node_dir" && npm ci --no-audit --no-fund >/dev/null)

"$build/bin/rebound" emulate bigquery --project bench > /tmp/bq-bench-emulator.$$ 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -f /tmp/bq-bench-emulator.$$' EXIT
for _ in $(seq 50); do
  url=$(head -1 /tmp/bq-bench-emulator.$$ 2>/dev/null || true)
  [[ $url == http* ]] && break
  sleep 0.1
done

echo "| clients | rebound cycles/s | node cycles/s | rebound / node |"
echo "|---|---|---|---|"
for c in $clients; do
  r=$("$build/bench/bigquery/bigquery_cycle" "$url" "$c" "$seconds" | awk '{print $5}')
  n=$(NODE_PATH="$node_dir/node_modules" node bench/bigquery/node_cycle.js "$url" "$c" "$seconds" | awk '{print $5}')
  ratio=$(awk -v a="$r" -v b="$n" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  echo "| $c | $r | $n | ${ratio}x |"
done
