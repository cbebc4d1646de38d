#!/usr/bin/env python3
"""windowkeeper behind a real queue: NATS JetStream, kill -9, restart from the saved positions.

A heavy-fault simulator stream is published over 4 partitions (examples/nats/producer.py),
two instances each own two of them (subjects callbacks.<instance>.*, read in the stream's
order by examples/nats/consumer.py) with their own --state and --checkpoint-every 200ms.
Each instance is killed with SIGKILL three times, each time after a random number of
lines, a checkpoint taken after them and a random number of further lines, and restarted from its positions; the NATS server is
killed and restarted once mid-run. Nothing waits on the clock: the test moves on when a
process says or does something (the server's "Server is ready", a state file renamed into
place, a count of lines relayed). At the end each
instance's output (all runs, repeats dropped by id) must equal, per contact, one
uninterrupted run over exactly that instance's lines in stream order. Then two replicas are
fed the same partitions, one killed for good halfway: the merged feed, repeats dropped,
must equal the uninterrupted run.

    python3 Tests/Integration/nats_queue.py .build/release
"""
import ctypes
import json
import os
import select
import struct
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from nats_server import start_nats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples", "nats")
FLAGS = ["--clock", "event", "--lateness", "15m", "--warn", "2h,15m"]
SEED = int(os.environ.get("NATS_TEST_SEED", "7"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmp: str):
        self.port = free_port()
        self.store = os.path.join(tmp, "jetstream")
        self.url = f"nats://127.0.0.1:{self.port}"
        self.log = open(os.path.join(tmp, "nats-server.log"), "ab")
        self.proc = None

    def start(self):
        """Starts the server and returns once it logs that it is ready."""
        self.proc = start_nats(["-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", self.store], self.log, 20, "nats-server")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def events_of(path: str) -> list:
    """Complete event lines of a run's output (a SIGKILL can cut the last one short)."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
    return [l for l in data.decode().split("\n") if l]


def per_contact(lines) -> dict:
    out = {}
    for l in lines:
        e = json.loads(l)
        out.setdefault((e.get("app_id", ""), e.get("contact", "")), []).append(l)
    return out


def merged(runs) -> list:
    """All runs' events in order, each id once."""
    seen, out = set(), []
    for run in runs:
        for l in run:
            i = json.loads(l)["id"]
            if i not in seen:
                seen.add(i)
                out.append(l)
    return out


def compare(name: str, got: list, want: list) -> tuple:
    g, w = per_contact(got), per_contact(want)
    got_ids = {json.loads(l)["id"] for l in got}
    want_ids = {json.loads(l)["id"] for l in want}
    lost, extra = len(want_ids - got_ids), len(got_ids - want_ids)
    differ = [k for k in set(g) | set(w) if g.get(k) != w.get(k)]
    print(f"{name}: {len(want)} events expected, {lost} lost, {extra} extra, {len(differ)} contacts differ")
    return lost, extra, len(differ)


class Renames:
    """Counts files renamed into a directory (inotify IN_MOVED_TO): a state file written in
    place is a checkpoint taken."""

    IN_MOVED_TO = 0x80

    def __init__(self, directory: str):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_CLOEXEC)
        if self.fd < 0 or self.libc.inotify_add_watch(self.fd, directory.encode(), self.IN_MOVED_TO) < 0:
            raise SystemExit(f"inotify: errno {ctypes.get_errno()}")
        self.counts = {}
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            data = os.read(self.fd, 1 << 16)
            at = 0
            with self.changed:
                while at + 16 <= len(data):
                    _, _, _, length = struct.unpack_from("iIII", data, at)
                    name = data[at + 16: at + 16 + length].rstrip(b"\0").decode()
                    self.counts[name] = self.counts.get(name, 0) + 1
                    at += 16 + length
                self.changed.notify_all()

    def count(self, name: str) -> int:
        with self.changed:
            return self.counts.get(name, 0)

    def wait_beyond(self, name: str, seen: int, timeout: float, stop=lambda: False) -> bool:
        """Waits until `name` was renamed into place more than `seen` times (or `stop()`)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.counts.get(name, 0) > seen or stop(), timeout)


class Run:
    """One `consumer.py | windowkeeper --positions --state …` pipeline, with the lines between counted."""

    def __init__(self, bin_dir, server, instance, state, out_path, tmp):
        self.fed = threading.Condition()  # notified as lines are relayed, and at the end
        self.ended = False
        self.wk = subprocess.Popen([os.path.join(bin_dir, "windowkeeper"), *FLAGS, "--positions", "--state", state,
                                    "--checkpoint-every", "200ms", "--shards", "2"],
                                   stdin=subprocess.PIPE, stdout=open(out_path, "wb"),
                                   stderr=open(os.path.join(tmp, f"wk-{instance}.err"), "ab"))
        self.consumer = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "consumer.py"), "--server", server.url,
                                          "--instance", str(instance), "--state", state, "--exit-when-idle", "3",
                                          "--windowkeeper", os.path.join(bin_dir, "windowkeeper")],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = 0
        self.resume_after = None
        self.relay = threading.Thread(target=self._relay, daemon=True)
        self.relay.start()

    def _relay(self):
        first = self.consumer.stderr.readline()
        try:
            self.resume_after = json.loads(first)["resume_after"]
        except ValueError:
            self.resume_after = -1
        try:
            for chunk in iter(lambda: self.consumer.stdout.read1(1 << 16), b""):
                self.wk.stdin.write(chunk)
                with self.fed:
                    self.lines += chunk.count(b"\n")
                    self.fed.notify_all()
            self.wk.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass
        with self.fed:
            self.ended = True
            self.fed.notify_all()

    def wait_lines(self, n: int, timeout: float) -> bool:
        """Waits until `n` lines were relayed; false if the run's input ended first."""
        with self.fed:
            self.fed.wait_for(lambda: self.lines >= n or self.ended, timeout)
            return self.lines >= n

    def kill(self):
        for p in (self.wk, self.consumer):
            if p.poll() is None:
                p.kill()
            p.wait()
        self.relay.join(5)

    def wait(self, timeout):
        self.relay.join(timeout)
        code = self.wk.wait(timeout)
        self.consumer.wait(timeout)
        return code


def main() -> int:
    bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release"))
    wk = os.path.join(bin_dir, "windowkeeper")
    rng = random.Random(SEED)
    tmp = tempfile.mkdtemp(prefix="wk-nats-")
    server = Server(tmp)
    failures = 0
    try:
        server.start()
        stream = os.path.join(tmp, "stream.ndjson")
        with open(stream, "wb") as f:
            subprocess.run([os.path.join(bin_dir, "windowkeeper-sim"), "generate", "--seed", str(SEED), "--contacts", "900",
                            "--days", "6", "--faults", "heavy", "--era", "mixed", "--lateness", "15m", "--warn", "2h,15m"],
                           stdout=f, check=True)
        started = time.time()
        with open(stream, "rb") as f:
            produced = subprocess.run([sys.executable, os.path.join(EXAMPLES, "producer.py"), "--server", server.url,
                                       "--partitions", "4", "--instances", "2", "--windowkeeper", wk,
                                       "--rejects", os.path.join(tmp, "too-large.ndjson")],
                                      stdin=f, capture_output=True, check=True)
        publish_s = time.time() - started
        report = json.loads(produced.stderr.decode().strip().splitlines()[-1])
        assert report["stream_messages"] == report["published"], report

        # Each instance's lines in stream order: what one uninterrupted run must be fed.
        with open(stream, "rb") as f:
            keyed = subprocess.run([wk, "key", "--partitions", "4"], stdin=f, capture_output=True, check=True).stdout
        lines = {0: [], 1: []}
        for row in keyed.split(b"\n")[:-1]:
            p, _, line = row.partition(b"\t")
            if len(line) <= 1024 * 1024:  # larger ones were not published (server's max_payload)
                lines[int(p) % 2].append(line)
        reference = {}
        for i in (0, 1):
            ref = subprocess.run([wk, *FLAGS], input=b"\n".join(lines[i]) + b"\n", capture_output=True, check=True)
            reference[i] = [l for l in ref.stdout.decode().split("\n") if l]
        print(f"stream: {sum(len(v) for v in lines.values())} lines over 4 partitions, published in {publish_s:.2f} s "
              f"({report['published'] / publish_s:.0f} records/s into the broker); instance lines {len(lines[0])} / {len(lines[1])}")

        # Both instances at once, each killed three times (after a random number of lines, a
        # checkpoint after them and a random number of further lines); the server killed
        # once meanwhile.
        results = {}
        renames = Renames(tmp)
        broker_due = threading.Event()  # instance 0's first run has checkpointed

        def instance(i):
            state_name = f"state-{i}.bin"
            state = os.path.join(tmp, state_name)
            outputs, resumes, fed, kills = [], [], [], 0
            consumed_started = time.time()
            for k in range(4):
                out = os.path.join(tmp, f"events-{i}-{k}.ndjson")
                run = Run(bin_dir, server, i, state, out, tmp)
                if k < 3:
                    # Some lines in, a checkpoint taken after them, then more lines.
                    run.wait_lines(rng.randint(200, 3000), 120)
                    renames.wait_beyond(state_name, renames.count(state_name), 120)
                    if i == 0 and k == 0:
                        broker_due.set()
                    run.wait_lines(run.lines + rng.randint(0, 2000), 120)
                    if run.wk.poll() is None:
                        kills += 1
                    run.kill()
                else:
                    code = run.wait(300)
                    assert code == 0, f"instance {i}: last run exited {code}"
                outputs.append(events_of(out))
                resumes.append(run.resume_after)
                fed.append(run.lines)
            results[i] = dict(outputs=outputs, resumes=resumes, fed=fed, kills=kills, seconds=time.time() - consumed_started)

        threads = [threading.Thread(target=instance, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        broker_due.wait(300)
        server.kill()
        server.start()
        print("nats-server killed with SIGKILL and restarted from its store")
        for t in threads:
            t.join(600)

        total_fed = resumed = 0
        for i in (0, 1):
            r = results[i]
            total_fed += sum(r["fed"])
            # Lines fed again: each run's lines minus the new ones it added past what the state held.
            seqs_in_instance = len(lines[i])
            print(f"instance {i}: {r['kills']} kills survived, resumed after stream sequences {r['resumes']}, "
                  f"lines fed per run {r['fed']} (instance has {seqs_in_instance}), {r['seconds']:.1f} s")
            resumed += sum(1 for x in r["resumes"][1:] if x > 0)
            lost, extra, differ = compare(f"instance {i}, all runs merged by id", merged(r["outputs"]), reference[i])
            failures += (lost + extra + differ) > 0
        # Every kill came after a checkpoint that followed some of the run's lines, so every
        # restart resumes after a saved position.
        check_resumed = resumed == 6
        print(f"{'ok' if check_resumed else 'FAIL'}: {resumed} of 6 restarts resumed after a saved position")
        failures += not check_resumed
        reread = total_fed - len(lines[0]) - len(lines[1])
        print(f"lines re-read after restarts: {reread} of {total_fed} fed ({len(lines[0]) + len(lines[1])} in the stream)")

        # Replicas: both fed instance 0's partitions; replica b dies for good halfway.
        outs = {}
        for name in ("a", "b"):
            outs[name] = os.path.join(tmp, f"replica-{name}.ndjson")
        ra = Run(bin_dir, server, 0, os.path.join(tmp, "replica-a.bin"), outs["a"], tmp)
        rb = Run(bin_dir, server, 0, os.path.join(tmp, "replica-b.bin"), outs["b"], tmp)
        check_reached = rb.wait_lines(len(lines[0]) // 2, 300)  # halfway through its lines
        rb.kill()
        assert ra.wait(300) == 0
        b_events = events_of(outs["b"])
        print(f"replica b killed for good after {len(b_events)} events (halfway: {check_reached})")
        lost, extra, differ = compare("replicas a+b merged by id", merged([events_of(outs["b"]), events_of(outs["a"])]),
                                      reference[0])
        failures += (lost + extra + differ) > 0
        if not b_events:
            print("FAIL replicas: replica b emitted nothing before it was killed")
            failures += 1
    finally:
        server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"nats queue test: {'passed' if failures == 0 else f'{failures} failure(s)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
