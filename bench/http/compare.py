#!/usr/bin/env python3
"""HTTP figures in one run: rebound's pooled client side by side with wrk and
Python requests, all against ONE nginx (plain HTTP + HTTPS with a throwaway
CA) that `http_compare serve` starts. Prints a table of ratios with goals.
Latencies compare medians (p50): on a shared 2-core machine the means are
dominated by scheduling noise; the mean is printed too.

    bench/http/compare.py [--build DIR] [--seconds 5]

Needs wrk (Debian wrk) and python3-requests. Build first, or let the script
build http_compare in DIR (default build-http-bench, Release).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def rebound(bin_, *args):
    return json.loads(sh([bin_, *map(str, args)]).strip().splitlines()[-1])


def wrk(url, threads, conns, seconds):
    out = sh(["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", url])
    scale = {"us": 1.0, "ms": 1e3, "s": 1e6}
    lat = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"mean_us": float(lat.group(1)) * scale[lat.group(2)],
            "p50_us": float(p50.group(1)) * scale[p50.group(2)], "rps": rps}


def python_requests(url, n, session):
    code = f"""
import time, requests
url = {url!r}
s = requests.Session() if {session} else None
get = s.get if s else requests.get
get(url)
lat = []
for _ in range({n}):
    t0 = time.perf_counter()
    r = get(url)
    lat.append((time.perf_counter() - t0) * 1e6)
    assert r.status_code == 200
lat.sort()
print(lat[len(lat) // 2])
"""
    return float(sh(["/usr/bin/python3", "-c", code]).strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-http-bench"))
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    subprocess.run(["cmake", "-S", ROOT, "-B", args.build, "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=Release", "-DREBOUND_BUILD_BENCH=ON"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", args.build, "--target", "http_compare", "-j2"],
                   check=True, stdout=subprocess.DEVNULL)
    bin_ = os.path.join(args.build, "bench", "http", "http_compare")

    server = subprocess.Popen([bin_, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        info = json.loads(server.stdout.readline())
        http, https, ca = info["http"] + "/status", info["https"] + "/status", info["ca"]
        secs = args.seconds
        rows = []

        # 1. Sequential latency on one kept-alive connection vs wrk -t1 -c1.
        w1 = wrk(http, 1, 1, secs)
        seq = rebound(bin_, "seq", http, int(max(2000, w1["rps"] * secs)))
        rows.append(("sequential GET median latency, 1 conn (us)", seq["p50_us"], "wrk -t1 -c1",
                     w1["p50_us"], seq["p50_us"] / w1["p50_us"], "<= 1.2x wrk latency",
                     seq["p50_us"] / w1["p50_us"] <= 1.2))
        rows.append(("sequential GET mean latency, 1 conn (us)", seq["mean_us"], "wrk -t1 -c1",
                     w1["mean_us"], seq["mean_us"] / w1["mean_us"], "(noise-prone)", None))

        # 2. Throughput, 8 threads sharing one client vs wrk -t2 -c8.
        w8 = wrk(http, 2, 8, secs)
        thr = rebound(bin_, "threads", http, 8, int(max(10000, w8["rps"] * secs)))
        rows.append(("throughput, 8 threads (req/s)", thr["rps"], "wrk -t2 -c8", w8["rps"],
                     thr["rps"] / w8["rps"], ">= 0.8x wrk", thr["rps"] / w8["rps"] >= 0.8))
        # 2b. The same 8 connections from the async engine: 8 in flight on one event thread.
        asy = rebound(bin_, "async", http, 8, int(max(10000, w8["rps"] * secs)))
        rows.append(("throughput, 8 in flight, async 1 event thread (req/s)", asy["rps"],
                     "wrk -t2 -c8", w8["rps"], asy["rps"] / w8["rps"], ">= 0.8x wrk",
                     asy["rps"] / w8["rps"] >= 0.8))

        # 3. Python requests: Session (pooled) and plain requests.get.
        py_session = python_requests(http, 2000, True)
        py_plain = python_requests(http, 500, False)
        rows.append(("sequential GET median latency (us)", seq["p50_us"], "requests.Session",
                     py_session, py_session / seq["p50_us"], ">= 10x faster",
                     py_session / seq["p50_us"] >= 10))
        rows.append(("sequential GET median latency (us)", seq["p50_us"], "requests.get",
                     py_plain, py_plain / seq["p50_us"], "(no goal)", None))

        # 4. HTTPS: pooled vs a new connection (TCP + TLS handshake) per request.
        tls_pooled = rebound(bin_, "seq", https, 5000, ca)
        tls_fresh = rebound(bin_, "seq", https, 500, ca, "--no-reuse")
        rows.append(("HTTPS GET median latency, pooled (us)", tls_pooled["p50_us"],
                     "new conn/request, full TLS", tls_fresh["p50_us"],
                     tls_fresh["p50_us"] / tls_pooled["p50_us"], ">= 20x faster",
                     tls_fresh["p50_us"] / tls_pooled["p50_us"] >= 20))
        # A new connection per request (the server closes each, /close) that
        # resumes the TLS session from the client's shared session cache.
        tls_resumed = rebound(bin_, "seq", info["https"] + "/close", 500, ca)
        rows.append(("HTTPS GET, new conn/request, session resumed (us)", tls_resumed["p50_us"],
                     "new conn/request, full TLS", tls_fresh["p50_us"],
                     tls_fresh["p50_us"] / tls_resumed["p50_us"], "(resumption saves)", None))
        tls_naive = rebound(bin_, "seq", https, 300, ca, "--new-client")
        rows.append(("HTTPS GET median latency, pooled (us)", tls_pooled["p50_us"],
                     "new client/request (naive)", tls_naive["p50_us"],
                     tls_naive["p50_us"] / tls_pooled["p50_us"], ">= 20x faster",
                     tls_naive["p50_us"] / tls_pooled["p50_us"] >= 20))

        # 5. Reuse over 10k requests on 8 threads.
        reuse = rebound(bin_, "threads", http, 8, 10000)
        rows.append(("reuse rate, 10k GETs on 8 threads", reuse["reuse_rate"] * 100, "-", None,
                     None, ">= 99%", reuse["reuse_rate"] >= 0.99))
        w8s = wrk(https, 2, 8, secs)
        thr_tls = rebound(bin_, "threads", https, 8, int(max(5000, w8s["rps"] * secs)), ca)
        rows.append(("HTTPS throughput, 8 threads (req/s)", thr_tls["rps"], "wrk -t2 -c8 (TLS)",
                     w8s["rps"], thr_tls["rps"] / w8s["rps"], ">= 0.7x wrk",
                     thr_tls["rps"] / w8s["rps"] >= 0.7))
        asy_tls = rebound(bin_, "async", https, 8, int(max(5000, w8s["rps"] * secs)), ca)
        rows.append(("HTTPS throughput, 8 in flight, async (req/s)", asy_tls["rps"],
                     "wrk -t2 -c8 (TLS)", w8s["rps"], asy_tls["rps"] / w8s["rps"], ">= 0.7x wrk",
                     asy_tls["rps"] / w8s["rps"] >= 0.7))
    finally:
        server.stdin.close()
        server.wait(timeout=30)

    print(f"nginx /status on 127.0.0.1, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
    print(f"| measure | rebound | reference | reference value | ratio | goal | met |")
    print(f"|---|---:|---|---:|---:|---|---|")
    for name, mine, ref, ref_v, ratio, goal, met in rows:
        fmt = lambda v: "-" if v is None else (f"{v:.1f}" if v >= 100 else f"{v:.2f}")
        print(f"| {name} | {fmt(mine)} | {ref} | {fmt(ref_v)} | {fmt(ratio)} | {goal} | "
              f"{'-' if met is None else ('yes' if met else 'NO')} |")
    print(f"(new connections: sequential {seq['new_connections']}, 8 threads "
          f"{reuse['new_connections']}; HTTPS pooled {tls_pooled['new_connections']}, "
          f"fresh {tls_fresh['new_connections']}; async 8 in flight {asy['new_connections']} "
          f"(reuse {asy['reuse_rate']:.4f}), HTTPS async {asy_tls['new_connections']} "
          f"(reuse {asy_tls['reuse_rate']:.4f}))")


if __name__ == "__main__":
    sys.exit(main())
