#!/usr/bin/env python3
"""Runs retry_bench once (5 repetitions) and prints the retry loop's overhead.

    python3 bench/retry/compare.py build/bench/retry/retry_bench

Reads the median aggregates (CPU time per operation: on a loaded 2-core
machine wall time also counts time the thread sat preempted) and prints two
Markdown tables: Backoff::next() per strategy, and each retry() success-path
variant next to the plain call of the same function, with the overhead in ns.
"""
import json
import subprocess
import sys

PLAIN = "BM_PlainCall"
LOOPS = [
    ("retry(), transient preset (HTTP default)", "BM_Retry_Transient"),
    ("retry(), serialization preset", "BM_Retry_Serialization"),
    ("retry(), quota + serialization composed", "BM_Retry_Composed"),
    ("retry(), serialization + shared RetryBudget", "BM_Retry_WithBudget"),
    ("retry(), serialization + operation name + seed", "BM_Retry_WithOptions"),
    ("retry(), serialization, clock that is never read", "BM_Retry_FrozenClock"),
    ("retry(), one conflict then success (no-op sleeper)", "BM_Retry_OneConflictThenSuccess"),
]


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/bench/retry/retry_bench"
    out = subprocess.run([binary, "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true",
                          "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    medians = {}
    for b in doc["benchmarks"]:
        if b.get("aggregate_name") == "median":
            assert b["time_unit"] == "ns"
            medians[b["run_name"]] = (b["cpu_time"], b["real_time"])
    print(f"load average during the run: {doc['context'].get('load_avg')}")
    print()
    print("| Backoff::next() | CPU (median) | wall (median) |")
    print("|---|---:|---:|")
    for name, (cpu, wall) in medians.items():
        if name.startswith("BM_BackoffNext/") or name in ("BM_RngUniform01", "BM_SteadyClockNow"):
            print(f"| `{name}` | {cpu:.1f} ns | {wall:.1f} ns |")
    print()
    plain_cpu, plain_wall = medians[PLAIN]
    print("| success path | CPU (median) | overhead vs plain call | wall (median) |")
    print("|---|---:|---:|---:|")
    print(f"| plain call returning Result<int> (`{PLAIN}`) | {plain_cpu:.1f} ns | — | {plain_wall:.1f} ns |")
    for label, name in LOOPS:
        cpu, wall = medians[name]
        print(f"| {label} (`{name}`) | {cpu:.1f} ns | +{cpu - plain_cpu:.1f} ns | {wall:.1f} ns |")


if __name__ == "__main__":
    main()
