#!/usr/bin/env python3
"""windowkeeper run as a service is run (issue 29), with real processes, signals and curl.

  python3 Tests/Integration/service.py .build/release

Checks: --version; a --state in a missing directory, a directory as --state, and (run as
another user, when this runs as root and setpriv exists) an unwritable directory all exit 2
at start; a second process on the same --state exits 2 naming the first one's pid; failed
checkpoints are counted, said on standard error and make /readyz 503 until one succeeds;
SIGUSR1 writes a checkpoint and the run goes on; SIGHUP stops like SIGTERM (state written,
exit 0); the newest event time and the event lag in wall mode; every line on standard
error is one JSON object, runtime messages with a time; a POST with a body gets 405.
Servers listen on loopback only; waits are on what the process says, with generous bounds.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

BIN = sys.argv[1] if len(sys.argv) > 1 else ".build/release"
WK = os.path.join(BIN, "windowkeeper")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def wait_until(predicate, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    check(False, f"timed out waiting for {what}")
    return None


def curl(port, target, *extra):
    out = subprocess.run(["curl", "-s", "-m", "10", "-w", "\n%{http_code}", *extra, f"http://127.0.0.1:{port}{target}"],
                         capture_output=True, text=True).stdout
    body, _, code = out.rpartition("\n")
    return int(code or 0), body


def metric(port, name):
    code, body = curl(port, "/metrics")
    m = re.search(rf"^windowkeeper_{name} (\S+)$", body, re.M) if code == 200 else None
    return float(m.group(1)) if m else None


class Service:
    """windowkeeper with its standard input open (a consumer's pipe), standard error collected."""

    def __init__(self, args, wrap=()):
        self.proc = subprocess.Popen([*wrap, WK, *args], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stderr:
            with self.lock:
                self.lines.append(raw.decode().rstrip("\n"))

    def said(self, key):
        """The first JSON line on standard error whose first key is `key`."""
        with self.lock:
            for line in self.lines:
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict) and obj and next(iter(obj)) == key:
                    return obj
        return None

    def wait_said(self, key, timeout=60.0):
        return wait_until(lambda: self.said(key), f'a {{"{key}":…}} line', timeout)

    def feed(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def stop(self, sig, timeout=60.0):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            check(False, f"exit after signal {sig}")
            return None


def quick(args, **kw):
    return subprocess.run([WK, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, **kw)


def json_lines(text, what):
    """Every line is one JSON object; runtime messages (not diagnostics, not the summary) carry a time."""
    ok = True
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            ok = False
            print(f"     not JSON: {line!r}")
            continue
        key = next(iter(obj), None)
        if key not in ("summary", "diagnostic", "diagnostics_suppressed", "hint") and not re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(obj.get("time", ""))):
            ok = False
            print(f"     no time: {line!r}")
    check(ok, f"{what}: every line on standard error is a JSON object, runtime messages with a time")


def record(event_time):
    """The sample's first callback (an inbound message) at another event time."""
    with open(os.path.join(ROOT, "examples", "sample.ndjson")) as f:
        obj = json.loads(f.readline())
    stamp = event_time.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    obj["event_time"] = obj["accepted_time"] = obj["message"]["accept_time"] = stamp
    return json.dumps(obj, separators=(",", ":"))


def main():
    tmp = tempfile.mkdtemp(prefix="wk-service-")
    try:
        # --version, for the three programs.
        for name in ("windowkeeper", "windowkeeper-sim", "windowkeeper-bench"):
            path = os.path.join(BIN, name)
            if os.path.exists(path):
                out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
                check(out.returncode == 0 and re.fullmatch(rf"{name} \d+\.\d+\.\d+\n", out.stdout) is not None,
                      f"{name} --version: {out.stdout.strip()!r}")

        # The README's live example, with the bundled data: two windows open for 46732001122.
        with open(os.path.join(ROOT, "examples", "sample.ndjson"), "rb") as f:
            first5 = b"".join(f.readlines()[:5])
        r = subprocess.Popen([WK, "--clock", "event", "--serve-after-eof", "--listen", "127.0.0.1:0"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            r.stdin.write(first5)
            r.stdin.close()
            listen = json.loads(r.stderr.readline())
            rport = int(listen["listening"].rsplit(":", 1)[1])
            app = "01EB37HMH1M6SV18BSNS3G135H"
            code, body = curl(rport, f"/v1/windows?app_id={app}&contact=%2B46%2073%20200%2011%2022")
            ok = code == 200 and json.loads(body)["open"] and len(json.loads(body)["windows"]) == 2
            code, body = curl(rport, f"/v1/windows?app_id={app}&contact=46732001122&window=conversation&category=SERVICE")
            ok = ok and code == 200 and json.loads(body)["windows"][0]["category"] == "SERVICE"
            check(ok, "the README's live example answers with the bundled data")
        finally:
            r.send_signal(signal.SIGTERM)
            check(r.wait(60) == 0, "the README's live example stops with exit 0 on SIGTERM")

        # The state's directory is checked at start.
        missing = quick(["--state", os.path.join(tmp, "nowhere", "s.state")])
        check(missing.returncode == 2 and "does not exist" in missing.stderr, f"--state in a missing directory: exit 2 ({missing.returncode})")
        json_lines(missing.stderr, "--state in a missing directory")
        as_dir = quick(["--state", tmp])
        check(as_dir.returncode == 2 and "is a directory" in as_dir.stderr, f"a directory as --state: exit 2 ({as_dir.returncode})")
        locked_dir = os.path.join(tmp, "readonly")
        os.makedirs(locked_dir)
        os.chmod(locked_dir, 0o555)
        os.chmod(tmp, 0o755)
        wrap = []
        if os.geteuid() == 0:
            wrap = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if shutil.which("setpriv") else None
        if wrap is None:
            print("skip an unwritable directory: running as root without setpriv")
        else:
            run = subprocess.run([*wrap, WK, "--state", os.path.join(locked_dir, "s.state")], stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=60)
            if "Permission denied" in run.stderr and "windowkeeper" not in run.stderr:
                print("skip an unwritable directory: the other user cannot run the binary here")
            else:
                check(run.returncode == 2 and "not writable" in run.stderr, f"an unwritable state directory: exit 2 ({run.returncode}: {run.stderr.strip()})")

        # A service: wall clock, frequent checkpoints, --listen on loopback.
        state_dir = os.path.join(tmp, "state")
        os.makedirs(state_dir)
        state = os.path.join(state_dir, "windowkeeper.state")
        a = Service(["--state", state, "--checkpoint-every", "200ms", "--listen", "127.0.0.1:0"])
        listening = a.wait_said("listening")
        port = int(listening["listening"].rsplit(":", 1)[1]) if listening else 0
        started = a.wait_said("start")
        check(started is not None and started.get("pid") == a.proc.pid, "the start line names the pid")
        wait_until(lambda: curl(port, "/readyz")[0] == 200, "/readyz 200")

        # A second process on the same file stops at start, naming the holder.
        second = quick(["--state", state])
        check(second.returncode == 2 and f"pid {a.proc.pid}" in second.stderr,
              f"a second process on the same --state: exit 2 naming pid {a.proc.pid} ({second.returncode}: {second.stderr.strip()})")

        # A backlogged feed: a record two hours old shows as two hours of event lag.
        a.feed(record(datetime.now(timezone.utc) - timedelta(hours=2)))
        newest = wait_until(lambda: metric(port, "newest_event_timestamp_seconds"), "the newest event time")
        lag = metric(port, "event_lag_seconds") or 0
        check(newest is not None and 7_100 < lag < 7_400, f"wall mode: event lag of a 2-hour-old record is {lag}")

        # Checkpoints that fail: counted, said, /readyz 503; until one succeeds again.
        wait_until(lambda: (metric(port, "last_checkpoint_success_timestamp_seconds") or 0) > 0, "a first checkpoint")
        shutil.rmtree(state_dir)
        wait_until(lambda: curl(port, "/readyz")[0] == 503, "/readyz 503 after a failed checkpoint")
        code, body = curl(port, "/readyz")
        check(code == 503 and "checkpoint_failing" in body, f"/readyz while checkpoints fail: {code} {body.strip()}")
        check((metric(port, "checkpoint_failures_total") or 0) >= 1, "windowkeeper_checkpoint_failures_total counts the failure")
        failed = a.wait_said("checkpoint_failed")
        check(failed is not None and "time" in failed, f"the failure is said: {failed}")
        success = metric(port, "last_checkpoint_success_timestamp_seconds")
        wait_until(lambda: (metric(port, "checkpoint_failures_total") or 0) >= 3, "more failures")
        check(metric(port, "last_checkpoint_success_timestamp_seconds") == success,
              "the success time stays while checkpoints fail")
        check(a.proc.poll() is None, "a failed checkpoint does not end the run")
        os.makedirs(state_dir)
        wait_until(lambda: curl(port, "/readyz")[0] == 200, "/readyz 200 once a checkpoint succeeds again")
        check((metric(port, "last_checkpoint_success_timestamp_seconds") or 0) > success, "a newer success time")
        check(a.said("checkpoint_recovered") is not None, "the recovery is said")

        # A body on a method that is not allowed: 405 (SPEC section 10).
        code, _ = curl(port, "/v1/windows", "-X", "POST", "-d", "{}")
        check(code == 405, f"POST with a body: {code}")

        # SIGHUP stops like SIGTERM: the state written, exit 0.
        status = a.stop(signal.SIGHUP)
        check(status == 0, f"SIGHUP: exit {status}")
        summary = a.wait_said("summary")
        checkpoints = (summary or {}).get("summary", {}).get("checkpoints", {})
        check(checkpoints.get("taken", 0) >= 2 and checkpoints.get("failed", 0) >= 1, f"the summary separates taken from failed: {checkpoints}")
        stop = a.said("stop")
        check(stop is not None and stop.get("exit_status") == 0 and "time" in stop, f"the stop line: {stop}")
        info = subprocess.run([WK, "status", "--state", state, "--info"], capture_output=True, text=True, timeout=60)
        check(info.returncode == 0 and json.loads(info.stdout or "{}").get("newest_event_time") not in (None, ""),
              f"status --info of a wall-mode file gives the newest event time: {info.stdout.strip()[:200]}")
        json_lines("\n".join(a.lines), "a service's run")

        # SIGUSR1: a checkpoint now (none is periodic here), and the run goes on; then SIGHUP.
        os.remove(state)
        b = Service(["--state", state, "--checkpoint-every", "0", "--listen", "127.0.0.1:0"])
        port = int(b.wait_said("listening")["listening"].rsplit(":", 1)[1])
        b.wait_said("start")
        b.feed(record(datetime.now(timezone.utc) - timedelta(minutes=5)))
        wait_until(lambda: (metric(port, "newest_event_timestamp_seconds") or 0) > 0, "the record read")
        check(not os.path.exists(state), "no state file before SIGUSR1")
        b.proc.send_signal(signal.SIGUSR1)
        wait_until(lambda: os.path.exists(state) and metric(port, "checkpoints_total") == 1, "the SIGUSR1 checkpoint")
        check(b.proc.poll() is None, "SIGUSR1: the run goes on")
        check(curl(port, "/readyz")[0] == 200, "SIGUSR1: still ready")
        status = b.stop(signal.SIGHUP)
        check(status == 0, f"SIGHUP after SIGUSR1: exit {status}")
        json_lines("\n".join(b.lines), "a SIGUSR1 run")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        raise SystemExit(f"{len(failures)} check(s) failed")
    print("service checks passed")


if __name__ == "__main__":
    main()
