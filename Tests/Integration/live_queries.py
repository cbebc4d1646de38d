#!/usr/bin/env python3
"""windowkeeper --listen end to end, with curl as the client and promtool checking /metrics.

1. Wall mode, input pipe held open: a contact message stamped now; as soon as window_opened
   is on standard output the query says open with that expires_at, and once window_expired
   is, it says closed.
2. Event mode with --serve-after-eof: the bundled sample; answers, /metrics passes
   `promtool check metrics` and its counters equal the closing summary.
3. Hostile clients while a stream is replayed in 300 chunks (random bytes, a 1 MiB header,
   300 connections at once, a request line sent one byte per chunk and never finished, a
   client that never reads): the event output is byte-identical to a run without --listen,
   a well-behaved client asking after every chunk is answered all along, memory stays
   bounded. Nothing waits on the clock: each step follows the one before it.

    python3 Tests/Integration/live_queries.py .build/release
"""
import datetime
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def curl(port, target, *extra):
    out = subprocess.run(["curl", "-s", "-m", "10", "-w", "\n%{http_code}", *extra, f"http://127.0.0.1:{port}{target}"],
                         capture_output=True, text=True).stdout
    body, _, code = out.rpartition("\n")
    return int(code or 0), body


def start(wk, args, rss=None, **kw):
    # Peak RSS through /usr/bin/time: a child forked from this (large) Python process would
    # count the parent's pages until it execs.
    timed = ["/usr/bin/time", "-f", "%M", "-o", rss] if rss else []
    p = subprocess.Popen([*timed, wk, *args, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    line = p.stderr.readline().decode()
    m = re.match(r'\{"listening":"127\.0\.0\.1:(\d+)","time":"[0-9T:.Z-]+"\}$', line)
    if not m:
        raise SystemExit(f"no listening line: {line!r}")
    errors = []
    serving = threading.Event()

    def read_errors():
        for raw in p.stderr:
            errors.append(raw.decode().rstrip("\n"))
            if errors[-1].startswith('{"end_of_input"'):
                serving.set()

    reader = threading.Thread(target=read_errors, daemon=True)
    reader.start()
    p.serving, p.errors_reader = serving, reader
    return p, int(m.group(1)), errors


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def wall_mode(wk):
    p, port, _ = start(wk, ["--csw", "3s", "--warn", "1s", "--conversation", "1h", "--fep", "1h"], stdin=subprocess.PIPE)
    now = int(time.time() * 1000)
    line = {"app_id": "APP", "event_time": iso(now),
            "message": {"channel_identity": {"channel": "WHATSAPP", "identity": "+46 73 200 11 22"}, "contact_id": "C1"}}
    p.stdin.write((json.dumps(line) + "\n").encode())
    p.stdin.flush()
    target = "/v1/windows?app_id=APP&contact=%2B46%2073%20200%2011%2022"
    opened = json.loads(p.stdout.readline())
    check(opened["event"] == "window_opened", "wall mode: window_opened written")
    code, body = curl(port, target)
    answer = json.loads(body)
    check(code == 200 and answer["open"] and answer["windows"][0]["expires_at"] == opened["expires_at"],
          f"wall mode: open with expires_at {opened['expires_at']} as soon as window_opened is out: {body}")
    check(answer["contact"] == "46732001122", "wall mode: contact normalised from %2B46%2073%20200%2011%2022")
    while True:
        event = json.loads(p.stdout.readline())
        if event["event"] == "window_expired":
            break
    code, body = curl(port, target)
    check(code == 200 and json.loads(body)["open"] is False, f"wall mode: closed once window_expired is out: {body}")
    p.stdin.close()
    check(p.wait(20) == 0, "wall mode: exit 0 at end of input")


def event_mode(wk, tmp):
    state = os.path.join(tmp, "sample.state")
    with open(os.path.join(ROOT, "examples", "sample.ndjson"), "rb") as f:
        p, port, errors = start(wk, ["--clock", "event", "--serve-after-eof", "--state", state], stdin=f)
        events = []
        reader = threading.Thread(target=lambda: events.extend(p.stdout.read().decode().splitlines()), daemon=True)
        reader.start()
        # windowkeeper says when it has fired, written the state and serves on.
        check(p.serving.wait(60) and os.path.exists(state), "event mode: --serve-after-eof wrote the state at end of input")
        code, body = curl(port, "/v1/windows?app_id=01EB37HMH1M6SV18BSNS3G135H&contact=%2B55%2011%2098888%207777&window=free_entry_point")
        answer = json.loads(body)
        check(code == 200 and answer["open"] and answer["windows"][0]["expires_at"] == "2024-05-23T14:00:00.250Z"
              and answer["as_of"] == "2024-05-21T09:30:59.000Z", f"event mode: free entry point open at C: {body}")
        code, body = curl(port, "/v1/windows?app_id=01EB37HMH1M6SV18BSNS3G135H&contact=46732001122")
        check(code == 200 and json.loads(body)["open"] is False, "event mode: an expired window is not listed")
        check(curl(port, "/readyz")[0] == 200 and curl(port, "/healthz")[0] == 200, "event mode: /readyz and /healthz 200")
        code, metrics = curl(port, "/metrics")
        path = os.path.join(tmp, "metrics.txt")
        with open(path, "w") as m:
            m.write(metrics)
        prom = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True)
        check(code == 200 and prom.returncode == 0, f"event mode: promtool check metrics: {prom.stdout.strip()} {prom.stderr.strip()}")
        check(not re.search(r"01EB37HMH1M6SV18BSNS3G135H|46732001122", metrics), "event mode: no app id or contact in /metrics")
        p.send_signal(15)
        check(p.wait(20) == 0, "event mode: exit 0 on SIGTERM after --serve-after-eof")
        reader.join(5)
    p.errors_reader.join(20)
    summary = json.loads([l for l in errors if l.startswith('{"summary"')][-1])["summary"]
    values = {}
    for line in metrics.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    same = [
        (values["windowkeeper_lines_total"], summary["lines"]),
        (values['windowkeeper_records_total{kind="inbound"}'], summary["records"]["inbound"]),
        (values['windowkeeper_records_total{kind="other_channel"}'], summary["records"]["other_channel"]),
        (values["windowkeeper_contacts"], summary["contacts"]),
        (values["windowkeeper_remembered_windows"], summary["remembered_windows"]),
    ]
    same += [(values[f'windowkeeper_events_total{{event="{k}"}}'], v) for k, v in summary["events"].items()]
    same += [(values[f'windowkeeper_diagnostics_total{{code="{k}"}}'], v) for k, v in summary["diagnostics"].items()]
    same += [(values[f'windowkeeper_open_windows{{window="{k}"}}'], v) for k, v in summary["open_windows"].items()]
    same += [(values[f'windowkeeper_receipts_total{{status="{k}"}}'], v) for k, v in summary["records"]["receipts"].items()]
    check(all(a == b for a, b in same), f"event mode: /metrics counters equal the summary ({len(same)} values)")
    check(len(events) == 5, f"event mode: the sample's 5 events ({len(events)})")


def hostile(wk, sim, tmp):
    stream = os.path.join(tmp, "stream.ndjson")
    with open(stream, "wb") as f:
        subprocess.run([sim, "generate", "--seed", "21", "--contacts", "3000", "--days", "8", "--faults", "heavy"], stdout=f, check=True)
    flags = ["--clock", "event", "--shards", "1"]
    ref_rss, rss = os.path.join(tmp, "ref.rss"), os.path.join(tmp, "listen.rss")
    with open(stream, "rb") as f:
        ref = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", ref_rss, wk, *flags], stdin=f, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        reference = ref.stdout.read()
        ref.wait()
    data = open(stream, "rb").read()
    p, port, _ = start(wk, flags, rss=rss, stdin=subprocess.PIPE)
    out = []
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()), daemon=True)
    reader.start()
    stop = threading.Event()  # the replay is over: hostile clients let go
    answered = []
    chunk = max(1, len(data) // 300)
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    started = time.time()

    # The well-behaved client: one keep-alive connection, opened before the others, asking
    # once after every chunk of the replay is written (so its questions and the hostile
    # clients' traffic fall among the batches of a replay in progress).
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def ask():
        try:
            conn.request("GET", "/v1/windows?app_id=&contact=1")
            r = conn.getresponse()
            r.read()
            answered.append(r.status)
        except (OSError, http.client.HTTPException):
            answered.append(-1)  # refused or dropped while the replay was still going

    # A client sending one byte of its request line per chunk, never finishing it.
    slow_line = b"GET /healthz HTTP/1.1\r\n"
    slow = None

    def random_bytes(engaged):
        rng = random.Random(5)
        for _ in range(50):
            with socket.create_connection(("127.0.0.1", port)) as s:
                try:
                    s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4000))))
                except OSError:  # the server answered 400 and closed while we still sent
                    pass
        engaged.set()

    def huge_header(engaged):
        with socket.create_connection(("127.0.0.1", port)) as s:
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + b"a" * (1 << 20) + b"\r\n\r\n")
            except OSError:
                pass
            answered.append(("431", s.recv(100)[:12]))
        engaged.set()

    def many(engaged):
        socks = []
        for _ in range(300):
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            except OSError:
                pass
        engaged.set()
        stop.wait()  # held open until the replay is over
        for s in socks:
            s.close()
        answered.append(("many", len(socks)))

    def never_reads(engaged):
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            try:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                engaged.set()
                for _ in range(2000):
                    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            except OSError:
                pass
            engaged.set()
            stop.wait()  # never reads, until the replay is over

    ask()  # its connection is up before the others arrive
    for k, piece in enumerate(chunks):
        if k == len(chunks) // 3:
            # A third of the way in, the hostile clients arrive; the replay goes on once each
            # has done its part (or holds its connection).
            slow = socket.create_connection(("127.0.0.1", port))
            hostile_threads = []
            for target in (random_bytes, huge_header, many, never_reads):
                engaged = threading.Event()
                hostile_threads.append((threading.Thread(target=target, args=(engaged,), daemon=True), engaged))
            for t, _ in hostile_threads:
                t.start()
            for _, engaged in hostile_threads:
                engaged.wait(60)
        p.stdin.write(piece)
        p.stdin.flush()
        if slow is not None and k - len(chunks) // 3 < len(slow_line):
            at = k - len(chunks) // 3
            try:
                slow.send(slow_line[at:at + 1])
            except OSError:
                pass
        ask()
    p.stdin.close()
    reader.join(120)
    stop.set()
    code = p.wait(60)
    conn.close()
    if slow is not None:
        slow.close()
    check(code == 0, f"hostile: exit 0 ({time.time() - started:.1f} s of replay)")
    check(bool(out) and out[0] == reference, f"hostile: event output byte-identical to a run without --listen ({len(reference)} bytes)")
    codes = [a for a in answered if isinstance(a, int)]
    check(len(codes) > 20 and all(c == 200 for c in codes), f"hostile: the well-behaved client got {len(codes)} answers, all 200")
    check(("431", b"HTTP/1.1 431") in answered, "hostile: a 1 MiB header gets 431")
    peak, ref_peak = int(open(rss).read().split()[-1]), int(open(ref_rss).read().split()[-1])
    check(peak < ref_peak + 32 * 1024, f"hostile: peak RSS {peak // 1024} MiB, without --listen (from a file) {ref_peak // 1024} MiB")


def main():
    bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release"))
    wk, sim = os.path.join(bin_dir, "windowkeeper"), os.path.join(bin_dir, "windowkeeper-sim")
    with tempfile.TemporaryDirectory(prefix="wk-live-") as tmp:
        wall_mode(wk)
        event_mode(wk, tmp)
        hostile(wk, sim, tmp)
    print(f"live queries test: {len(failures)} failed" if failures else "live queries test: passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
