#!/usr/bin/env python3
"""Async HTTP figures in one run, side by side, against bench/http/delay_server
on loopback (one epoll thread; replies after a delay, a seeded fraction stalled):

1. Many in flight on few threads: `rebound get URL -n N --concurrency C` on
   the async engine (1 and 2 event threads) next to the blocking client with C
   threads (`--blocking`), the server answering after 100 ms. Ideal rate =
   C / 100 ms. For each: requests/s, share of ideal, the process's peak
   thread count and peak RSS (sampled from /proc/PID/status).
2. Hedging: N GETs, 5% of replies stalled 200 ms, with and without
   `--hedge-ms`; p50/p99/max and hedges sent/won.

    bench/http/async_compare.py [--build DIR] [--requests 10000] [--concurrency 1000]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class DelayServer:
    def __init__(self, bin_, *args):
        self.proc = subprocess.Popen([bin_, *map(str, args)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]

    def url(self, path="/x"):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def run_get(rebound, url, n, concurrency, *extra):
    """Runs `rebound get --json`, sampling its thread count and peak RSS."""
    cmd = [rebound, "get", url, "-n", str(n), "--concurrency", str(concurrency), "--json",
           *map(str, extra)]
    out_file = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(cmd, stdout=out_file, stderr=subprocess.PIPE, text=True)
    threads, hwm_kb, rusage = 0, 0, None
    while rusage is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                for line in f:
                    if line.startswith("Threads:"):
                        threads = max(threads, int(line.split()[1]))
                    elif line.startswith("VmHWM:"):
                        hwm_kb = max(hwm_kb, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            pass
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            rusage, proc.returncode = usage, os.waitstatus_to_exitcode(status)
        else:
            time.sleep(0.01)
    err = proc.stderr.read()
    out_file.seek(0)
    out = out_file.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err}{out[-500:]}")
    summary = json.loads(out)["summary"]
    summary["peak_threads"] = threads
    # The kernel's peak RSS for the child (ru_maxrss, KiB) is exact; VmHWM
    # sampling can miss the very end.
    summary["peak_rss_mb"] = max(hwm_kb, rusage.ru_maxrss) / 1024
    summary["cpu_us_per_request"] = (rusage.ru_utime + rusage.ru_stime) * 1e6 / n
    return summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-http-bench"))
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=1000)
    ap.add_argument("--hedge-requests", type=int, default=1000)
    ap.add_argument("--hedge-ms", type=float, default=10)
    args = ap.parse_args()
    subprocess.run(["cmake", "-S", ROOT, "-B", args.build, "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=Release", "-DREBOUND_BUILD_BENCH=ON"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", args.build, "--target", "delay_server", "rebound", "-j2"],
                   check=True, stdout=subprocess.DEVNULL)
    delay_bin = os.path.join(args.build, "bench", "http", "delay_server")
    rebound = os.path.join(args.build, "bin", "rebound")

    n, c = args.requests, args.concurrency
    ideal = c / 0.1
    server = DelayServer(delay_bin, "--delay-ms", 100)
    try:
        runs = [("async, 1 event thread", run_get(rebound, server.url(), n, c)),
                ("async, 2 event threads",
                 run_get(rebound, server.url(), n, c, "--event-threads", 2)),
                (f"blocking, {c} threads", run_get(rebound, server.url(), n, c, "--blocking"))]
    finally:
        server.close()

    hn = args.hedge_requests
    stall = DelayServer(delay_bin, "--delay-ms", 1, "--stall-fraction", 0.05, "--stall-ms", 200,
                        "--seed", 7)
    try:
        plain = run_get(rebound, stall.url(), hn, 10)
        hedged = run_get(rebound, stall.url(), hn, 10, "--hedge-ms", args.hedge_ms)
    finally:
        stall.close()

    print(f"{n} GETs, {c} in flight, loopback server answering after 100 ms; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print("| client | req/s | share of ideal (" + f"{ideal:.0f}/s) | p50 ms | p99 ms | "
          "peak threads | peak RSS MB | CPU us/request | new conns | reuse |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in runs:
        print(f"| {name} | {s['requests_per_second']:.0f} | "
              f"{s['requests_per_second'] / ideal:.2f} | {s['latency_ms']['p50']:.1f} | "
              f"{s['latency_ms']['p99']:.1f} | {s['peak_threads']} | {s['peak_rss_mb']:.1f} | "
              f"{s['cpu_us_per_request']:.1f} | {s['new_connections']} | {s['reuse_rate']:.3f} |")
    blocking = runs[2][1]
    for name, s in runs[:2]:
        print(f"({name} vs blocking: rate {s['requests_per_second'] / blocking['requests_per_second']:.2f}x, "
              f"threads {s['peak_threads']}/{blocking['peak_threads']}, "
              f"RSS {s['peak_rss_mb'] / blocking['peak_rss_mb']:.2f}x)")
    print()
    print(f"{hn} GETs, 10 in flight, 5% of replies stall 200 ms (else 1 ms)")
    print("| client | p50 ms | p99 ms | max ms | hedges sent | hedges won |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, s in (("no hedging", plain), (f"hedge after {args.hedge_ms:g} ms", hedged)):
        lat = s["latency_ms"]
        print(f"| {name} | {lat['p50']:.1f} | {lat['p99']:.1f} | {lat['max']:.1f} | "
              f"{s['hedges']['sent']} | {s['hedges']['won']} |")
    print(f"(p99 with hedging / without: {hedged['latency_ms']['p99'] / plain['latency_ms']['p99']:.2f})")


if __name__ == "__main__":
    sys.exit(main())
