#!/usr/bin/env python3
"""Runs pool_bench once (5 repetitions) and prints rebound vs baselines, side by side.

    python3 bench/pool/compare.py build/bench/pool/pool_bench

Reads the median aggregates (wall time per operation; for ->Threads(8) rows
that is wall time / total operations, i.e. inverse throughput) and prints a
Markdown table with the speed-up of rebound over each baseline.
"""
import json
import subprocess
import sys

ROWS = [
    # (label, rebound benchmark, baseline benchmark)
    ("cached client lookup, 1 thread, vs std::mutex + unordered_map",
     "BM_Cache_Rebound", "BM_Cache_NaiveMutex"),
    ("cached client lookup, 8 threads, vs std::mutex + unordered_map",
     "BM_Cache_Rebound/threads:8", "BM_Cache_NaiveMutex/threads:8"),
    ("cached client lookup, 1 thread, vs std::shared_mutex",
     "BM_Cache_Rebound", "BM_Cache_SharedMutex"),
    ("cached client lookup, 8 threads, vs std::shared_mutex",
     "BM_Cache_Rebound/threads:8", "BM_Cache_SharedMutex/threads:8"),
    ("cached client lookup, 1 thread, vs atomic<shared_ptr> snapshot",
     "BM_Cache_Rebound", "BM_Cache_AtomicSharedPtr"),
    ("cached client lookup, 8 threads, vs atomic<shared_ptr> snapshot",
     "BM_Cache_Rebound/threads:8", "BM_Cache_AtomicSharedPtr/threads:8"),
    ("lease acquire+release, 1 thread, vs new fake object per op",
     "BM_Pool_AcquireRelease/real_time", "BM_Fresh_FakeConnPerOp/real_time"),
    ("lease acquire+release, 8 threads, vs new fake object per op",
     "BM_Pool_AcquireRelease/real_time/threads:8", "BM_Fresh_FakeConnPerOp/real_time/threads:8"),
    ("lease acquire+release, 1 thread, vs new loopback TCP connection per op",
     "BM_Pool_AcquireRelease/real_time", "BM_Fresh_LoopbackTcpPerOp/real_time"),
]


def fmt(ns):
    return f"{ns / 1000:.1f} µs" if ns >= 10000 else f"{ns:.1f} ns"


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/bench/pool/pool_bench"
    out = subprocess.run([binary, "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true",
                          "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    medians = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            medians[b["run_name"]] = b["real_time"] if b["time_unit"] == "ns" else None
    print("| comparison | rebound (median) | baseline (median) | baseline / rebound |")
    print("|---|---:|---:|---:|")
    for label, ours, theirs in ROWS:
        a, b = medians[ours], medians[theirs]
        print(f"| {label} | {fmt(a)} | {fmt(b)} | {b / a:.2f}× |")
    print()
    print("| benchmark | median |")
    print("|---|---:|")
    for name, ns in medians.items():
        print(f"| `{name}` | {fmt(ns)} |")


if __name__ == "__main__":
    main()
