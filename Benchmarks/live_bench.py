#!/usr/bin/env python3
"""Live queries under load (release build): latency and throughput of /v1/windows, and what
answering costs ingest.

1. Idle pipeline: windowkeeper --clock event --serve-after-eof on a replayed file, then wrk
   (keep-alive connections, 2 threads) against /v1/windows for known contacts: p50/p99/max
   latency and queries/s. Then, on the same process, two wrk clients at once, one on
   /v1/windows and one on /v1/advice for the same contact (3 s, `--pairs` times): the median
   p99 of each and their ratio (target: advice p99 <= 1.5 x windows p99), and the process's
   CPU time per query of each alone.
2. Busy pipeline: the same file replayed through a pipe at full speed with --listen while
   wrk sends about 1,000 queries/s on 40 keep-alive connections, beside the same replay
   without --listen, in interleaved pairs: the ingest slowdown, with its spread.

    python3 Benchmarks/live_bench.py .build/release [--file F] [--runs N]
Needs wrk (Debian package). Targets on a 2-core machine: p99 <= 5 ms, >= 20,000 queries/s
idle, <= 10 % ingest slowdown at 1,000 queries/s.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time


def start(wk, args, stdin):
    p = subprocess.Popen([wk, *args, "--listen", "127.0.0.1:0"], stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port = int(re.search(rb'"listening":"127\.0\.0\.1:(\d+)"', p.stderr.readline()).group(1))
    threading.Thread(target=p.stderr.read, daemon=True).start()
    return p, port


def wait_ready_after_eof(port, state, timeout=600):
    deadline = time.time() + timeout
    while not os.path.exists(state) and time.time() < deadline:
        time.sleep(0.1)


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def millis(text):
    """wrk's latency (`812.00us`, `1.52ms`, `1.10s`) in ms."""
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60_000.0)):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * scale
    return float(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin", nargs="?", default=".build/release")
    ap.add_argument("--file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--advice-only", action="store_true", help="skip the busy-pipeline pairs")
    a = ap.parse_args()
    wk = os.path.join(a.bin, "windowkeeper")
    # Checked before anything starts: without wrk no windowkeeper is left listening.
    if shutil.which("wrk") is None:
        raise SystemExit("live_bench.py needs wrk (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="wk-live-bench-") as tmp:
        path = a.file
        if not path:
            path = os.path.join(tmp, "stream.ndjson")
            with open(path, "wb") as f:
                subprocess.run([os.path.join(a.bin, "windowkeeper-sim"), "generate", "--seed", "5", "--contacts", "45000",
                                "--days", "3", "--faults", "light", "--era", "mixed"], stdout=f, check=True)
        # A contact that has windows: the first inbound's identity.
        contact = app = None
        with open(path, "rb") as f:
            for line in f:
                try:
                    o = json.loads(line)
                except ValueError:
                    continue
                if "message" in o and o["message"].get("channel_identity", {}).get("channel") == "WHATSAPP":
                    app, contact = o["app_id"], o["message"]["channel_identity"]["identity"].replace(" ", "").lstrip("+")
                    break
        url_path = f"/v1/windows?app_id={app}&contact={contact}"

        # 1. idle
        state = os.path.join(tmp, "s.bin")
        with open(path, "rb") as f:
            p, port = start(wk, ["--clock", "event", "--serve-after-eof", "--state", state, "--shards", "2"], f)
        try:
            wait_ready_after_eof(port, state)
            out = subprocess.run(["wrk", "-t2", "-c32", "-d5s", "--latency", f"http://127.0.0.1:{port}{url_path}"],
                                 capture_output=True, text=True).stdout
            # /v1/advice beside /v1/windows on the same process and contact, at the same time:
            # two wrk clients of 16 connections each run together, so both endpoints meet the
            # same machine (the 2 cores are shared with whatever else runs); repeated `--pairs`
            # times. CPU per query: the process's CPU time over a run of each endpoint alone.
            advice_path = f"/v1/advice?app_id={app}&contact={contact}"
            p99, p50, rate, cpu = ({url_path: [], advice_path: []} for _ in range(4))
            for _ in range(a.pairs):
                runs = {t: subprocess.Popen(["wrk", "-t1", "-c16", "-d3s", "--latency", f"http://127.0.0.1:{port}{t}"],
                                            stdout=subprocess.PIPE, text=True) for t in (url_path, advice_path)}
                for target, run in runs.items():
                    o = run.communicate()[0]
                    q = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", o, re.M))
                    p99[target].append(millis(q["99"]))
                    p50[target].append(millis(q["50"]))
                    rate[target].append(float(re.search(r"Requests/sec:\s+(\S+)", o).group(1)))
                for target in (url_path, advice_path):
                    before = cpu_seconds(p.pid)
                    o = subprocess.run(["wrk", "-t1", "-c16", "-d2s", f"http://127.0.0.1:{port}{target}"], capture_output=True, text=True).stdout
                    requests = int(re.search(r"(\d+) requests in", o).group(1))
                    cpu[target].append((cpu_seconds(p.pid) - before) / max(requests, 1) * 1e6)
        finally:
            p.send_signal(15)
            p.wait()
        lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
        maxl = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1)
        qps = float(re.search(r"Requests/sec:\s+(\S+)", out).group(1))
        print(f"| live query, idle pipeline (wrk, 2 threads, 32 keep-alive connections, 5 s) | p50 {lat.get('50')}, p99 {lat.get('99')}, max {maxl}; {qps:,.0f} queries/s | targets: p99 <= 5 ms, >= 20,000 queries/s |")

        def med(d, k):
            return sorted(d[k])[a.pairs // 2]
        ratios = sorted(x / y for x, y in zip(p99[advice_path], p99[url_path]))
        runs = "; ".join(f"{x:.2f}/{y:.2f}" for x, y in zip(p99[advice_path], p99[url_path]))
        print(f"| /v1/advice beside /v1/windows, idle pipeline (two wrk clients at once, 16 connections each, 3 s, {a.pairs} runs) "
              f"| p99 ratio advice/windows {ratios[a.pairs // 2]:.2f} (median of the runs' ratios; p99 ms advice/windows per run: {runs}); "
              f"p50 {med(p50, advice_path):.2f} / {med(p50, url_path):.2f} ms; {med(rate, advice_path):,.0f} / {med(rate, url_path):,.0f} queries/s; "
              f"windowkeeper CPU per query {med(cpu, advice_path):.1f} / {med(cpu, url_path):.1f} us | target: p99 ratio <= 1.5 |")

        if a.advice_only:
            return

        # 2. busy: pairs of replays through a pipe, with and without --listen + 1,000 q/s
        data = open(path, "rb").read()
        ratios, with_s, without_s, served = [], [], [], []
        for _ in range(a.runs):
            t = time.time()
            q = subprocess.run([wk, "--clock", "event", "--shards", "2"], input=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            base = time.time() - t
            p = subprocess.Popen([wk, "--clock", "event", "--shards", "2", "--listen", "127.0.0.1:0"], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            port = int(re.search(rb'"listening":"127\.0\.0\.1:(\d+)"', p.stderr.readline()).group(1))
            threading.Thread(target=p.stderr.read, daemon=True).start()
            # wrk, 40 keep-alive connections each waiting 30 ms between answers: about 1,000
            # queries/s in all (a query waits behind the batches queued before it, so one
            # connection alone could not ask that often while ingest runs flat out).
            lua = os.path.join(tmp, "pace.lua")
            with open(lua, "w") as f:
                f.write("function delay()\n  return 30\nend\n")
            try:
                load = subprocess.Popen(["wrk", "-t1", "-c40", "-d600s", "-s", lua, f"http://127.0.0.1:{port}/v1/windows?app_id=&contact=46700000001"],
                                        stdout=subprocess.PIPE, text=True)
                time.sleep(0.5)
                t = time.time()
                p.stdin.write(data)
                p.stdin.close()
                p.wait()
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            busy = time.time() - t
            load.send_signal(2)
            report = load.communicate()[0]
            done = re.search(r"(\d+) requests in ([\d.]+)s", report)
            counts = [1] * (int(done.group(1)) if done else 0)
            busy_total = float(done.group(2)) if done else busy + 0.5
            with_s.append(busy)
            without_s.append(base)
            ratios.append(busy / base)
            served.append(len(counts) / busy_total)
        ratios.sort()
        med = ratios[len(ratios) // 2]
        print(f"| ingest through a pipe with --listen and ~{sorted(served)[len(served)//2]:,.0f} queries/s, `--shards 2` | slowdown {100 * (med - 1):+.1f} % [{100 * (ratios[0] - 1):+.1f} … {100 * (ratios[-1] - 1):+.1f} %] (time ratio, {a.runs} pairs) | without --listen: median {sorted(without_s)[len(without_s)//2]:.2f} s; target: <= 10 % |")


if __name__ == "__main__":
    main()
