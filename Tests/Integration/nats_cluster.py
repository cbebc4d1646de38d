#!/usr/bin/env python3
"""windowkeeper behind a 3-node NATS JetStream cluster: nothing lost, nothing stored twice.

Three nats-server nodes on loopback (cluster routes, JetStream, a store directory each), a
stream with 3 replicas made by examples/nats/producer.py, 4 partitions, 2 windowkeeper
instances each fed by examples/nats/consumer.py with every node's URL. The producer is fed
the input at a steady rate and the instances read slower than that (a relay in this test
paces them), so each has a backlog in the stream when things break. Meanwhile:

  - the node leading the stream is killed (SIGKILL) and restarted from its store;
  - each windowkeeper is killed (SIGKILL) twice at random moments and restarted, resuming
    after its saved positions; its consumer must notice and end by itself;
  - one consumer is killed alone (its windowkeeper sees the end of its input and exits);
  - the producer is killed once (SIGKILL) and restarted from the start of its input.

Checks: the producer's last run exits 0 and its count is the stream's; the stream holds the
input exactly (every line once, in input order, none twice); each instance's output (all
runs, repeats dropped by id) equals one uninterrupted run over exactly its lines in stream
order (0 lost, 0 extra, every contact's events identical); the longest pause in feeding an
instance after the node kill stays under 5 s. Then the unpaced rates: the input published
to a fresh 3-replica stream, and one instance's lines read back.

    python3 Tests/Integration/nats_cluster.py .build/release
"""
import asyncio
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nats_queue import compare, events_of, free_port, merged  # noqa: E402

from nats_server import start_nats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples", "nats")
FLAGS = ["--clock", "event", "--lateness", "15m", "--warn", "2h,15m"]
SEED = int(os.environ.get("NATS_CLUSTER_SEED", "11"))
CONTACTS = int(os.environ.get("NATS_CLUSTER_CONTACTS", "2000"))
PRODUCE_RATE = 6000  # input lines/s handed to the producer
READ_RATE = 2000  # lines/s each instance takes in (slower than the producer: a backlog builds)
PARTITIONS, INSTANCES = 4, 2
MAX_PAUSE = 5.0

T0 = time.monotonic()


def log(msg: str):
    print(f"[{time.monotonic() - T0:6.1f} s] {msg}", flush=True)


class Node:
    def __init__(self, tmp, name, port, cluster_port, cluster_ports):
        self.name, self.port = name, port
        self.url = f"nats://127.0.0.1:{port}"
        self.conf = os.path.join(tmp, f"{name}.conf")
        routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in cluster_ports)
        with open(self.conf, "w") as f:
            f.write(f"server_name: {name}\nlisten: 127.0.0.1:{port}\n"
                    f"jetstream {{ store_dir: \"{os.path.join(tmp, name)}\", max_memory_store: 256MB, "
                    f"max_file_store: 4GB }}\n"
                    f"cluster {{ name: wk, listen: 127.0.0.1:{cluster_port}, routes: [{routes}] }}\n")
        self.log = open(os.path.join(tmp, f"{name}.log"), "ab")
        self.proc = None

    def start(self):
        """Starts the node and returns once it logs that it is ready."""
        self.proc = start_nats(["-c", self.conf], self.log, 30, f"nats-server {self.name}")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


async def _stream_leader(urls, stream):
    import nats
    nc = await nats.connect(servers=urls, connect_timeout=1, max_reconnect_attempts=3)
    try:
        js = nc.jetstream(timeout=2)
        for _ in range(60):
            try:
                return (await js.stream_info(stream)).cluster.leader
            except Exception:
                await asyncio.sleep(0.25)
    finally:
        await nc.close()


async def _read_stream(urls, stream):
    """Every message of the stream in sequence order: (seq, subject, msg id, payload)."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    nc = await nats.connect(servers=urls, connect_timeout=1)
    try:
        js = nc.jetstream(timeout=5)
        last = (await js.stream_info(stream)).state.last_seq
        sub = await js.pull_subscribe(">", stream=stream, config=ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=30))
        out = []
        while not out or out[-1][0] < last:
            for m in await sub.fetch(batch=2000, timeout=5):
                out.append((m.metadata.sequence.stream, m.subject, (m.headers or {}).get("Nats-Msg-Id"), m.data))
        return out
    finally:
        await nc.close()


class Producer:
    """examples/nats/producer.py fed the input at PRODUCE_RATE; a restart feeds it again from
    the first line (fast up to where the last run had got, paced after)."""

    def __init__(self, tmp, urls, wk, lines):
        self.tmp, self.urls, self.wk, self.lines = tmp, urls, wk, lines
        self.runs = 0
        self.handed = 0  # lines handed to the current run
        self.proc = None
        self.started = None

    def start(self, fast_until=0):
        self.runs += 1
        self.err = os.path.join(self.tmp, f"producer-{self.runs}.err")
        self.proc = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "producer.py"), "--server", self.urls,
                                      "--replicas", "3", "--partitions", str(PARTITIONS), "--instances",
                                      str(INSTANCES), "--windowkeeper", self.wk, "--duplicate-window", "600",
                                      "--rejects", os.path.join(self.tmp, "too-large.ndjson")],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=open(self.err, "wb"))
        self.started = self.started or time.monotonic()
        threading.Thread(target=self._feed, args=(self.proc, fast_until), daemon=True).start()

    def _feed(self, proc, fast_until):
        begun = time.monotonic()
        try:
            for i, line in enumerate(self.lines):
                proc.stdin.write(line + b"\n")
                self.handed = i + 1
                if i >= fast_until and i % 50 == 0:
                    proc.stdin.flush()
                    ahead = begun + (i - fast_until) / PRODUCE_RATE - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
            proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def kill(self):
        got = self.handed
        self.proc.kill()
        self.proc.wait()
        return got

    def report(self):
        with open(self.err) as f:
            rows = [json.loads(l) for l in f if l.startswith('{"published"')]
        return rows[-1] if rows else {}


class Pipeline:
    """`consumer.py | windowkeeper --positions --state …` for one instance, with a relay in
    between that paces the lines (READ_RATE), notes when they pass, and closes the
    consumer's output when windowkeeper dies (the consumer must then end by itself)."""

    def __init__(self, tmp, bin_dir, urls, instance, run_no):
        self.instance = instance
        state = os.path.join(tmp, f"state-{instance}.bin")
        self.out_path = os.path.join(tmp, f"events-{instance}-{run_no}.ndjson")
        self.err_path = os.path.join(tmp, f"consumer-{instance}-{run_no}.err")
        self.wk = subprocess.Popen([os.path.join(bin_dir, "windowkeeper"), *FLAGS, "--positions", "--state", state,
                                    "--checkpoint-every", "200ms", "--shards", "2"],
                                   stdin=subprocess.PIPE, stdout=open(self.out_path, "wb"),
                                   stderr=open(os.path.join(tmp, f"wk-{instance}.err"), "ab"))
        self.consumer = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "consumer.py"), "--server", urls,
                                          "--instance", str(instance), "--state", state,
                                          "--windowkeeper", os.path.join(bin_dir, "windowkeeper")],
                                         stdout=subprocess.PIPE, stderr=open(self.err_path, "wb"))
        self.lines = 0
        self.max_seq = 0
        self.stamps = []  # (time, lines) as chunks pass
        self.close_at_seq = None  # set at the end: close windowkeeper's input once this is fed
        self.consumer_ended_alone = None  # seconds the consumer took to end after windowkeeper died
        self.done = threading.Event()
        threading.Thread(target=self._relay, daemon=True).start()

    def _relay(self):
        fd = self.consumer.stdout.fileno()
        tail = b""
        begun = time.monotonic()
        try:
            while True:
                if self.wk.poll() is not None:  # windowkeeper died: its input is closed
                    break
                if self.close_at_seq is not None and self.reached(self.close_at_seq):
                    break
                if not select.select([fd], [], [], 0.05)[0]:
                    continue
                chunk = os.read(fd, 1 << 14)
                if not chunk:
                    break
                self.wk.stdin.write(chunk)
                self.wk.stdin.flush()
                rows = (tail + chunk).split(b"\n")
                tail = rows.pop()
                for row in rows:
                    self.max_seq = max(self.max_seq, int(row.split(b"\t", 2)[1]))
                self.lines += len(rows)
                now = time.monotonic()
                self.stamps.append((now, len(rows)))
                ahead = begun + self.lines / READ_RATE - now
                if ahead > 0:
                    time.sleep(ahead)
        except (BrokenPipeError, OSError, ValueError):
            pass
        try:
            self.wk.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        if self.wk.poll() is not None and self.wk.returncode != 0:
            # windowkeeper died: what the consumer writes now goes nowhere, and it must end.
            died = time.monotonic()
            self.consumer.stdout.close()
            try:
                self.consumer.wait(5)
                self.consumer_ended_alone = time.monotonic() - died
            except subprocess.TimeoutExpired:
                pass
        self.done.set()

    def resume_after(self):
        with open(self.err_path) as f:
            for line in f:
                if '"resume_after"' in line:
                    return json.loads(line)["resume_after"]
        return None

    def reached(self, seq: int) -> bool:
        """Fed everything up to `seq`, or resumed after it (the run before fed it all)."""
        return self.max_seq >= seq or (self.resume_after() or 0) >= seq

    def kill_consumer(self):
        self.consumer.kill()
        self.consumer.wait()

    def stop(self):
        for p in (self.wk, self.consumer):
            if p.poll() is None:
                p.kill()
            p.wait()


class Instance:
    """Keeps one instance's pipeline running: a pipeline that ends (killed, or its consumer
    killed) is started again at once, resuming from the saved positions."""

    def __init__(self, tmp, bin_dir, urls, i):
        self.tmp, self.bin_dir, self.urls, self.i = tmp, bin_dir, urls, i
        self.runs = []
        self.target = None  # the instance's last stream sequence, once the producer is done
        self.finished = threading.Event()
        self.lock = threading.Lock()
        self.final_code = None
        self.stopped = False
        threading.Thread(target=self._supervise, daemon=True).start()

    def current(self) -> Pipeline:
        with self.lock:
            return self.runs[-1]

    def _supervise(self):
        while True:
            with self.lock:
                if self.stopped:
                    return
                run = Pipeline(self.tmp, self.bin_dir, self.urls, self.i, len(self.runs))
                self.runs.append(run)
            while not run.done.wait(0.1):
                if self.target is not None:
                    run.close_at_seq = self.target
            if run.close_at_seq is not None and run.reached(run.close_at_seq):
                # Everything fed: windowkeeper ends on the end of its input, the consumer is stopped.
                self.final_code = run.wk.wait(60)
                run.stop()
                self.finished.set()
                return
            run.wk.wait()
            run.stop()

    def fed_stamps(self):
        with self.lock:
            return sorted(s for r in self.runs for s in r.stamps)


def key_flushes(wk: str) -> bool:
    """`windowkeeper key` writes a line as soon as its input pauses, not at 1 MiB or the end of
    its input: one line in, the pipe kept open, its keyed line must come out."""
    line = (b'{"app_id":"01EB37HMH1M6SV18BSNS3G135H","accepted_time":"2024-05-16T09:00:02.114Z",'
            b'"event_time":"2024-05-16T09:00:01Z","message":{"id":"X1","direction":"TO_APP",'
            b'"contact_message":{"text_message":{"text":"hi"}},"channel_identity":{"channel":"WHATSAPP",'
            b'"identity":"46732001122","app_id":""}}}')
    key = subprocess.Popen([wk, "key", "--partitions", "4"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        key.stdin.write(line + b"\n")
        key.stdin.flush()
        ready = select.select([key.stdout], [], [], 5)[0]
        got = os.read(key.stdout.fileno(), 1 << 16) if ready else b""
        return got.endswith(line + b"\n") and got[:-len(line) - 1].rstrip(b"\t").isdigit()
    finally:
        key.kill()
        key.wait()


def main() -> int:
    bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release"))
    wk = os.path.join(bin_dir, "windowkeeper")
    rng = random.Random(SEED)
    tmp = tempfile.mkdtemp(prefix="wk-nats-cluster-")
    ports = [free_port() for _ in range(3)]
    cluster_ports = [free_port() for _ in range(3)]
    nodes = [Node(tmp, f"n{k + 1}", ports[k], cluster_ports[k], cluster_ports) for k in range(3)]
    urls = ",".join(n.url for n in nodes)
    producer = None
    instances = []
    failures = 0

    def check(ok: bool, what: str):
        nonlocal failures
        print(f"{'ok' if ok else 'FAIL'}: {what}", flush=True)
        failures += not ok

    try:
        started = time.monotonic()
        flushed = key_flushes(wk)
        check(flushed, f"windowkeeper key wrote a line while its input stayed open "
              f"({time.monotonic() - started:.3f} s)")
        for n in nodes:
            n.start()
        stream_path = os.path.join(tmp, "input.ndjson")
        with open(stream_path, "wb") as f:
            subprocess.run([os.path.join(bin_dir, "windowkeeper-sim"), "generate", "--seed", str(SEED), "--contacts",
                            str(CONTACTS), "--days", "6", "--faults", "heavy", "--era", "mixed", "--lateness", "15m",
                            "--warn", "2h,15m"], stdout=f, check=True)
        with open(stream_path, "rb") as f:
            lines = f.read().split(b"\n")[:-1]
        log(f"3 nodes up ({urls}); input {len(lines)} lines")

        # Timeline (seconds after the producer starts); the node kill has a quiet window around it.
        t = {"wk0": rng.uniform(3.5, 5), "wk1": rng.uniform(3.5, 5), "node": 8.0, "node_back": 12.0,
             "producer": rng.uniform(12.5, 13.5), "wk0b": rng.uniform(17, 21), "wk1b": rng.uniform(17, 21),
             "consumer1": rng.uniform(23, 26)}
        producer = Producer(tmp, urls, wk, lines)
        producer.start()
        begun = time.monotonic()
        time.sleep(2)  # the instances start behind the producer: a backlog to read through the node kill
        instances = [Instance(tmp, bin_dir, urls, i) for i in range(INSTANCES)]
        kills = {"windowkeeper": 0, "node": 0, "producer": 0, "consumer": 0}
        node_kill_at = None
        victim = None
        for name, at in sorted(t.items(), key=lambda kv: kv[1]):
            wait = begun + at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if name in ("wk0", "wk1", "wk0b", "wk1b"):
                inst = instances[int(name[2])]
                for _ in range(150):  # a run that has fed some lines, and checkpointed after them
                    run = inst.current()
                    if run.lines >= 1000:
                        break
                    time.sleep(0.1)
                time.sleep(rng.uniform(0.5, 1.0))  # --checkpoint-every 200ms
                run = inst.current()
                if run.wk.poll() is None:
                    run.wk.kill()
                    kills["windowkeeper"] += 1
                    log(f"instance {name[2]}: windowkeeper killed (SIGKILL) after {run.lines} lines of its run")
            elif name == "node":
                leader = asyncio.run(_stream_leader(urls.split(","), "CALLBACKS"))
                victim = next(n for n in nodes if n.name == leader)
                fed = [sum(r.lines for r in inst.runs) for inst in instances]
                node_kill_at = time.monotonic()
                victim.kill()
                kills["node"] += 1
                log(f"stream leader {leader} killed (SIGKILL); producer handed {producer.handed} lines, "
                    f"instances fed {fed}")
            elif name == "node_back":
                victim.start()
                log(f"{victim.name} restarted from its store")
            elif name == "producer":
                if producer.proc.poll() is None:
                    got = producer.kill()
                    kills["producer"] += 1
                    log(f"producer killed (SIGKILL) after {got} lines handed to it; restarted from the first line")
                    producer.start(fast_until=got)
                else:
                    log("producer already done: not killed")
            elif name == "consumer1":
                run = instances[1].current()
                for _ in range(100):  # a run that is feeding, not one starting
                    if run.lines >= 500:
                        break
                    time.sleep(0.1)
                    run = instances[1].current()
                if run.consumer.poll() is None:
                    run.kill_consumer()
                    kills["consumer"] += 1
                    log(f"instance 1: consumer killed alone after {run.lines} lines of its run")

        code = producer.proc.wait(300)
        report = producer.report()
        log(f"producer run {producer.runs} exited {code}: {report}")
        check(code == 0, "the producer's last run exited 0")
        stored = asyncio.run(_read_stream(urls.split(","), "CALLBACKS"))

        # The stream must be the input: each line once, in input order, with its partition.
        keyed = subprocess.run([wk, "key", "--partitions", str(PARTITIONS)], input=b"\n".join(lines) + b"\n",
                               capture_output=True, check=True).stdout.split(b"\n")[:-1]
        want = []
        for row in keyed:
            p, _, line = row.partition(b"\t")
            if len(line) <= 1024 * 1024 - 512:  # larger ones go to the producer's rejects
                want.append((f"callbacks.{int(p) % INSTANCES}.{p.decode()}", line))
        got = [(subject, data) for _, subject, _, data in stored]
        ids = [int(i.split(":")[0]) for _, _, i, _ in stored]
        twice = len(got) - len(set(ids))
        check(got == want and twice == 0 and ids == sorted(ids),
              f"the stream holds the input exactly: {len(got)} messages for {len(want)} lines, "
              f"{len(set(want) - set(got))} lines missing, {twice} stored twice, "
              f"{'in input order' if ids == sorted(ids) else 'OUT OF ORDER'}")
        check(report.get("stream_messages") == len(want), f"the producer's final count ({report.get('stream_messages')}) "
              f"is the stream's, read after the acknowledgements")

        # Each instance: its lines in stream order, and where they end.
        mine = {i: [(seq, data) for seq, subject, _, data in stored if subject.startswith(f"callbacks.{i}.")]
                for i in range(INSTANCES)}
        for i, inst in enumerate(instances):
            inst.target = mine[i][-1][0]
        for inst in instances:
            if not inst.finished.wait(300):
                check(False, f"instance {inst.i} fed everything")
        consumed_s = time.monotonic() - begun
        log(f"both instances fed all their lines ({consumed_s:.1f} s after the producer started)")

        records = 0
        for i, inst in enumerate(instances):
            check(inst.final_code == 0, f"instance {i}: last windowkeeper run exited {inst.final_code}")
            ref = subprocess.run([wk, *FLAGS], input=b"\n".join(d for _, d in mine[i]) + b"\n", capture_output=True,
                                 check=True).stdout.decode().split("\n")
            reference = [l for l in ref if l]
            outputs = [events_of(r.out_path) for r in inst.runs]
            lost, extra, differ = compare(f"instance {i}, {len(inst.runs)} runs merged by id", merged(outputs),
                                          reference)
            check(lost + extra + differ == 0, f"instance {i}: 0 events lost, 0 extra, 0 contacts differ")
            resumes = [r.resume_after() for r in inst.runs]
            fed = sum(r.lines for r in inst.runs)
            records += len(mine[i])
            print(f"instance {i}: {len(inst.runs)} runs, resumed after stream sequences {resumes}; fed {fed} lines "
                  f"for its {len(mine[i])} ({fed - len(mine[i])} re-read)")
            check(all(x and x > 0 for x in resumes[1:]), f"instance {i}: every restart resumed after a saved position")
            alone = [r.consumer_ended_alone for r in inst.runs if r.consumer_ended_alone is not None]
            wk_killed = sum(1 for r in inst.runs[:-1] if r.wk.returncode not in (0, None))
            check(len(alone) >= wk_killed, f"instance {i}: its consumer ended by itself after each of the "
                  f"{wk_killed} windowkeeper kills (within {max(alone, default=0):.2f} s)")
        # Longest pause in feeding after the node kill (and its restart), up to the next
        # windowkeeper kill: feeding an instance pauses for its own restarts too.
        quiet_until = node_kill_at + min(t["wk0b"], t["wk1b"]) - t["node"] - 0.5
        pauses = []
        for inst in instances:
            stamps = [node_kill_at] + [s for s, _ in inst.fed_stamps() if node_kill_at < s <= quiet_until]
            gaps = [(b - a, a - node_kill_at) for a, b in zip(stamps, stamps[1:])]
            pauses.append(max(gaps, default=(float("inf"), 0)))
        check(max(p for p, _ in pauses) < MAX_PAUSE, "longest pause in feeding after the node kill: " + ", ".join(
            f"instance {i} {p:.2f} s (from {at:.1f} s after it)" for i, (p, at) in enumerate(pauses))
            + f" (limit {MAX_PAUSE:g} s)")
        reread = sum(sum(r.lines for r in inst.runs) for inst in instances) - records
        waits, made, direct, back = [], {}, 0, []
        for k in range(1, producer.runs + 1):
            with open(os.path.join(tmp, f"producer-{k}.err")) as f:
                rows = [json.loads(l)["producer"] for l in f if l.startswith('{"producer"')]
                waits += [r["after_s"] for r in rows if r.get("event") == "stored again"]
                if rows and rows[-1].get("event") == "retrying":
                    waits.append(float("nan"))  # killed while it waited
        for inst in instances:
            for r in inst.runs:
                with open(r.err_path) as f:
                    for l in f:
                        e = json.loads(l).get("consumer", {}) if l.startswith("{") else {}
                        if "reason" in e:
                            why = e["reason"].split(" ")[0]
                            made[why] = made.get(why, 0) + 1
                        if "consumer_back_after_s" in e:
                            direct += e["read_directly"]
                            back.append(e["consumer_back_after_s"])
        print(f"producer: {len(waits)} waits for the stream (longest {max((w for w in waits if w == w), default=0):.2f} s"
              f"{', one cut short by its kill' if any(w != w for w in waits) else ''}), each line "
              f"sent again until acknowledged; consumers: new consumers made {made or 'none'} (longest without "
              f"one {max(back, default=0):.2f} s), meanwhile {direct} lines read straight from the replicas")
        print(f"kills survived: {kills['windowkeeper']} windowkeeper, {kills['node']} node (stream leader), "
              f"{kills['producer']} producer, {kills['consumer']} consumer alone; lines re-read {reread}; "
              f"producer: {report.get('retries')} retries, {report.get('duplicates')} repeats dropped by the stream")

        # Unpaced: the whole input into a fresh 3-replica stream, then one instance's lines out.
        started = time.monotonic()
        subprocess.run([sys.executable, os.path.join(EXAMPLES, "producer.py"), "--server", urls,
                                "--stream", "BENCH", "--prefix", "bench", "--replicas", "3", "--partitions",
                                str(PARTITIONS), "--instances", str(INSTANCES), "--windowkeeper", wk,
                                "--rejects", os.path.join(tmp, "too-large-bench.ndjson")],
                               input=b"\n".join(lines) + b"\n", capture_output=True, check=True)
        publish_s = time.monotonic() - started
        started = time.monotonic()
        read = subprocess.run([sys.executable, os.path.join(EXAMPLES, "consumer.py"), "--server", urls, "--stream",
                               "BENCH", "--prefix", "bench", "--instance", "0", "--state",
                               os.path.join(tmp, "none.bin"), "--windowkeeper", wk, "--exit-when-idle", "1"],
                              capture_output=True, check=True)
        read_s = time.monotonic() - started - 1  # less the idle second that ends it
        read_lines = read.stdout.count(b"\n")
        print(f"unpaced: {len(want)} lines published and acknowledged in {publish_s:.2f} s "
              f"({len(want) / publish_s:.0f} records/s into the 3-replica stream); one instance's {read_lines} "
              f"lines read in {read_s:.2f} s ({read_lines / read_s:.0f} records/s out)")

        # No quorum (two of three nodes down): the producer must say so and exit non-zero.
        nodes[1].kill()
        nodes[2].kill()
        started = time.monotonic()
        lost = subprocess.run([sys.executable, os.path.join(EXAMPLES, "producer.py"), "--server", urls, "--replicas",
                               "3", "--windowkeeper", wk, "--retry-for", "2", "--ack-wait", "0.5"],
                              input=b"\n".join(lines[:10]) + b"\n", capture_output=True, timeout=60)
        message = next((l for l in lost.stderr.decode().splitlines() if l.startswith("producer:")), "")
        check(lost.returncode == 1 and message.startswith("producer:")
              and ("could be stored" in message or "could not be stored" in message),
              f"without a quorum the producer exits {lost.returncode} after {time.monotonic() - started:.1f} s: "
              f"{message[:160]}")
    finally:
        for inst in instances:
            with inst.lock:
                inst.stopped = True
                for r in inst.runs:
                    r.stop()
        if producer and producer.proc and producer.proc.poll() is None:
            producer.kill()
        for n in nodes:
            n.kill()
        if os.environ.get("NATS_CLUSTER_KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"nats cluster test: {'passed' if failures == 0 else f'{failures} failure(s)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
